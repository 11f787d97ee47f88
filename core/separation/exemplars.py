"""The song's own accompaniment, heard alone elsewhere in the song, as a second opinion.

Where the user said "no voice here", the mixture *is* the accompaniment; and where the voice
sings, the bins between its harmonics (known from the F0) hold the accompaniment alone too. Songs
repeat their accompaniment (the same chords, the same kit, the same pad) while the voice moves
from note to note, so for a frame where the voice sings, the frames that sound most like it on
the bins both leave to the accompaniment are a good guess at what the accompaniment does *under*
this frame's harmonics, which is exactly where the network has to guess which source a bin
belongs to. This is REPET-SIM's nearest-neighbour idea (Rafii and Pardo 2012) with each bin's
neighbours drawn only from frames that hear that bin without the voice: every bin of a deleted
frame (the user's deletions and the frames the network is sure hold no voice), the bins below
4 kHz of a voiced frame away from its harmonics. Per bin, the :data:`MIN_OBSERVATIONS` nearest
such observations among the :data:`CANDIDATES` nearest frames are averaged (geometric mean).

The estimate becomes a vocal mask ``1 - accompaniment / mixture`` that is combined with the
network's mask by a geometric mean on voiced frames: each corrects the other's overconfidence.
Where the F0 is only the network's estimate the exemplars weigh 0.35 in the geometric mean, 0.5
where the user gave it (``docs/research-notes.md``, "Exemplars: how much"). Frames heard as
holding no voice are estimated from the other frames too (weight :data:`NO_VOICE_WEIGHT`): the
network's mask there (halved where the user deleted the voice) still lets some accompaniment
through, and the accompaniment heard elsewhere says where.

Measured with no correction (``isolde evaluate``, BSS Eval v3, paired per clip against the
exemplars of deleted and quiet frames alone, the previous release): the 11 produced excerpts
(cross-validated) 5.88 -> 6.04 dB, +0.17 dB median, +0.21 mean, 10 up / 1 down; 133 MIR-1K
validation clips 9.78 -> 9.92 dB, +0.24 median, 124 up / 9 down; MIR-1K's 30 validation songs
(13-83 s) +0.26 median, 29 up / 1 down. Before, a song that sings throughout had few frames
to learn its accompaniment from (two of the produced excerpts had too few to use at all). A fixed
number of nearest *frames* instead of observations per bin favoured short clips (160 frames) or
whole songs (40) but not both (``docs/research-notes.md``, "Exemplars: every voiced frame
heard between its harmonics").

The matching runs in PyTorch on the device the networks use, so that on a GPU the
re-separation after Update DNN does not wait for the CPU. On the 2-core CPU a 4-minute song's
``isolde separate`` went from 13.2 to 15.7 s with it (``benchmarks/separate_speed.py``; the
exemplars of deleted frames alone took 0.6 s).
"""
from __future__ import annotations

import numpy as np
import torch

from ..audio import spectral
from ..music import pitch

