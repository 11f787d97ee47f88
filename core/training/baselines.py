"""Classic separators that every evaluation table shows beside Isolde's networks.

``isolde evaluate --baseline NAME`` scores them exactly as it scores a model (same clips, same
BSS Eval, same melody metrics where they give an F0):

- ``repet-sim``: REPET-SIM (Rafii and Pardo 2012): the accompaniment of a frame is the median
  of its most similar frames (cosine similarity, at least 2 s away), the vocal the soft-masked
  rest; librosa's ``nn_filter`` / ``softmask`` with the margins of librosa's vocal-separation
  example. No F0.
- ``sf-nmf``: the source-filter NMF of Durrieu et al. (IEEE TASLP 2010; the NMF family Deep
  Karaoke compares against): the voice is a harmonic source (a comb per 20-cent F0 of Isolde's
  pitch grid) times a smooth filter (overlapping Hann atoms in frequency), the accompaniment a
  free NMF, with source activations allowed only near a melody; the vocal is the
  Wiener-filtered source-filter part. The melody comes from a classic harmonic-summation
  salience (Klapuri 2006) decoded by Isolde's contour decoding
  (:func:`core.music.pitch.contour_bins`): Durrieu's own first pass (every F0 allowed, its
  activations as the salience) found under 20 % of MIR-1K's pitches with this free per-frame
  filter (``docs/research-notes.md``).
- ``sf-nmf-f0``: the same second pass on the reference F0, i.e. given a musician's complete
  correction of the melody and its voicing (on unvoiced frames the voice part is silent).
- ``ideal-ratio-mask``: the oracle soft mask from the true stems at the same STFT: the ceiling
  of any mask-based separator at this resolution, not a method.

All work at the clip's own sample rate on one channel with a window of about 50 ms
(:func:`stft_size`), so that they see the full band as Isolde's full-band output does.
The NMF minimises the generalised Kullback-Leibler divergence on magnitudes with multiplicative
updates (Lee and Seung 2001; Fevotte and Idier 2011 for the product terms).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import IsoldeError
from ..music import pitch

BASELINES = ("repet-sim", "sf-nmf", "sf-nmf-f0", "ideal-ratio-mask")

#: Filter atoms (overlapping Hann windows on a linear frequency axis) of the voice's filter part.
N_FILTER_ATOMS = 30
#: Components of the accompaniment's free NMF.
N_ACCOMPANIMENT_COMPONENTS = 40
#: Multiplicative-update iterations of each NMF pass.
ITERATIONS = 60
#: In the constrained pass, F0 bins within this many of the melody (20 cents each) stay open.
MELODY_HALF_WIDTH_BINS = 2
#: Voicing of ``sf-nmf``'s own melody: a frame is voiced when the share of its magnitude that
#: the voice part holds reaches this fraction of the clip's 90th percentile of that share. On 4
#: MIR-1K and 4 produced validation clips 0.3 classed 68 % of the frames right (0.2: 70 %, at
#: the price of calling nearly everything voiced; 0.5: 61 %); a fixed share of 0.25 called most
#: frames of dense produced mixes unvoiced (voicing recall 0.10).
VOICED_SHARE_OF_P90 = 0.3
_EPS = 1e-9


def stft_size(sample_rate: int) -> tuple[int, int]:
    """(n_fft, hop) for a window of about 50 ms: 1024 at 16 kHz, 2048 at 44.1/48 kHz."""
    n_fft = int(2 ** round(np.log2(0.05 * sample_rate)))
    return n_fft, n_fft // 4


@dataclass
class BaselineResult:
    """vocals, accompaniment: (n_samples,) float32 at the clip's rate, summing to the mixture;
    f0_times / f0_hz: (n_frames,) s and Hz, or None for a method without F0; an unvoiced frame
    carries its pitch guess as a negative frequency (mir_eval's convention)."""

    vocals: np.ndarray
    accompaniment: np.ndarray
    f0_times: np.ndarray | None = None
    f0_hz: np.ndarray | None = None


def separate_baseline(name: str, mixture: np.ndarray, sample_rate: int, *,
                      vocals: np.ndarray | None = None,
                      f0_times: np.ndarray | None = None,
                      f0_hz: np.ndarray | None = None, seed: int = 0) -> BaselineResult:
    """Separate a mono ``mixture`` (n_samples,) with the baseline ``name`` (see the module).

    ``vocals`` (the true stem) is needed by ``ideal-ratio-mask`` only; ``f0_times``/``f0_hz``
    (the reference melody) by ``sf-nmf-f0`` only.
    """
    import librosa

    if name not in BASELINES:
        raise IsoldeError(f"Unknown baseline {name!r}: use one of {', '.join(BASELINES)}")
    mixture = np.asarray(mixture, dtype=np.float32)
    n_fft, hop = stft_size(sample_rate)
    spec = librosa.stft(mixture, n_fft=n_fft, hop_length=hop)
    magnitude = np.abs(spec)
    times = librosa.frames_to_time(np.arange(spec.shape[1]), sr=sample_rate, hop_length=hop)
    est_f0 = None
    if name == "repet-sim":
        mask = repet_sim_mask(magnitude, sample_rate, hop)
    elif name == "ideal-ratio-mask":
        if vocals is None:
            raise IsoldeError("the ideal ratio mask needs the true vocal stem")
        voice = np.abs(librosa.stft(np.asarray(vocals, np.float32), n_fft=n_fft, hop_length=hop))
        rest = np.abs(librosa.stft(mixture - vocals, n_fft=n_fft, hop_length=hop))
        mask = voice / np.maximum(voice + rest, _EPS)
    else:
        bin_hz = librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft)
        if name == "sf-nmf-f0":
            if f0_times is None or f0_hz is None:
                raise IsoldeError("sf-nmf-f0 needs the reference F0")
            melody = pitch.interpolate_f0(f0_times, f0_hz, times)
            mask, _ = source_filter_nmf(magnitude, bin_hz, melody_hz=melody, seed=seed)
        else:
            mask, est_f0 = source_filter_nmf(magnitude, bin_hz, seed=seed)
    est_vocals = librosa.istft(mask * spec, hop_length=hop, n_fft=n_fft,
                               length=len(mixture)).astype(np.float32)
    return BaselineResult(est_vocals, (mixture - est_vocals).astype(np.float32),
                          times if est_f0 is not None else None, est_f0)


