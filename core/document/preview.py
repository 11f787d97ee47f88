"""Hear a correction at once: re-separate only the stretch a change of the corrections touches.

Update DNN is what improves the parts nobody corrected, and it takes a while; a musician also wants
to hear each stroke as soon as it is drawn. So after every change of the corrections the editor
re-separates the frames whose corrections changed, :data:`MARGIN_FRAMES` on each side, with the
corrections imposed exactly as a whole-song separation imposes them
(:func:`core.separation.separate.window_outputs`: the drawn F0 as the separation net's input, the mask
refinement; then :mod:`core.separation.exemplars` with the whole song heard), and writes the new
vocals over those samples of the current stems. Nothing else in the song moves.

Kept short on purpose: the networks hear the changed frames plus :data:`CONTEXT_FRAMES` on each
side, rounded out to the U-Nets' frame multiple, and the exemplars estimate only those frames
(though every frame of the song is a candidate neighbour, as in a whole-song pass; the song's
spectrum for that search is computed once and kept, :class:`SegmentSpectra`). A 10-second
stroke on a 4-minute song costs 0.71-0.83 s on one thread of the shared 2-core CPU
(``benchmarks/preview_speed.py``; 0.78-0.94 s computing the spectrum for each stroke, 0.35-0.43 s
before every voiced frame lent the exemplars its accompaniment). Measured there against
separating the whole song again with the new corrections: inside the re-separated stretch the
vocals differ by -52 dB (relative energy; the stroke itself changed them by -18 dB), outside it
by -32 dB. Windows start on the U-Nets'
pooling grid as the whole-song chunks do. What the preview leaves to the next whole-song pass
(Update DNN): a stroke also changes what the frames it touched lend the exemplars (a drawn F0
moves the bins they hear alone, a deletion makes them heard alone in every bin), which moves
voiced frames far from it a little, and that pass finds the quiet frames anew.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..audio import spectral
from ..music import pitch
from ..progress import Job, Progress
from ..separation.corrections import Corrections, exemplar_inputs
from .f0_edits import corrected_frames
from ..separation.separate import apply_mask_range, exemplar_segments, native_grid, window_outputs

#: Frames (about 1 s) re-estimated on each side of the frames whose corrections changed: the
#: separation net's answer to an imposed F0 spreads a little beyond it.
MARGIN_FRAMES = 64
#: Frames the networks hear beyond those, so that the kept frames have context.
CONTEXT_FRAMES = 64


def changed_frames(old: Corrections, new: Corrections, n_frames: int) -> tuple[int, int] | None:
    """First and one-past-last model frame where ``old`` and ``new`` say different things, or None."""
    times = spectral.frame_times(n_frames)
    old_corrected, old_f0 = corrected_frames(old, times)
    new_corrected, new_f0 = corrected_frames(new, times)
    differs = (old_corrected != new_corrected) | (np.abs(old_f0 - new_f0) > 1e-6)
    index = np.flatnonzero(differs)
    if index.size == 0:
        return None
    return int(index[0]), int(index[-1]) + 1


@dataclass
class RangeUpdate:
    """New vocals for one stretch of the song.

    first_frame, stop_frame : model frames whose vocal mask is replaced by ``vocal_mask``
        (float32, shape (N_BINS, stop_frame - first_frame))
    start_sample, stop_sample : native samples whose vocals are replaced by ``vocals``
        (float32, shape (n_channels, stop_sample - start_sample))
    """

    first_frame: int
    stop_frame: int
    vocal_mask: np.ndarray
    start_sample: int
    stop_sample: int
    vocals: np.ndarray


class SegmentSpectra:
    """A song's magnitude on the model grid (:func:`core.audio.spectral.model_magnitude`), one
    exemplar segment (:func:`core.separation.separate.exemplar_segments`) at a time, kept from one
    preview to the next: every stroke's exemplars search the whole segment, and computing it
    again took 0.16 of a 0.8-0.9 s preview of a 4-minute song. Holds the last segment asked for
    (at most 10 minutes: 77 MB); the session keeps one per song (``mono16`` is its model input).
    """

    def __init__(self, mono16: np.ndarray) -> None:
        self.mono16 = mono16
        self._song = spectral.MagnitudeFrames(mono16)
        self._kept: tuple[int, int, torch.Tensor] | None = None

    @classmethod
    def of_song(cls, kept: "SegmentSpectra | None", mono16: np.ndarray) -> "SegmentSpectra":
        """``kept`` if it is this song's spectrum (the same ``mono16`` array), else a new one."""
        return kept if kept is not None and kept.mono16 is mono16 else cls(mono16)

    def segment(self, a: int, b: int) -> torch.Tensor:
        """float32 tensor (N_BINS, b - a): frames ``a:b`` of the song's magnitude."""
        kept = self._kept  # one read: another worker may replace it meanwhile
        if kept is not None and kept[:2] == (a, b):
            return kept[2]
        magnitude = self._song[:, a:b]
        self._kept = (a, b, magnitude)
        return magnitude


