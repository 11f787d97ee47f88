"""Whole-song separation: the functional API behind ``isolde separate`` and the editor's analysis.

The model runs on the 16 kHz mono downmix in overlapping chunks (bounded memory, no seams: each
chunk sees ``context_frames`` of real signal either side of the part kept). Its vocal mask is then
applied to every channel of the input at the input's own sample rate, in blocks, so the outputs
keep the input's rate, channel count and length exactly.

Full band: the model sees 0-8 kHz. Above 8 kHz the mask of each frame is the mean of the model's
mask over 7-7.9 kHz in that frame (:data:`HIGH_BAND_SOURCE_HZ`): the air, breath and sibilance of
a voice go with its presence there, and cymbals that dominate the top band also pull that mean
down.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from ..audio import spectral
from ..audio.io import Audio, check_not_silent, resample, to_mono
from ..errors import IsoldeError
from ..music import pitch
from ..music.vocal_pitch import vocal_pitch_iter, with_measured_pitch
from ..progress import Job, Progress, scaled

#: Model frames processed per chunk, and real-signal context either side of it.
CHUNK_FRAMES = 1024
CONTEXT_FRAMES = 128
#: The share of :func:`analyse_iter`'s progress the networks take; the exemplars take the rest
#: (about as long: 3.2 and 3.1 s of a 4-minute song's Update DNN on the 2-core CPU).
NETWORKS_SHARE = 0.5
#: Songs are combined with their exemplars in segments of about this many frames (10 minutes),
#: each hearing its own deleted and quiet frames: songs repeat their accompaniment well within.
EXEMPLAR_SEGMENT_FRAMES = 37500
#: High band: mean of the mask over this range (Hz) extends it above the model's band (8 kHz),
#: the band just below the seam, so the mask goes on there as it ends. Against 4-7.9 kHz, cross-
#: validated on the produced excerpts: +0.02 dB median, +0.07 mean, 9 up / 2 down (hundredths
#: each, Bannockburn +0.6); 6-7.9 kHz +0.01 / +0.04; 2-7.9 kHz -0.00 / -0.02; the MUSDB18 preview
#: within 0.003 dB. SDR hardly hears this band: it decides breath and sibilance, not the score.
HIGH_BAND_SOURCE_HZ = (7000.0, 7900.0)
#: The bins where a fundamental on the F0 grid can lie (up to its top, about 1.25 kHz, and the
#: main lobe's flank above): :attr:`ModelAnalysis.fundamental_mask` covers these.
FUNDAMENTAL_BINS = int(math.ceil(pitch.f0_bin_to_hz(pitch.N_F0_BINS - 1) / spectral.BIN_HZ)) + 4


@dataclass
class ModelAnalysis:
    """What the network says about a song, on the model's frame grid (hop ``spectral.HOP_SECONDS``).

    vocal_mask : float32, shape (N_BINS, n_frames), in [0, 1]
    f0_saliency : float32, shape (N_F0_BINS, n_frames), or None for a separation-only model
    """

    vocal_mask: np.ndarray
    f0_saliency: np.ndarray | None
    #: The gain that brought the song to the networks' reference level (core.spectral.level_gain).
    level_gain: float = 1.0
    #: bool (n_frames,): frames the network is sure hold no voice, heard as the accompaniment
    #: alone (:func:`core.separation.exemplars.quiet_frames`); None without an F0 model.
    quiet_frames: np.ndarray | None = None
    #: float64 (n_frames,), Hz: the pitch measured on the separated vocal
    #: (:func:`core.music.vocal_pitch.vocal_pitch_iter`, 0 where not measured), which the
    #: decoded trajectory takes on its voiced frames; None: the network's own pitch.
    measured_pitch_hz: np.ndarray | None = None
    #: float32 (n_frames, 2): how clearly the separated vocal repeats at that pitch, and at any
    #: period (:func:`core.music.vocal_pitch.yin_contour`); measured with the pitch.
    vocal_periodicity: np.ndarray | None = None
    #: float16 (FUNDAMENTAL_BINS, n_frames): the networks' own vocal mask under the fundamental
    #: of their F0 (the mask x the fundamental's harmonic mask), kept before the exemplars are
    #: combined; the melody's pitch is measured on a vocal that keeps at least this
    #: (:func:`measure_pitch_iter`, which lets it go: 38 MB for an hour). None without an F0
    #: model, or once the pitch is measured.
    fundamental_mask: np.ndarray | None = None
    _decoded: list = field(default_factory=list, repr=False, compare=False)

    @property
    def n_frames(self) -> int:
        return int(self.vocal_mask.shape[1])

    @property
    def frame_times(self) -> np.ndarray:
        return spectral.frame_times(self.n_frames)

    def network_f0_hz(self, threshold: float = pitch.VOICING_THRESHOLD) -> np.ndarray:
        """The trajectory decoded from the saliency alone (n_frames,) in Hz, 0 = unvoiced (all 0
        without an F0 model)."""
        if self.f0_saliency is None:
            return np.zeros(self.n_frames)
        # The contour decoding takes about 0.5 s on a 4-minute song: decode once per saliency.
        cached = self._decoded
        if not (cached and cached[0] is self.f0_saliency and cached[1] == threshold):
            self._decoded = cached = [self.f0_saliency, threshold,
                                      pitch.saliency_to_f0(self.f0_saliency, threshold=threshold)]
        return cached[2].copy()

    def f0_hz(self, threshold: float = pitch.VOICING_THRESHOLD) -> np.ndarray:
        """The trajectory Isolde shows (n_frames,) in Hz, 0 = unvoiced: the network's voicing,
        with the pitch measured on the separated vocal where there is one."""
        return with_measured_pitch(self.network_f0_hz(threshold), self.measured_pitch_hz)

    def f0_confidence(self) -> np.ndarray:
        """How sure Isolde is of each frame of :meth:`f0_hz`, float32 (n_frames,) in [0, 1]
        (:func:`core.separation.confidence.f0_confidence`; needs an F0 model)."""
        from .confidence import f0_confidence

        return f0_confidence(self.f0_saliency, self.f0_hz(), self.vocal_mask,
                             periodicity=self.vocal_periodicity)

    def f0_with_pitch_guesses(self) -> np.ndarray:
        """:meth:`f0_hz` in the MIREX convention for melody evaluation
        (:func:`core.music.pitch.f0_with_pitch_guesses`): unvoiced frames as the negative of
        their pitch guess."""
        return with_measured_pitch(pitch.f0_with_pitch_guesses(self.f0_saliency),
                                   self.measured_pitch_hz)


@dataclass
class SeparationResult:
    """Separated stems at the input's rate plus the analysis they came from.

    vocals, accompaniment : float32, shape (n_channels, n_samples) like the input;
        ``vocals + accompaniment == mixture``
    f0_hz : shape (n_frames,), Hz per model frame, 0 = no voice
    """

    vocals: np.ndarray
    accompaniment: np.ndarray
    sample_rate: int
    analysis: ModelAnalysis
    f0_hz: np.ndarray
    beats: object | None = None
    meta: dict = field(default_factory=dict)

    @property
    def frame_times(self) -> np.ndarray:
        return spectral.frame_times(len(self.f0_hz))


def pick_device(name: str = "auto") -> torch.device:
    """"auto" -> CUDA when available, else CPU; "cuda" without a GPU is an error."""
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise IsoldeError("--device cuda was asked for, but PyTorch sees no CUDA GPU")
        return torch.device("cuda")
    if name == "cpu":
        return torch.device("cpu")
    raise IsoldeError(f"Unknown device {name!r}: use auto, cpu or cuda")


def model_input(audio: Audio) -> np.ndarray:
    """The mono 16 kHz signal the model hears, shape (n_model_samples,)."""
    return resample(to_mono(audio.samples), audio.sample_rate, spectral.MODEL_SAMPLE_RATE)


def window_outputs(model, piece: torch.Tensor, first_frame: int, corrections=None):
    """The networks on one window of frames, with the corrections imposed as they are everywhere.

    piece : (1, N_BINS, window) magnitude at the reference level, on the model's device; its
        first column is frame ``first_frame`` of the song (negative before the song starts)
    returns : (vocal_mask (1, N_BINS, window), saliency (1, N_F0_BINS, window) or None), tensors

    A drawn F0 is heard by the separation net on its own frames only: every other frame's mask
    comes from the net hearing the network's saliency there and on the drawn frames (the user's
    deletions are heard everywhere). Without this, the separation net, hearing a confident drawn
    note, also moved the mask of the frames beside it; ``isolde simulate`` on the 11 produced
    excerpts (cross-validated, the musician who deletes only a near-silent vocal, ``--listening``),
    medians of per-clip gains over no correction on the part nobody corrected, worst first 1 / 2
    / 4 s: +0.00 / -0.06 / -0.02 -> +0.03 / +0.06 / +0.07 dB, and 100 % corrected (on the whole
    clip) +0.22 -> +0.34 dB; the musician who copies the reference: +0.07 / -0.01 / +0.08 ->
    +0.10 / +0.02 / +0.12 dB, 100 % +1.11 -> +1.12, 50 % +0.56 -> +0.62. MIR-1K (24 validation
    clips), listening: +0.10 / +0.14 / +0.15 -> +0.11 / +0.14 / +0.14 dB, 100 % +0.41 -> +0.54;
    copying: +0.04 / +0.13 / +0.12 -> +0.04 / +0.12 / +0.15 dB, 100 % +0.92 -> +0.94. Limiting
    the drawn F0 to its own frames plus 8 or 24 frames either side (a crossfade), or limiting the
    deletions too, did less on the produced excerpts (``docs/research-notes.md``, "A drawn note
    heard on its own frames"). It costs a second pass of the separation net on the windows with
    drawn frames (a 4-minute song with 20 % corrected: separating 2.8 -> 3.7 s on this CPU).
    """
    window = piece.shape[-1]
    if model.has_f0 and model.config.architecture == "f0_to_svs":
        saliency = model.estimate_f0(piece)
        if corrections is None:
            return model.estimate_mask(piece, saliency), saliency
        last = first_frame + window
        heard = corrections.saliency_override(first_frame, last, saliency)
        vocal_mask = model.estimate_mask(piece, heard)
        drawn = corrections.drawn_frames(first_frame, last)
        if drawn.any() and not drawn.all():
            elsewhere = model.estimate_mask(
                piece, corrections.saliency_override(first_frame, last, saliency, drawn=False))
            on_drawn = torch.from_numpy(drawn).to(vocal_mask.device)[None, None, :]
            vocal_mask = torch.where(on_drawn, vocal_mask, elsewhere)
        saliency = heard
    else:
        output = model(piece)
        vocal_mask, saliency = output.vocal_mask, output.f0_saliency
    if corrections is not None:
        vocal_mask = corrections.refine_mask(first_frame, first_frame + window, vocal_mask)
    return vocal_mask, saliency


def analyse_iter(model, magnitude: torch.Tensor, *, device: torch.device | str = "cpu",
                 chunk_frames: int = CHUNK_FRAMES, context_frames: int = CONTEXT_FRAMES,
                 corrections=None) -> Job[ModelAnalysis]:
    """Run the model over a whole magnitude spectrogram in overlapping chunks.

    magnitude : float tensor, shape (N_BINS, n_frames), on any device, or a
        :class:`core.audio.spectral.MagnitudeFrames` (computed chunk by chunk: long songs)
    corrections : optional :class:`~core.separation.corrections.Corrections`; each chunk's saliency
        gets the user's corrected F0 imposed before the separation net sees it
        (``corrections.saliency_override``), and its vocal mask is refined by them
        (``corrections.refine_mask``: halved where the voice was deleted).
    Finally the whole mask is combined with the accompaniment heard alone in the deleted spans
    and, with an F0, in the frames the network is sure hold no voice
    (``ModelAnalysis.quiet_frames``, :mod:`core.separation.exemplars`), with or without
    corrections.
    The networks hear the song at :data:`core.audio.spectral.REFERENCE_LEVEL_DBFS` (one gain for the
    whole song, :func:`core.audio.spectral.level_gain`), so a quiet master and a loud one separate
    alike. Yields Progress("separating", fraction) up to :data:`NETWORKS_SHARE`, then
    Progress("matching the accompaniment", ...) before and after the exemplars are combined;
    returns a :class:`ModelAnalysis`.
    """
    device = torch.device(device)
    n_frames = int(magnitude.shape[-1])
    gain = spectral.level_gain(magnitude)
    multiple = model.frame_multiple
    window = chunk_frames + 2 * context_frames
    window = int(math.ceil(window / multiple) * multiple)
    core = window - 2 * context_frames
    mask = np.zeros((spectral.N_BINS, n_frames), dtype=np.float32)
    saliency = np.zeros((pitch.N_F0_BINS, n_frames), dtype=np.float32) if model.has_f0 else None
    starts = list(range(0, n_frames, core))
    model.eval()
    with torch.inference_mode():
        for n, start in enumerate(starts):
            lo = start - context_frames
            piece = torch.zeros((1, spectral.N_BINS, window), dtype=torch.float32)
            src_lo, src_hi = max(lo, 0), min(lo + window, n_frames)
            piece[0, :, src_lo - lo:src_hi - lo] = magnitude[:, src_lo:src_hi].float().cpu() * gain
            out_mask, out_sal = window_outputs(model, piece.to(device), lo, corrections)
            stop = min(start + core, n_frames)
            keep = slice(context_frames, context_frames + stop - start)
            mask[:, start:stop] = out_mask[0, :, keep].float().cpu().numpy()
            if saliency is not None:
                saliency[:, start:stop] = out_sal[0, :, keep].float().cpu().numpy()
            yield Progress("separating", NETWORKS_SHARE * (n + 1) / len(starts))
    analysis = ModelAnalysis(mask, saliency, level_gain=gain)
    if saliency is not None or corrections is not None:
        yield Progress("matching the accompaniment", NETWORKS_SHARE)
        _with_exemplars(analysis, magnitude, corrections, device)
        yield Progress("matching the accompaniment", 1.0)
    return analysis


def exemplar_segments(n_frames: int) -> list[tuple[int, int]]:
    """(first, stop) frames of the segments whose exemplars are heard together: about
    :data:`EXEMPLAR_SEGMENT_FRAMES` each, one for any song under 15 minutes."""
    n_segments = max(1, round(n_frames / EXEMPLAR_SEGMENT_FRAMES))
    bounds = np.linspace(0, n_frames, n_segments + 1).round().astype(int)
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))


def _with_exemplars(analysis: ModelAnalysis, magnitude, corrections, device) -> None:
    """Find the analysis's quiet frames (with an F0) and combine its mask, in place, with the
    accompaniment heard there and in the deleted spans (:mod:`core.separation.exemplars`), one
    :data:`EXEMPLAR_SEGMENT_FRAMES` segment at a time: the whole spectrogram of an hour-long
    song would take another 0.5 GB."""
    from .corrections import Corrections
    from .exemplars import combine_with_exemplars, quiet_frames

    estimated = analysis.network_f0_hz()
    if analysis.f0_saliency is not None:
        analysis.quiet_frames = quiet_frames(analysis.f0_saliency, estimated, analysis.vocal_mask)
    shown, deleted, corrected = (corrections or Corrections()).exemplar_frames(
        estimated, analysis.quiet_frames)
    if analysis.f0_saliency is not None:
        analysis.fundamental_mask = np.zeros((FUNDAMENTAL_BINS, analysis.n_frames), np.float16)
    for a, b in exemplar_segments(analysis.n_frames):
        if analysis.fundamental_mask is not None:
            analysis.fundamental_mask[:, a:b] = analysis.vocal_mask[:FUNDAMENTAL_BINS, a:b] * (
                pitch.harmonic_mask(estimated[a:b], spectral.bin_frequencies()[:FUNDAMENTAL_BINS],
                                    n_harmonics=1))
        segment = magnitude[:, a:b].float()
        combine_with_exemplars(analysis.vocal_mask[:, a:b], segment, shown[a:b], deleted[a:b],
                               corrected[a:b], device=device, in_place=True)


def analyse_waveform_iter(model, samples: np.ndarray, magnitude, *,
                          device: torch.device | str = "cpu", chunk_seconds: float = 8.0,
                          context_seconds: float = 1.0) -> Job[ModelAnalysis]:
    """A time-domain model (:class:`~.models.wave_unet.WaveUNet`) over a whole song.

    samples : mono float at the model rate, shape (n_samples,); magnitude : its
        :func:`core.audio.spectral.model_magnitude` (a tensor or a ``MagnitudeFrames``)
    The network hears the song at the reference level, in windows of ``chunk_seconds`` with
    ``context_seconds`` more on each side, of which the centre is kept. Its voice becomes a
    ratio mask on the model's grid: the estimate's magnitude over the mixture's, at most 1, so
    that the stems are written as for any other model. No F0 (``f0_saliency`` None). Yields
    Progress("separating", fraction); returns a :class:`ModelAnalysis`.
    """
    device = torch.device(device)
    rate, multiple = spectral.MODEL_SAMPLE_RATE, model.sample_multiple
    context = int(math.ceil(context_seconds * rate / multiple)) * multiple
    core = int(math.ceil(chunk_seconds * rate / multiple)) * multiple
    window = core + 2 * context
    samples = np.asarray(samples, dtype=np.float32)
    n = len(samples)
    gain = spectral.level_gain(magnitude)
    estimate = np.zeros(n, dtype=np.float32)
    starts = list(range(0, n, core))
    model.eval()
    with torch.inference_mode():
        for k, start in enumerate(starts):
            lo = start - context
            piece = np.zeros(window, dtype=np.float32)
            src_lo, src_hi = max(lo, 0), min(lo + window, n)
            piece[src_lo - lo:src_hi - lo] = samples[src_lo:src_hi] * gain
            out = model(torch.from_numpy(piece)[None].to(device))[0].float().cpu().numpy()
            stop = min(start + core, n)
            estimate[start:stop] = out[context:context + stop - start] / gain
            yield Progress("separating", (k + 1) / len(starts))
    n_frames = int(magnitude.shape[-1])
    mask = np.zeros((spectral.N_BINS, n_frames), dtype=np.float32)
    block = 4096
    for first in range(0, n_frames, block):
        stop = min(first + block, n_frames)
        mixture_part = magnitude[:, first:stop].float().cpu()
        voice_part = spectral.model_magnitude_frames(estimate, first, stop)
        mask[:, first:stop] = (voice_part / mixture_part.clamp_min(1e-8)).clamp(0, 1).numpy()
    return ModelAnalysis(mask, None, level_gain=gain)


def analyse_any_iter(model, samples: np.ndarray, magnitude, *, device: torch.device | str = "cpu",
                     corrections=None) -> Job[ModelAnalysis]:
    """:func:`analyse_iter` for a spectrogram model, :func:`analyse_waveform_iter` for a
    time-domain one (which takes no corrections: it has no F0 to correct)."""
    if getattr(model, "is_waveform", False):
        if corrections is not None:
            raise IsoldeError("A time-domain model (Wave-U-Net) has no F0 to correct: choose a "
                              "spectrogram model to separate with corrections")
        return (yield from analyse_waveform_iter(model, samples, magnitude, device=device))
    return (yield from analyse_iter(model, magnitude, device=device, corrections=corrections))


def native_grid(sample_rate: int) -> tuple[int, int]:
    """(n_fft, hop) at the input's rate with about the model's window length in seconds."""
    n_fft = 2 ** int(round(math.log2(spectral.N_FFT * sample_rate / spectral.MODEL_SAMPLE_RATE)))
    n_fft = max(n_fft, 64)
    return n_fft, n_fft // 4


def _mask_on_native_grid(vocal_mask: np.ndarray, frame_index: np.ndarray, n_fft: int, hop: int,
                         sample_rate: int, mask_first_frame: int = 0,
                         device: torch.device | str = "cpu") -> torch.Tensor:
    """Interpolate the model's mask (N_BINS, n_model_frames) onto native bins x native frames.

    frame_index : global native frame numbers, shape (n_native_frames,)
    mask_first_frame : the song's model frame in the mask's first column
    returns : float32 tensor on ``device``, shape (n_fft // 2 + 1, n_native_frames); only the
        mask's columns these frames need go there
    """
    n_model = vocal_mask.shape[1]
    position = frame_index * hop / sample_rate / spectral.HOP_SECONDS - mask_first_frame
    position = np.clip(position, 0, n_model - 1)
    lo = np.floor(position).astype(np.int64)
    hi = np.minimum(lo + 1, n_model - 1)
    first, last = int(lo.min()), int(hi.max()) + 1
    columns = torch.from_numpy(np.ascontiguousarray(vocal_mask[:, first:last],
                                                    dtype=np.float32)).to(device)
    w = torch.from_numpy((position - lo).astype(np.float32)).to(device)
    in_time = (columns[:, torch.from_numpy(lo - first).to(device)] * (1 - w)
               + columns[:, torch.from_numpy(hi - first).to(device)] * w)  # (N_BINS, n_native)

    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    model_bin = freqs / spectral.BIN_HZ
    inside = model_bin <= spectral.N_BINS - 1
    n_inside = int(inside.sum())  # a prefix of the bins
    fb = model_bin[:n_inside]
    flo = np.floor(fb).astype(np.int64)
    fhi = np.minimum(flo + 1, spectral.N_BINS - 1)
    fw = torch.from_numpy((fb - flo).astype(np.float32)[:, None]).to(device)
    out = torch.empty((len(freqs), in_time.shape[1]), dtype=torch.float32, device=device)
    out[:n_inside] = (in_time[torch.from_numpy(flo).to(device)] * (1 - fw)
                      + in_time[torch.from_numpy(fhi).to(device)] * fw)
    if n_inside < len(freqs):
        band = slice(int(HIGH_BAND_SOURCE_HZ[0] / spectral.BIN_HZ),
                     int(HIGH_BAND_SOURCE_HZ[1] / spectral.BIN_HZ) + 1)
        out[n_inside:] = in_time[band].mean(dim=0, keepdim=True)
    return out


def apply_mask_range(samples: np.ndarray, sample_rate: int, vocal_mask: np.ndarray,
                     start: int, stop: int, *, mask_first_frame: int = 0,
                     device: torch.device | str = "cpu") -> np.ndarray:
    """The vocals of samples ``start:stop`` (every channel), exactly as a whole-song pass makes them.

    samples : float32, shape (n_channels, n_samples), the whole song
    vocal_mask : float32, shape (N_BINS, n_model_frames), the whole song's mask, or the part of it
        from model frame ``mask_first_frame`` on that covers these samples' STFT windows
    start : a multiple of the native hop (:func:`native_grid`)
    device : where the STFT, the mask's interpolation and the inverse STFT run
    returns : float32, shape (n_channels, stop - start)
    """
    lo, hi = mask_margins(sample_rate, start, stop, samples.shape[1])
    return apply_mask_piece(samples[:, lo:hi], lo, sample_rate, vocal_mask, start, stop,
                            mask_first_frame=mask_first_frame, device=device)


def mask_margins(sample_rate: int, start: int, stop: int, n_samples: int) -> tuple[int, int]:
    """The samples ``lo:hi`` that :func:`apply_mask_piece` needs for samples ``start:stop``."""
    n_fft, _hop = native_grid(sample_rate)
    return max(start - n_fft, 0), min(stop + n_fft, n_samples)  # lo: a multiple of the hop


def apply_mask_piece(piece: np.ndarray, lo: int, sample_rate: int, vocal_mask: np.ndarray,
                     start: int, stop: int, *, mask_first_frame: int = 0,
                     device: torch.device | str = "cpu") -> np.ndarray:
    """:func:`apply_mask_range` given only the samples ``lo:hi`` of :func:`mask_margins` (``piece``,
    shape (n_channels, hi - lo)), e.g. read from a file block by block.

    The STFT runs over ``n_fft`` samples of margin on both sides, so every returned sample is
    synthesised from exactly the frames a one-shot STFT of the song would use: no seams.
    """
    n_fft, hop = native_grid(sample_rate)
    piece = torch.from_numpy(np.ascontiguousarray(piece, dtype=np.float32)).to(device)
    spec = spectral.stft(piece, n_fft=n_fft, hop=hop)  # (C, F, frames)
    frames = lo // hop + np.arange(spec.shape[-1])
    mask = _mask_on_native_grid(vocal_mask, frames, n_fft, hop, sample_rate, mask_first_frame,
                                device=piece.device)
    out = spectral.istft(spec * mask, length=piece.shape[-1], n_fft=n_fft, hop=hop)
    return out[:, start - lo:stop - lo].cpu().numpy()


def apply_mask_iter(samples: np.ndarray, sample_rate: int, vocal_mask: np.ndarray, *,
                    block_frames: int = 2048,
                    device: torch.device | str = "cpu") -> Job[np.ndarray]:
    """Apply the model-grid mask to every channel at the native rate, block by block.

    samples : float32, shape (n_channels, n_samples)
    vocal_mask : float32, shape (N_BINS, n_model_frames)
    device : where the transforms run (the analysis's: 0.31 s a minute of song on this 2-core
        CPU with one thread, a part of an Update DNN's re-separation a GPU can take over)
    returns : vocals, float32, shape (n_channels, n_samples)

    Blocks start on the STFT hop grid (:func:`apply_mask_range`): no seams.
    """
    _n_fft, hop = native_grid(sample_rate)
    n_samples = samples.shape[1]
    vocals = np.zeros_like(samples, dtype=np.float32)
    block = block_frames * hop
    starts = list(range(0, n_samples, block))
    for n, start in enumerate(starts):
        stop = min(start + block, n_samples)
        vocals[:, start:stop] = apply_mask_range(samples, sample_rate, vocal_mask, start, stop,
                                                 device=device)
        yield Progress("writing stems", (n + 1) / len(starts))
    return vocals


def binary_mask(vocal_mask: np.ndarray, mask_confidence: float) -> np.ndarray:
    """Deep Karaoke's probabilistic binary mask (Simpson et al. 2015): all of a bin is voice where
    the network's mask reaches ``mask_confidence`` (0 < alpha < 1), none of it elsewhere.

    Less bleed of the accompaniment (higher SIR) for more artefacts (lower SAR); see the README
    for the measured trade-off. vocal_mask : (N_BINS, n_frames) in [0, 1]; returns float32.
    """
    check_mask_confidence(mask_confidence)
    return (vocal_mask >= mask_confidence).astype(np.float32)


def check_mask_confidence(mask_confidence: float) -> None:
    """Refuse an alpha for :func:`binary_mask` outside (0, 1) (NaN included), in one line."""
    if not 0.0 < float(mask_confidence) < 1.0:
        raise IsoldeError(f"The mask confidence must lie between 0 and 1 (got {mask_confidence})")


def measure_pitch_iter(analysis: ModelAnalysis, mono16: np.ndarray, *,
                       device: torch.device | str = "cpu") -> Job[None]:
    """Measure the melody's pitch on the vocal the analysis separates from ``mono16`` (the song's
    :func:`model_input`) and keep it in ``analysis.measured_pitch_hz``
    (:mod:`core.music.vocal_pitch`). Nothing to do without an F0 model.

    The vocal it hears keeps at least the networks' own mask under their F0's fundamental
    (``analysis.fundamental_mask``): the exemplars may judge a fundamental's bin to be the
    accompaniment's, and a vocal without its fundamental is heard an octave up. Against the
    separated vocal itself (``isolde evaluate``, paired per clip): raw pitch accuracy on the
    produced excerpts cross-validated 0.793 -> 0.815 (+0.004 mean, 4 up / 2 down), on 133
    MIR-1K clips 0.902 -> 0.908 (49 up / 24 down); the stems are not touched.
    """
    if analysis.f0_saliency is None:
        return
    yield Progress("measuring the melody", 0.0)
    samples = mono16[None]
    n = samples.shape[1]
    _n_fft, hop = native_grid(spectral.MODEL_SAMPLE_RATE)

    def vocal_between(start: int, stop: int) -> np.ndarray:
        start, stop = min(start, n), min(stop, n)
        if start >= stop:
            return np.zeros(0, dtype=np.float32)
        lo, hi = mask_margins(spectral.MODEL_SAMPLE_RATE, start, stop, n)
        first, last = max(lo // hop - 1, 0), min(hi // hop + 2, analysis.n_frames)
        heard = analysis.vocal_mask[:, first:last].copy()
        if analysis.fundamental_mask is not None:
            np.maximum(heard[:FUNDAMENTAL_BINS], analysis.fundamental_mask[:, first:last],
                       out=heard[:FUNDAMENTAL_BINS])
        return apply_mask_piece(samples[:, lo:hi], lo, spectral.MODEL_SAMPLE_RATE, heard,
                                start, stop, mask_first_frame=first, device=device)[0]

    analysis.measured_pitch_hz, analysis.vocal_periodicity = yield from vocal_pitch_iter(
        vocal_between, analysis.f0_saliency, device=device)
    analysis.fundamental_mask = None


def separate_iter(audio: Audio, model, *, device: torch.device | str = "cpu",
                  with_beats: bool = True, corrections=None,
                  mask_confidence: float | None = None,
                  mono16: np.ndarray | None = None,
                  measure_pitch: bool = True) -> Job[SeparationResult]:
    """Analyse and separate a whole song. Yields progress; returns a :class:`SeparationResult`.

    mask_confidence : None for the network's soft mask (the default), or alpha in (0, 1) for
        :func:`binary_mask`; the analysis keeps the soft mask either way.
    mono16 : :func:`model_input` of ``audio`` when the caller keeps it (the editor does: each
        Update DNN would resample the song again, 0.17 s for 4 minutes on the 2-core CPU)
    measure_pitch : measure the melody's pitch again on the separated vocal
        (:func:`measure_pitch_iter`); False keeps the network's own pitch (faster)
    """
    check_not_silent(audio)
    if mask_confidence is not None:
        check_mask_confidence(mask_confidence)  # before any work
    yield Progress("resampling", 0.0)
    mono16 = model_input(audio) if mono16 is None else mono16
    magnitude = spectral.model_magnitude(mono16)
    analysis = yield from scaled(analyse_any_iter(model, mono16, magnitude, device=device,
                                                  corrections=corrections), 0.02, 0.45)
    if measure_pitch:
        yield from scaled(measure_pitch_iter(analysis, mono16, device=device), 0.45, 0.55)
    stems_mask = (analysis.vocal_mask if mask_confidence is None
                  else binary_mask(analysis.vocal_mask, mask_confidence))
    vocals = yield from scaled(apply_mask_iter(audio.samples, audio.sample_rate, stems_mask,
                                               device=device), 0.55, 0.8)
    beats = None
    if with_beats:
        from ..music.beats import track_beats_iter
        beats = yield from scaled(track_beats_iter(audio.samples, audio.sample_rate), 0.8, 1.0)
    yield Progress("done", 1.0)
    return SeparationResult(vocals=vocals, accompaniment=audio.samples - vocals,
                            sample_rate=audio.sample_rate, analysis=analysis,
                            f0_hz=analysis.f0_hz(), beats=beats)