#: The accompaniment under a voiced frame's bin is the geometric mean of this many observations
#: of that bin heard alone, in the frames most like this one; with fewer among the
#: :data:`CANDIDATES` the frame keeps the network's mask there.
MIN_OBSERVATIONS = 16
#: The nearest frames (by the bins both leave to the accompaniment) searched for observations
#: (fewer than 256: the running count of observations is kept in bytes).
CANDIDATES = 200
#: Voiced frames whose observations are gathered at once (bounds the gathered observations to
#: ``GATHER_FRAMES x CANDIDATES`` x the bins below :data:`SIMILARITY_BAND_HZ`: 13 MB of floats).
GATHER_FRAMES = 64
#: A voiced frame's bin below :data:`SIMILARITY_BAND_HZ` whose harmonic mask
#: (:func:`core.music.pitch.harmonic_mask`) is below this holds the accompaniment alone: about
#: 2.5 bins from the nearest harmonic, outside the analysis window's main lobe.
VOICE_FREE = 0.05
#: Frames this close to a voiced frame (about 0.13 s) are not its neighbours: they sing the same
#: note, so their voice-free bins are its own.
NEAR_FRAMES = 8
#: Bins two frames must share voice-free before their distance counts.
MIN_SHARED_BINS = 8
#: Similarity is measured below this frequency (Hz), where the voice's harmonics are resolved.
SIMILARITY_BAND_HZ = 4000.0
#: At most this many frames are neighbours' candidates (evenly spaced), bounding time and memory.
MAX_EXEMPLARS = 4000
#: Voiced frames estimated per block (bounds the distance matrix to BLOCK x MAX_EXEMPLARS).
BLOCK_FRAMES = 512
#: Frames quieter than this share of the loudest one are silence, not accompaniment.
SILENCE_SHARE = 1e-3
#: Frames the network calls unvoiced with at least this F0 confidence
#: (:func:`core.separation.confidence.f0_confidence`) are heard as deleted (:func:`quiet_frames`).
QUIET_CONFIDENCE = 0.9
#: The exemplars' weight against the network's mask on frames whose F0 the user gave.
CORRECTED_WEIGHT = 0.5
#: Their weight on frames whose F0 is the network's estimate: where the F0 may be wrong, so may
#: the bins the exemplars are matched on (see the module docstring).
ESTIMATED_WEIGHT = 0.35
#: Their weight on the frames heard as holding no voice (the user's deletions, the network's
#: quiet frames), estimated from the other frames like a voiced one (matched on every bin below
#: :data:`SIMILARITY_BAND_HZ`): the network's mask there, halved where the user deleted the
#: voice, still lets some accompaniment through. Against leaving them to the network's mask
#: (``isolde evaluate``, no correction, paired per clip): produced excerpts cross-validated
#: +0.03 dB median, 9 up / 1 down; 133 MIR-1K clips +0.00, 85 up / 41 down; MIR-1K's 30 songs
#: +0.00, 23 up / 5 down. With every frame corrected (the copying musician of ``isolde
#: simulate``, imposed): produced +0.09 dB median (9 up / 1 down), MIR-1K (24 clips) +0.02
#: (14 up / 8 down); weight 0.5: +0.07 / -0.02, 0.7: +0.07 (6 up / 5 down) on the produced set.
NO_VOICE_WEIGHT = 0.3


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


def exemplar_frames(magnitude: torch.Tensor, f0_hz: np.ndarray, deleted: np.ndarray) -> np.ndarray:
    """Indices of the frames whose accompaniment is heard, at most :data:`MAX_EXEMPLARS` of them:
    those that carry sound and are deleted (heard alone in every bin) or voiced (heard between
    their harmonics).

    magnitude : (N_BINS, n_frames) mixture magnitude, a tensor on any device; f0_hz : (n_frames,)
    Hz; deleted : bool (n_frames,)
    """
    energy = magnitude[:_similarity_bins()].sum(dim=0).cpu().numpy()
    heard = np.asarray(deleted, bool) | (np.asarray(f0_hz, np.float64) > 0)
    candidates = np.nonzero(heard & (energy > SILENCE_SHARE * energy.max()))[0]
    if len(candidates) > MAX_EXEMPLARS:
        candidates = candidates[np.linspace(0, len(candidates) - 1, MAX_EXEMPLARS).round().astype(int)]
    return candidates


def _voice_free_bins(f0_hz: np.ndarray, deleted: np.ndarray) -> np.ndarray:
    """float32 (N_BINS, n) 1 where a frame holds the accompaniment alone: every bin of a deleted
    frame, the bins of a voiced frame below :data:`SIMILARITY_BAND_HZ` away from its harmonics."""
    free = np.repeat(np.asarray(deleted, bool)[None, :], spectral.N_BINS, axis=0)
    n_low = _similarity_bins()  # above the band a voiced frame hears nothing alone
    free[:n_low] |= pitch.harmonic_mask(f0_hz, spectral.bin_frequencies()[:n_low]) < VOICE_FREE
    return free.astype(np.float32)