def _with_exemplars(mask: np.ndarray, first: int, spectra: SegmentSpectra,
                    shown_f0: np.ndarray, corrections: Corrections, n_frames: int,
                    quiet: np.ndarray | None) -> np.ndarray:
    """The whole-song pass's exemplars (:mod:`core.separation.exemplars`) for frames
    ``first:first + mask.shape[1]``.

    Every frame of the song's exemplar segments that the stretch touches is a candidate
    neighbour, as in a whole-song pass (their spectra from ``spectra``); only the stretch's frames
    are estimated. The exemplars hear the deleted frames and the frames of ``quiet`` (the
    analysis's :attr:`~core.separation.separate.ModelAnalysis.quiet_frames`) nobody corrected.
    """
    from ..separation.exemplars import combine_with_exemplars

    stop = first + mask.shape[1]
    corrected, f0 = corrected_frames(corrections, spectral.frame_times(n_frames))
    shown_f0, deleted = exemplar_inputs(corrected, f0, shown_f0, quiet)
    out = mask.copy()
    for a, b in exemplar_segments(n_frames):
        lo, hi = max(a, first), min(b, stop)
        if lo >= hi:
            continue
        segment_mask = np.zeros((mask.shape[0], b - a), dtype=np.float32)
        segment_mask[:, lo - a:hi - a] = out[:, lo - first:hi - first]
        wanted = np.zeros(b - a, dtype=bool)
        wanted[lo - a:hi - a] = True
        combined = combine_with_exemplars(
            segment_mask, spectra.segment(a, b), shown_f0[a:b],
            deleted[a:b], corrected[a:b], frames=wanted)
        out[:, lo - first:hi - first] = combined[:, lo - a:hi - a]
    return out


def reseparate_iter(model, samples: np.ndarray, sample_rate: int, mono16: np.ndarray,
                    analysis, estimated_f0: np.ndarray, corrections: Corrections,
                    first: int, stop: int, *, device="cpu",
                    spectra: SegmentSpectra | None = None) -> Job[RangeUpdate]:
    """Re-separate model frames ``first:stop`` (plus :data:`MARGIN_FRAMES`) with ``corrections``.

    samples : the song, float32 (n_channels, n_samples) at ``sample_rate``
    mono16 : what the networks hear, :func:`core.separation.separate.model_input` of the song
    spectra : :class:`SegmentSpectra` of ``mono16`` kept between previews (default: a new one)
    analysis : the current :class:`~core.separation.separate.ModelAnalysis` (its mask outside the stretch
        and its level gain are used; nothing in it is changed)
    estimated_f0 : the network's trajectory, Hz per model frame (the exemplars' voiced frames)
    Returns a :class:`RangeUpdate`; apply it with :func:`apply_update`.
    """
    n_frames = analysis.n_frames
    first, stop = max(first - MARGIN_FRAMES, 0), min(stop + MARGIN_FRAMES, n_frames)
    # Windows start on multiples of the U-Nets' frame multiple, as the whole-song chunks do: the
    # pooling grid moves with the window, and a shifted grid changes the mask by about 0.05.
    multiple = model.frame_multiple
    lo = (first - CONTEXT_FRAMES) // multiple * multiple
    window = int(math.ceil((stop + CONTEXT_FRAMES - lo) / multiple) * multiple)
    yield Progress("previewing", 0.0)
    magnitude = spectral.model_magnitude_frames(mono16, lo, lo + window)
    model.eval()
    with torch.inference_mode():
        piece = (magnitude * analysis.level_gain)[None].to(device)
        out_mask, heard = window_outputs(model, piece, lo, corrections)
    keep = slice(first - lo, stop - lo)
    mask = out_mask[0, :, keep].float().cpu().numpy()
    if heard is not None:
        # The whole-song pass decodes the saliency it heard, the new corrections imposed, and
        # the contour near a stroke moves with it: every voiced frame is an exemplar
        # candidate, so the stretch's decoded F0 replaces the old one there.
        estimated_f0 = np.array(estimated_f0, dtype=np.float64, copy=True)
        estimated_f0[first:stop] = pitch.saliency_to_f0(heard[0].float().cpu().numpy())[keep]
    yield Progress("previewing", 0.6)
    spectra = SegmentSpectra.of_song(spectra, mono16)
    mask = _with_exemplars(mask, first, spectra, estimated_f0, corrections, n_frames,
                           analysis.quiet_frames)

    # Native samples that hear the changed frames: their STFT windows reach n_fft further.
    n_fft, hop = native_grid(sample_rate)
    frame_samples = spectral.HOP_SECONDS * sample_rate
    n_samples = samples.shape[1]
    start = max(int(((first - 1) * frame_samples - n_fft) // hop) * hop, 0)
    end = min(int(math.ceil(stop * frame_samples + n_fft)), n_samples)
    # The old mask around the stretch, with the new frames in it, wide enough for those samples.
    pad = int(math.ceil(2 * n_fft / frame_samples)) + 2
    a, b = max(first - pad, 0), min(stop + pad, n_frames)
    local = analysis.vocal_mask[:, a:b].copy()
    local[:, first - a:stop - a] = mask
    vocals = apply_mask_range(samples, sample_rate, local, start, end, mask_first_frame=a,
                              device=device)
    yield Progress("previewing", 1.0)
    return RangeUpdate(first, stop, mask, start, end, vocals)


def apply_update(result, samples: np.ndarray, update: RangeUpdate) -> None:
    """Write ``update`` into a :class:`~core.separation.separate.SeparationResult`, in place.

    The stems stay a pair that sums to the mixture; a player reading them hears the change at once.
    """
    result.analysis.vocal_mask[:, update.first_frame:update.stop_frame] = update.vocal_mask
    span = slice(update.start_sample, update.stop_sample)
    result.vocals[:, span] = update.vocals
    result.accompaniment[:, span] = samples[:, span] - update.vocals
