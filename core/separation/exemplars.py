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

Where the F0 is only the network's estimate the exemplars weigh 0.35 in the geometric mean, 0.5
where the user gave it: with 0.5 everywhere the part nobody corrected lost up to 0.09 dB on
MIR-1K (median per clip, worst-first corrections), with 0.35 it gains +0.07 to +0.20 dB there
while the produced dev set keeps its +0.23 to +0.56 dB (``docs/research-notes.md``, "Exemplars:
how much").

The user is not the only one who can say "no voice here": frames the network itself calls
unvoiced with a confidence of at least 0.9 (:func:`quiet_frames`) are exemplars too, so every
separation with an F0 uses them, corrected or not. With no correction at all that raised the
vocal SDR of 9 of the 11 produced dev excerpts by +0.48 to +1.29 dB (median +0.56, none lower;
the other two have too few such frames) and of MIR-1K validation clips by +0.08 dB at the median
(40 clips, 23 up, 8 down); thresholds 0.8 / 0.95 gave +0.55 / +0.55 dB on the produced set, 0.8
with two excerpts lower (``docs/research-notes.md``, "Exemplars without corrections").

The matching runs in PyTorch on the device the networks use (a 4-minute song's exemplars on the
2-core CPU with two threads: 0.61 s, against 1.04 s for the same computation in NumPy), so that
on a GPU the re-separation after Update DNN does not wait for the CPU.
"""
from __future__ import annotations

import numpy as np
import torch

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
#: Frames the network calls unvoiced with at least this F0 confidence
#: (:func:`core.separation.confidence.f0_confidence`) serve as exemplars too (:func:`quiet_frames`).
QUIET_CONFIDENCE = 0.9
#: The exemplars' weight against the network's mask on frames whose F0 the user gave.
CORRECTED_WEIGHT = 0.5
#: Their weight on frames whose F0 is the network's estimate: where the F0 may be wrong, so may
#: the bins the exemplars are matched on (see the module docstring).
ESTIMATED_WEIGHT = 0.35


def quiet_frames(saliency: np.ndarray, f0_hz: np.ndarray, vocal_mask: np.ndarray) -> np.ndarray:
    """Frames the network is sure hold no voice: bool (n_frames,).

    saliency : (N_F0_BINS, n_frames); f0_hz : (n_frames,) its decoded trajectory (Hz, 0 =
    unvoiced); vocal_mask : (N_BINS, n_frames). Unvoiced frames whose
    :func:`~core.separation.confidence.f0_confidence` reaches :data:`QUIET_CONFIDENCE`.
    """
    from .confidence import f0_confidence

    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    # no periodicity: the NETWORK_PITCH regression, so refitting the shown confidence never moves
    # the separation
    sure = f0_confidence(saliency, f0_hz, vocal_mask) >= QUIET_CONFIDENCE
    return sure & (f0_hz <= 0)


def _similarity_bins() -> int:
    """How many of the lowest bins lie below :data:`SIMILARITY_BAND_HZ` (the band is a prefix)."""
    return int(np.count_nonzero(spectral.bin_frequencies() < SIMILARITY_BAND_HZ))


def exemplar_frames(magnitude: torch.Tensor, deleted: np.ndarray) -> np.ndarray:
    """Indices of deleted frames that carry sound, at most :data:`MAX_EXEMPLARS` of them.

    magnitude : (N_BINS, n_frames) mixture magnitude, a tensor on any device; deleted : bool
    (n_frames,)
    """
    energy = magnitude[:_similarity_bins()].sum(dim=0).cpu().numpy()
    candidates = np.nonzero(np.asarray(deleted, bool))[0]
    if len(candidates) == 0:
        return candidates
    candidates = candidates[energy[candidates] > SILENCE_SHARE * energy.max()]
    if len(candidates) > MAX_EXEMPLARS:
        candidates = candidates[np.linspace(0, len(candidates) - 1, MAX_EXEMPLARS).round().astype(int)]
    return candidates


def _exemplar_blocks(magnitude, f0_hz: np.ndarray, deleted: np.ndarray, device):
    """(voiced frame indices, vocal mask float32 (N_BINS, len(frames))) block by block; None
    when there are fewer than :data:`MIN_EXEMPLAR_FRAMES` sounding deleted frames or no voiced
    frame. The distances, neighbours and medians are computed on ``device`` (torch): on a GPU
    they are most of what a re-separation leaves to the CPU."""
    magnitude = torch.as_tensor(magnitude, dtype=torch.float32).to(device)
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    exemplars = exemplar_frames(magnitude, deleted)
    voiced = np.nonzero(f0_hz > 0)[0]
    if len(exemplars) < MIN_EXEMPLAR_FRAMES or len(voiced) == 0:
        return None
    n_low = _similarity_bins()
    low_hz = spectral.bin_frequencies()[:n_low]
    k = min(NEIGHBOURS, len(exemplars))
    # Log magnitude (loudness-normalised) so that similarity is about timbre and harmony.
    log_low = torch.log1p(magnitude[:n_low] / (magnitude[:n_low].mean() + 1e-9))
    index = torch.from_numpy(exemplars).to(magnitude.device)
    ex_log = log_low[:, index]
    ex_log_sq = ex_log ** 2
    ex_magnitude = magnitude[:, index]

    def blocks():
        for start in range(0, len(voiced), BLOCK_FRAMES):
            frames = voiced[start:start + BLOCK_FRAMES]
            between = torch.from_numpy(
                (pitch.harmonic_mask(f0_hz[frames], low_hz) < 0.5).astype(np.float32)
            ).to(magnitude.device)
            columns = torch.from_numpy(frames).to(magnitude.device)
            x = log_low[:, columns]
            weight = between.sum(dim=0).clamp_min(1.0)
            # Squared distance over each frame's between-harmonic bins, as three matrix products.
            distance = ((between * x ** 2).sum(dim=0)[:, None] - 2.0 * (between * x).T @ ex_log
                        + between.T @ ex_log_sq) / weight[:, None]
            nearest = torch.topk(distance, k, dim=1, largest=False).indices  # (frames, k)
            neighbours = ex_magnitude[:, nearest].sort(dim=2).values  # (N_BINS, frames, k)
            accompaniment = neighbours[:, :, (k - 1) // 2:k // 2 + 1].mean(dim=2)  # the median
            mixture = magnitude[:, columns]
            # Match the exemplars' loudness to this frame's, on the bins the voice leaves alone.
            gain = (between * mixture[:n_low]).sum(dim=0) / (
                between * accompaniment[:n_low]).sum(dim=0).clamp_min(1e-9)
            mask = (1.0 - accompaniment * gain[None, :] / (mixture + 1e-9)).clamp(0.0, 1.0)
            yield frames, mask.cpu().numpy()

    return blocks()


def exemplar_vocal_mask(magnitude, f0_hz: np.ndarray, deleted: np.ndarray, *,
                        device="cpu") -> np.ndarray | None:
    """A vocal mask from the accompaniment heard alone in deleted frames.

    magnitude : float (N_BINS, n_frames) array or tensor, the mixture on the model grid
        (:mod:`core.audio.spectral`)
    f0_hz : (n_frames,) Hz, the F0 the user sees (0 = no voice)
    deleted : bool (n_frames,), frames the user marked "no voice"
    device : where the matching runs (torch device)
    returns : float32 (N_BINS, n_frames) in [0, 1], NaN on frames it says nothing about (no F0);
        None when there are fewer than :data:`MIN_EXEMPLAR_FRAMES` sounding deleted frames.
    """
    blocks = _exemplar_blocks(magnitude, f0_hz, deleted, device)
    if blocks is None:
        return None
    out = np.full(tuple(magnitude.shape), np.nan, dtype=np.float32)
    for frames, block in blocks:
        out[:, frames] = block
    return out


def combine_with_exemplars(vocal_mask: np.ndarray, magnitude, f0_hz: np.ndarray,
                           deleted: np.ndarray, corrected: np.ndarray | None = None, *,
                           device="cpu") -> np.ndarray:
    """The network's vocal mask, on voiced frames a weighted geometric mean with
    :func:`exemplar_vocal_mask`: ``mask ** (1 - w) * exemplars ** w``, ``w`` =
    :data:`CORRECTED_WEIGHT` on frames whose F0 the user gave and :data:`ESTIMATED_WEIGHT` on
    frames whose F0 is the network's.

    vocal_mask, magnitude : (N_BINS, n_frames), an array and an array or tensor; corrected : bool
    (n_frames,), frames whose F0 the user gave (None: every frame); device : where the matching
    runs. Returns a new float32 array, the input itself when there is nothing to combine with.
    """
    blocks = _exemplar_blocks(magnitude, f0_hz, deleted, device)
    if blocks is None:
        return vocal_mask
    n_frames = np.shape(vocal_mask)[1]
    corrected = (np.ones(n_frames, dtype=bool) if corrected is None
                 else np.asarray(corrected, dtype=bool))
    out = np.array(vocal_mask, dtype=np.float32, copy=True)
    for frames, block in blocks:
        mask = out[:, frames]
        weight = np.where(corrected[frames], CORRECTED_WEIGHT, ESTIMATED_WEIGHT)[None, :]
        out[:, frames] = mask ** (1.0 - weight) * block ** weight
    return out
