"""The song's own accompaniment, heard alone where the user deleted the voice, as a second opinion.

Where the user said "no voice here", the mixture *is* the accompaniment. Songs repeat their
accompaniment (the same chords, the same kit, the same pad), so for a frame where the voice sings,
the deleted frames that sound most like it *between the voice's harmonics* (the bins the voice
leaves to the accompaniment, known from the F0) are a good guess at what the accompaniment does
*under* the voice's harmonics, which is exactly where the network has to guess which source a
bin belongs to. This is REPET-SIM's nearest-neighbour idea (Rafii and Pardo 2012) with the
neighbours drawn only from frames known to hold no voice and compared only on bins known to hold
little of it.

The estimate becomes a vocal mask ``1 - accompaniment / mixture`` that is combined with the
network's mask by a geometric mean on voiced frames: each corrects the other's overconfidence.
Measured with the reference F0 as corrections (``isolde simulate --limit 30 --unadapted``, BSS
Eval v3): at 100 % corrected the median vocal SDR of the 30 clips rose from 10.25 to 10.74 dB
(per clip: mean +0.22 dB, 18 up, 11 down); on 20 other validation clips from 10.64 to 11.18 dB
(mean +0.40 dB, 16 up, 3 down). It also helps where nothing was corrected, since the estimated
F0 says where the voice's harmonics are: at 50 % corrected the uncorrected half gained 0.6 dB
(20 other clips, median; applied to the corrected frames only it gained nothing there) and the
whole clip 0.2 dB (the 30 clips, per-clip mean). The blends and neighbour counts tried:
``docs/research-notes.md``, "Exemplars".
"""
from __future__ import annotations

import numpy as np

from ..audio import spectral
from ..music import pitch

#: Deleted frames needed before they are trusted as exemplars (about 0.16 s).
MIN_EXEMPLAR_FRAMES = 10
#: Nearest exemplars whose median is the accompaniment estimate.
NEIGHBOURS = 5
#: Similarity is measured below this frequency (Hz), where the voice's harmonics are resolved.
SIMILARITY_BAND_HZ = 4000.0
#: At most this many exemplars are compared (evenly spaced), bounding time and memory.
MAX_EXEMPLARS = 4000
#: Voiced frames compared per block (bounds the distance matrix to BLOCK x MAX_EXEMPLARS).
BLOCK_FRAMES = 512
#: Exemplar frames quieter than this share of the loudest one are silence, not accompaniment.
SILENCE_SHARE = 1e-3


def exemplar_frames(magnitude: np.ndarray, deleted: np.ndarray) -> np.ndarray:
    """Indices of deleted frames that carry sound, at most :data:`MAX_EXEMPLARS` of them.

    magnitude : (N_BINS, n_frames) mixture magnitude; deleted : bool (n_frames,)
    """
    low = spectral.bin_frequencies() < SIMILARITY_BAND_HZ
    energy = magnitude[low].sum(axis=0)
    candidates = np.nonzero(np.asarray(deleted, bool))[0]
    if len(candidates) == 0:
        return candidates
    candidates = candidates[energy[candidates] > SILENCE_SHARE * energy.max()]
    if len(candidates) > MAX_EXEMPLARS:
        candidates = candidates[np.linspace(0, len(candidates) - 1, MAX_EXEMPLARS).round().astype(int)]
    return candidates


def _exemplar_blocks(magnitude: np.ndarray, f0_hz: np.ndarray, deleted: np.ndarray):
    """(voiced frame indices, vocal mask (N_BINS, len(frames))) block by block; None when there
    are fewer than :data:`MIN_EXEMPLAR_FRAMES` sounding deleted frames or no voiced frame."""
    magnitude = np.asarray(magnitude, dtype=np.float32)
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    exemplars = exemplar_frames(magnitude, deleted)
    voiced = np.nonzero(f0_hz > 0)[0]
    if len(exemplars) < MIN_EXEMPLAR_FRAMES or len(voiced) == 0:
        return None
    bins = spectral.bin_frequencies()
    low = bins < SIMILARITY_BAND_HZ
    k = min(NEIGHBOURS, len(exemplars))
    # Log magnitude (loudness-normalised) so that similarity is about timbre and harmony.
    log_low = np.log1p(magnitude[low] / (float(magnitude[low].mean()) + 1e-9))
    ex_log = log_low[:, exemplars]
    ex_log_sq = ex_log ** 2
    ex_magnitude = magnitude[:, exemplars]

    def blocks():
        for start in range(0, len(voiced), BLOCK_FRAMES):
            frames = voiced[start:start + BLOCK_FRAMES]
            between = (pitch.harmonic_mask(f0_hz[frames], bins[low]) < 0.5).astype(np.float32)
            x = log_low[:, frames]
            weight = np.maximum(between.sum(axis=0), 1.0)
            # Squared distance over each frame's between-harmonic bins, as three matrix products.
            distance = ((between * x ** 2).sum(axis=0)[:, None] - 2.0 * (between * x).T @ ex_log
                        + between.T @ ex_log_sq) / weight[:, None]
            nearest = np.argpartition(distance, k - 1, axis=1)[:, :k]
            accompaniment = np.median(ex_magnitude[:, nearest], axis=2)  # (N_BINS, frames)
            # Match the exemplars' loudness to this frame's, on the bins the voice leaves alone.
            gain = (between * magnitude[low][:, frames]).sum(axis=0) / np.maximum(
                (between * accompaniment[low]).sum(axis=0), 1e-9)
            accompaniment *= gain[None, :]
            yield frames, np.clip(1.0 - accompaniment / (magnitude[:, frames] + 1e-9), 0.0, 1.0)

    return blocks()


def exemplar_vocal_mask(magnitude: np.ndarray, f0_hz: np.ndarray,
                        deleted: np.ndarray) -> np.ndarray | None:
    """A vocal mask from the accompaniment heard alone in deleted frames.

    magnitude : float (N_BINS, n_frames), the mixture on the model grid (:mod:`core.audio.spectral`)
    f0_hz : (n_frames,) Hz, the F0 the user sees (0 = no voice)
    deleted : bool (n_frames,), frames the user marked "no voice"
    returns : float32 (N_BINS, n_frames) in [0, 1], NaN on frames it says nothing about (no F0);
        None when there are fewer than :data:`MIN_EXEMPLAR_FRAMES` sounding deleted frames.
    """
    blocks = _exemplar_blocks(magnitude, f0_hz, deleted)
    if blocks is None:
        return None
    out = np.full(np.shape(magnitude), np.nan, dtype=np.float32)
    for frames, block in blocks:
        out[:, frames] = block
    return out


def combine_with_exemplars(vocal_mask: np.ndarray, magnitude: np.ndarray, f0_hz: np.ndarray,
                           deleted: np.ndarray) -> np.ndarray:
    """The network's vocal mask, on voiced frames the geometric mean with :func:`exemplar_vocal_mask`.

    vocal_mask, magnitude : (N_BINS, n_frames); returns a new float32 array, the input itself when
    there is nothing to combine with.
    """
    blocks = _exemplar_blocks(magnitude, f0_hz, deleted)
    if blocks is None:
        return vocal_mask
    out = np.array(vocal_mask, dtype=np.float32, copy=True)
    for frames, block in blocks:
        out[:, frames] = np.sqrt(out[:, frames] * block)
    return out