def _exemplar_blocks(magnitude, f0_hz: np.ndarray, deleted: np.ndarray, device,
                     frames: np.ndarray | None = None):
    """(indices of the voiced and deleted frames estimated, vocal mask float32 (N_BINS,
    len(frames)), NaN where it says nothing) block by block; None when fewer than
    :data:`MIN_OBSERVATIONS` frames are heard or no frame of ``frames`` (bool (n_frames,),
    default every frame) is voiced or deleted. A deleted frame is matched on every bin below
    :data:`SIMILARITY_BAND_HZ` its neighbours leave to the accompaniment. The distances,
    neighbours and estimates are computed on ``device`` (torch): on a GPU they are most of what a
    re-separation leaves to the CPU."""
    magnitude = torch.as_tensor(magnitude, dtype=torch.float32).to(device)
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    deleted = np.asarray(deleted, dtype=bool)
    pool = exemplar_frames(magnitude, f0_hz, deleted)
    estimated = (f0_hz > 0) | deleted
    if frames is not None:
        estimated &= np.asarray(frames, dtype=bool)
    estimated = np.nonzero(estimated)[0]
    if len(pool) < MIN_OBSERVATIONS or len(estimated) == 0:
        return None
    dev = magnitude.device
    n_low = _similarity_bins()
    low_hz = spectral.bin_frequencies()[:n_low]
    free = torch.from_numpy(_voice_free_bins(f0_hz[pool], deleted[pool])).to(dev)  # (N_BINS, pool)
    free_low = free[:n_low]
    # Log magnitude (loudness-normalised) so that similarity is about timbre and harmony.
    log_low = torch.log1p(magnitude[:n_low] / (magnitude[:n_low].mean() + 1e-9))
    index = torch.from_numpy(pool).to(dev)
    ex_log = log_low[:, index]
    ex_log_free, ex_log_sq_free = ex_log * free_low, ex_log ** 2 * free_low
    log_heard = torch.log(magnitude[:, index] + 1e-9)  # (N_BINS, pool)
    # Pool-major copies of the band below SIMILARITY_BAND_HZ: gathering whole rows is fast.
    free_rows = free_low.T.to(torch.uint8).contiguous()
    log_rows = log_heard[:n_low].T.contiguous()
    n_candidates = min(CANDIDATES, len(pool))
    near_steps = torch.arange(2 * NEAR_FRAMES + 1, device=dev)[None, :]
    near_rows = torch.arange(BLOCK_FRAMES, device=dev)[:, None]

    def accompaniment_of(distance: torch.Tensor) -> torch.Tensor:
        """(N_BINS, block) estimate, NaN where fewer than MIN_OBSERVATIONS were found, from the
        (block, pool) distances: per bin, the nearest frames that hear it alone."""
        nearest = torch.topk(distance, n_candidates, dim=1, largest=False)  # nearest first
        usable = torch.isfinite(nearest.values).float()
        estimate = torch.empty((magnitude.shape[0], distance.shape[0]), device=dev)
        # Above the band only deleted frames hear the accompaniment alone: one choice for all.
        alone = free[n_low][nearest.indices] * usable
        alone = alone * (torch.cumsum(alone, dim=1) <= MIN_OBSERVATIONS)
        chosen = torch.zeros(len(pool), distance.shape[0], device=dev)
        chosen.scatter_(0, nearest.indices.T.contiguous(), alone.T.contiguous())
        found = alone.sum(dim=1)
        high = torch.exp((log_heard[n_low:] @ chosen) / found.clamp_min(1.0))
        high[:, found < MIN_OBSERVATIONS] = float("nan")
        estimate[n_low:] = high
        usable_bytes = usable.to(torch.uint8)
        for a in range(0, distance.shape[0], GATHER_FRAMES):
            candidates = nearest.indices[a:a + GATHER_FRAMES]  # (b, n_candidates)
            # 0/1 bytes: the running count (at most CANDIDATES, < 256) is 4x cheaper than floats.
            heard = free_rows[candidates] & usable_bytes[a:a + GATHER_FRAMES, :, None]
            first = heard.bool() & (torch.cumsum(heard, dim=1, dtype=torch.uint8)
                                    <= MIN_OBSERVATIONS)  # (b, n_candidates, n_low)
            found = first.sum(dim=1)  # (b, n_low)
            low = torch.exp(torch.where(first, log_rows[candidates], 0.0).sum(dim=1)
                            / found.clamp_min(1))
            low[found < MIN_OBSERVATIONS] = float("nan")
            estimate[:n_low, a:a + GATHER_FRAMES] = low.T
        return estimate

    def blocks():
        for start in range(0, len(estimated), BLOCK_FRAMES):
            block = estimated[start:start + BLOCK_FRAMES]
            between = torch.from_numpy(
                (pitch.harmonic_mask(f0_hz[block], low_hz) < 0.5).astype(np.float32)).to(dev)
            columns = torch.from_numpy(block).to(dev)
            x = log_low[:, columns]
            shared = between.T @ free_low  # (block, pool) bins both frames leave to the accompaniment
            # Mean squared distance over the shared bins, as three matrix products.
            distance = ((between * x ** 2).T @ free_low - 2.0 * (between * x).T @ ex_log_free
                        + between.T @ ex_log_sq_free) / shared.clamp_min(1.0)
            distance[shared < MIN_SHARED_BINS] = float("inf")
            # The pool is sorted: the frames within NEAR_FRAMES of each are a short run of it.
            nearby = torch.searchsorted(index, columns - NEAR_FRAMES)[:, None] + near_steps
            nearby = nearby.clamp_max(len(pool) - 1)
            row = near_rows[:len(block)].expand_as(nearby)
            close = (index[nearby] - columns[:, None]).abs() <= NEAR_FRAMES
            distance[row[close], nearby[close]] = float("inf")
            accompaniment = accompaniment_of(distance)
            mixture = magnitude[:, columns]
            # Match the estimate's loudness to this frame's, on the bins the voice leaves alone.
            known = between * torch.isfinite(accompaniment[:n_low])
            gain = (known * mixture[:n_low]).sum(dim=0) / (
                known * torch.nan_to_num(accompaniment[:n_low])).sum(dim=0).clamp_min(1e-9)
            mask = (1.0 - accompaniment * gain[None, :] / (mixture + 1e-9)).clamp(0.0, 1.0)
            yield block, mask.cpu().numpy()

    return blocks()