def repet_sim_mask(magnitude: np.ndarray, sample_rate: int, hop: int) -> np.ndarray:
    """REPET-SIM vocal mask (n_bins, n_frames) in [0, 1] of a magnitude spectrogram."""
    import librosa

    width = max(3, int(round(2.0 * sample_rate / hop)))
    if magnitude.shape[1] <= 2 * width + 1:
        width = max(1, magnitude.shape[1] // 4)
    background = librosa.decompose.nn_filter(magnitude, aggregate=np.median, metric="cosine",
                                             width=width)
    background = np.minimum(magnitude, background)
    voice = magnitude - background
    return librosa.util.softmask(voice, 10.0 * background, power=2)


def _filter_atoms(n_bins: int) -> np.ndarray:
    """(n_bins, N_FILTER_ATOMS) overlapping Hann windows tiling the frequency axis."""
    centres = np.linspace(0, n_bins - 1, N_FILTER_ATOMS)
    half = 2.0 * (centres[1] - centres[0])
    distance = np.abs(np.arange(n_bins)[:, None] - centres[None, :]) / half
    return (np.where(distance < 1, 0.5 + 0.5 * np.cos(np.pi * distance), 0.0)).astype(np.float32)


def source_filter_nmf(magnitude: np.ndarray, bin_hz: np.ndarray, *,
                      melody_hz: np.ndarray | None = None,
                      iterations: int = ITERATIONS, seed: int = 0
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Vocal mask (n_bins, n_frames) and melody (n_frames,) Hz by source-filter NMF (a found
    melody gives its unvoiced frames' pitch guesses as negative frequencies).

    magnitude : (n_bins, n_frames) mixture magnitude; bin_hz : (n_bins,) Hz.
    melody_hz : None: find the melody (:func:`harmonic_salience`, contour decoding); else the
        melody to use (0 = unvoiced: no voice there).
    """
    magnitude = np.asarray(magnitude, dtype=np.float32) + _EPS
    n_bins, n_frames = magnitude.shape
    rng = np.random.default_rng(seed)
    source_atoms = pitch.harmonic_comb_matrix(bin_hz)  # (n_bins, N_F0_BINS)
    filter_atoms = _filter_atoms(n_bins)
    if melody_hz is None:
        # The 4th power sharpens the salience's broad peaks, which is what the contour decoder's
        # jump cost (tuned on network saliency) expects; measured with it (research notes).
        salience = harmonic_salience(magnitude, bin_hz) ** SALIENCE_POWER
        melody_hz = pitch.f0_bin_to_hz(pitch.contour_bins(salience))
        allowed = _band_around(melody_hz)
        _, (voice, model) = _fit(magnitude, source_atoms, filter_atoms, allowed, iterations, rng)
        share = voice.sum(axis=0) / np.maximum(model.sum(axis=0), _EPS)
        voiced = share >= VOICED_SHARE_OF_P90 * np.percentile(share, 90)
        # Unvoiced frames keep their pitch guess as a negative frequency (mir_eval's convention,
        # as Isolde's own evaluation does), so raw pitch accuracy measures the pitch alone.
        melody_hz = np.where(voiced, melody_hz, -melody_hz)
    else:
        allowed = _band_around(np.asarray(melody_hz, dtype=np.float64))
        _, (voice, model) = _fit(magnitude, source_atoms, filter_atoms, allowed, iterations, rng)
    mask = voice / np.maximum(model, _EPS)
    return np.clip(mask, 0.0, 1.0).astype(np.float32), np.asarray(melody_hz, dtype=np.float64)


#: F0 range (Hz) the ``sf-nmf`` melody is searched in: the singing voice's.
VOICE_RANGE_HZ = (80.0, 1000.0)
#: Harmonics summed by :func:`harmonic_salience`, and the weight of each next one.
SALIENCE_HARMONICS = 10
SALIENCE_DECAY = 0.8
#: Power applied to the salience before contour decoding.
SALIENCE_POWER = 4


def harmonic_salience(magnitude: np.ndarray, bin_hz: np.ndarray) -> np.ndarray:
    """(N_F0_BINS, n_frames) salience of each F0 of Isolde's pitch grid, each frame scaled to a
    peak of 1: the magnitude at its first :data:`SALIENCE_HARMONICS` harmonics (linear
    interpolation between bins), weighted ``SALIENCE_DECAY ** (h - 1)``; zero outside
    :data:`VOICE_RANGE_HZ`. Linear magnitudes beat log-compressed ones here (MIR-1K raw pitch
    accuracy 0.63 against 0.44 on 5 clips) and 10 harmonics equal 20."""
    f0 = pitch.f0_bin_frequencies()
    spacing = float(bin_hz[1] - bin_hz[0])
    out = np.zeros((len(f0), magnitude.shape[1]), dtype=np.float32)
    for h in range(1, SALIENCE_HARMONICS + 1):
        position = h * f0 / spacing
        inside = position < len(bin_hz) - 1
        lo = np.floor(position[inside]).astype(np.int64)
        w = (position[inside] - lo)[:, None].astype(np.float32)
        out[inside] += SALIENCE_DECAY ** (h - 1) * (magnitude[lo] * (1 - w) + magnitude[lo + 1] * w)
    out[(f0 < VOICE_RANGE_HZ[0]) | (f0 > VOICE_RANGE_HZ[1])] = 0.0
    return out / np.maximum(out.max(axis=0, keepdims=True), _EPS)


def _band_around(melody_hz: np.ndarray) -> np.ndarray:
    """(N_F0_BINS, n_frames) 1 within MELODY_HALF_WIDTH_BINS of the melody, 0 elsewhere and on
    unvoiced frames."""
    voiced = melody_hz > 0
    centre = pitch.hz_to_f0_bin(np.where(voiced, melody_hz, 1.0))
    distance = np.abs(np.arange(pitch.N_F0_BINS)[:, None] - centre[None, :])
    return ((distance <= MELODY_HALF_WIDTH_BINS) & voiced[None, :]).astype(np.float32)


def _fit(magnitude, source_atoms, filter_atoms, allowed, iterations, rng):
    """KL-NMF of ``magnitude`` ~ (Ws Hs) * (Wf Hf) + Wm Hm with Hs zero where not ``allowed``.

    Returns (Hs, (voice part, whole model)), each (rows, n_frames) float32.
    """
    n_bins, n_frames = magnitude.shape
    scale = float(magnitude.mean())
    h_source = allowed * rng.uniform(0.5, 1.5, allowed.shape).astype(np.float32)
    h_filter = rng.uniform(0.5, 1.5, (filter_atoms.shape[1], n_frames)).astype(np.float32)
    w_accomp = rng.uniform(0.5, 1.5, (n_bins, N_ACCOMPANIMENT_COMPONENTS)).astype(np.float32)
    h_accomp = rng.uniform(0.5, 1.5, (N_ACCOMPANIMENT_COMPONENTS, n_frames)).astype(np.float32)
    h_accomp *= scale / N_ACCOMPANIMENT_COMPONENTS
    ones = np.ones_like(magnitude)

    def parts():
        source = source_atoms @ h_source
        filt = filter_atoms @ h_filter
        return source, filt, source * filt + w_accomp @ h_accomp + _EPS

    for _ in range(iterations):
        source, filt, model = parts()
        ratio = magnitude / model
        h_source *= (source_atoms.T @ (ratio * filt)) / np.maximum(source_atoms.T @ filt, _EPS)
        source, filt, model = parts()
        ratio = magnitude / model
        h_filter *= (filter_atoms.T @ (ratio * source)) / np.maximum(filter_atoms.T @ source, _EPS)
        source, filt, model = parts()
        ratio = magnitude / model
        h_accomp *= (w_accomp.T @ ratio) / np.maximum(w_accomp.T @ ones, _EPS)
        model = source * filt + w_accomp @ h_accomp + _EPS
        w_accomp *= ((magnitude / model) @ h_accomp.T) / np.maximum(ones @ h_accomp.T, _EPS)
        norm = np.maximum(w_accomp.sum(axis=0, keepdims=True), _EPS)
        w_accomp /= norm
        h_accomp *= norm.T
    source, filt, model = parts()
    return h_source, (source * filt, model)


__all__ = ["BASELINES", "BaselineResult", "repet_sim_mask", "separate_baseline",
           "source_filter_nmf", "stft_size"]