def exemplar_vocal_mask(magnitude, f0_hz: np.ndarray, deleted: np.ndarray, *,
                        device="cpu", frames: np.ndarray | None = None) -> np.ndarray | None:
    """A vocal mask from the song's accompaniment heard alone elsewhere.

    magnitude : float (N_BINS, n_frames) array or tensor, the mixture on the model grid
        (:mod:`core.audio.spectral`)
    f0_hz : (n_frames,) Hz, the F0 the user sees (0 = no voice)
    deleted : bool (n_frames,), frames heard as holding no voice (the user's deletions and the
        network's quiet frames)
    device : where the matching runs (torch device)
    frames : bool (n_frames,), the frames to estimate (default: every voiced or deleted frame);
        every frame of the song is a candidate neighbour all the same
    returns : float32 (N_BINS, n_frames) in [0, 1], NaN where it says nothing (neither F0 nor
        deletion, or too few voice-free observations of a bin); None when fewer than
        :data:`MIN_OBSERVATIONS` frames are heard.
    """
    blocks = _exemplar_blocks(magnitude, f0_hz, deleted, device, frames)
    if blocks is None:
        return None
    out = np.full(tuple(magnitude.shape), np.nan, dtype=np.float32)
    for estimated, block in blocks:
        out[:, estimated] = block
    return out


def combine_with_exemplars(vocal_mask: np.ndarray, magnitude, f0_hz: np.ndarray,
                           deleted: np.ndarray, corrected: np.ndarray | None = None, *,
                           device="cpu", frames: np.ndarray | None = None,
                           in_place: bool = False) -> np.ndarray:
    """The network's vocal mask, on voiced and deleted frames a weighted geometric mean with
    :func:`exemplar_vocal_mask` wherever that says something: ``mask ** (1 - w) * exemplars **
    w``, ``w`` = :data:`CORRECTED_WEIGHT` on frames whose F0 the user gave,
    :data:`ESTIMATED_WEIGHT` on frames whose F0 is the network's and :data:`NO_VOICE_WEIGHT` on
    deleted ones.

    vocal_mask, magnitude : (N_BINS, n_frames), an array and an array or tensor; corrected : bool
    (n_frames,), frames whose F0 the user gave (None: every frame); device : where the matching
    runs; frames : bool (n_frames,), the only frames combined (default: all). Returns a new
    float32 array, the input itself when there is nothing to combine with; with ``in_place``
    (``vocal_mask`` a float32 array, maybe a view of a whole song's) the input, combined where
    it lies: each block reads only its own frames before writing them, so the result is the
    same, without a copy of the mask (77 MB for a 10-minute segment).
    """
    blocks = _exemplar_blocks(magnitude, f0_hz, deleted, device, frames)
    if blocks is None:
        return vocal_mask
    n_frames = np.shape(vocal_mask)[1]
    corrected = (np.ones(n_frames, dtype=bool) if corrected is None
                 else np.asarray(corrected, dtype=bool))
    deleted = np.asarray(deleted, dtype=bool)
    if in_place:
        if not (isinstance(vocal_mask, np.ndarray) and vocal_mask.dtype == np.float32):
            raise TypeError("combining in place needs a float32 array")
        out = vocal_mask
    else:
        out = np.array(vocal_mask, dtype=np.float32, copy=True)
    for estimated, block in blocks:
        mask = out[:, estimated]
        weight = np.where(corrected[estimated], CORRECTED_WEIGHT, ESTIMATED_WEIGHT)
        weight = np.where(deleted[estimated], NO_VOICE_WEIGHT, weight)[None, :]
        known = np.isfinite(block)
        out[:, estimated] = np.where(
            known, mask ** (1.0 - weight) * np.where(known, block, 1.0) ** weight, mask)
    return out
