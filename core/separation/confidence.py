"""How sure the network is of each frame's F0 and voicing, 0..1, for showing where to correct.

Two things make a frame doubtful: a saliency peak near the 0.1 voicing threshold (is there a voice
at all?) and, on voiced frames, another ridge almost as strong as the chosen one more than a
semitone away (an octave, a lead instrument). The confidence is the product of

- ``1 - exp(-|logit(peak) - logit(threshold)| / 2)``, the voicing decision's margin, and
- ``sqrt(1 - second / chosen)`` on voiced frames: ``chosen`` the saliency at the decoded F0,
  ``second`` the strongest saliency more than a semitone away from it.

Measured with the shipped model (ROC AUC of low confidence against wrong frames: off by more than
50 cents from the reference, or wrongly voiced; median per clip): 60 MIR-1K validation clips
0.859 (the peak height alone 0.682, the voicing margin alone 0.833); produced dev set 0.735,
whose pYIN reference F0 has its own octave slips and stray notes. Other weightings moved the
two medians by at most 0.03 (``docs/research-notes.md``, "Per-frame confidence").
"""
from __future__ import annotations

import numpy as np

from ..music import pitch

#: Time constant (in logit units) of the voicing margin's confidence.
VOICING_MARGIN_SCALE = 2.0
#: Ridges within this many bins (one semitone) of the chosen F0 are the same ridge.
SAME_RIDGE_BINS = 5


def _logit(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 1e-4, 1 - 1e-4)
    return np.log(x / (1 - x))


def f0_confidence(saliency: np.ndarray, f0_hz: np.ndarray | None = None, *,
                  threshold: float = pitch.VOICING_THRESHOLD) -> np.ndarray:
    """Per-frame confidence of the decoded F0.

    saliency : (N_F0_BINS, n_frames) in [0, 1]
    f0_hz : (n_frames,) the decoded trajectory (Hz, 0 = unvoiced); None: decode it here
    returns : float32 (n_frames,) in [0, 1], low where the F0 or its voicing is likely wrong
    """
    saliency = np.asarray(saliency, dtype=np.float32)
    n_bins, n_frames = saliency.shape
    if f0_hz is None:
        f0_hz = pitch.saliency_to_f0(saliency, threshold=threshold)
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    if n_frames == 0:
        return np.zeros(0, dtype=np.float32)
    peak = saliency.max(axis=0)
    margin = np.abs(_logit(peak) - _logit(np.float32(threshold)))
    voicing = 1.0 - np.exp(-margin / VOICING_MARGIN_SCALE)
    voiced = f0_hz > 0
    chosen_bin = np.where(voiced, pitch.hz_to_f0_bin(np.where(voiced, f0_hz, 1.0)),
                          saliency.argmax(axis=0))
    chosen_bin = np.clip(np.round(np.nan_to_num(chosen_bin)).astype(np.int64), 0, n_bins - 1)
    columns = np.arange(n_frames)
    chosen = saliency[chosen_bin, columns]
    second = np.empty(n_frames, dtype=np.float32)
    grid = np.arange(n_bins)[:, None]
    for a in range(0, n_frames, 4096):  # in blocks: bins x frames temporaries stay small
        b = min(a + 4096, n_frames)
        far = np.abs(grid - chosen_bin[None, a:b]) > SAME_RIDGE_BINS
        second[a:b] = np.where(far, saliency[:, a:b], 0.0).max(axis=0)
    ridge = np.sqrt(np.clip(1.0 - second / np.maximum(chosen, 1e-4), 0.0, 1.0))
    return np.clip(voicing * np.where(voiced, ridge, 1.0), 0.0, 1.0).astype(np.float32)


def wrong_frames(ref_f0_hz: np.ndarray, est_f0_hz: np.ndarray, *,
                 tolerance_cents: float = 50.0) -> np.ndarray:
    """Frames whose estimate is wrongly voiced or off by more than ``tolerance_cents``.

    Both trajectories on the same frames, (n_frames,) Hz, 0 = unvoiced; returns bool (n_frames,).
    """
    ref = np.asarray(ref_f0_hz, dtype=np.float64)
    est = np.asarray(est_f0_hz, dtype=np.float64)
    wrong = (ref > 0) != (est > 0)
    both = (ref > 0) & (est > 0)
    cents = np.zeros_like(ref)
    cents[both] = 1200.0 * np.abs(np.log2(est[both] / ref[both]))
    return wrong | (cents > tolerance_cents)


def error_auc(confidence: np.ndarray, wrong: np.ndarray) -> float:
    """ROC AUC of low confidence as a detector of wrong frames (0.5 = chance; NaN when every
    frame is right or every frame is wrong)."""
    from scipy.stats import rankdata

    wrong = np.asarray(wrong, dtype=bool)
    n_wrong, n_right = int(wrong.sum()), int((~wrong).sum())
    if n_wrong == 0 or n_right == 0:
        return float("nan")
    ranks = rankdata(-np.asarray(confidence, dtype=np.float64))
    return float((ranks[wrong].sum() - n_wrong * (n_wrong + 1) / 2) / (n_wrong * n_right))


#: Below this confidence a frame is doubtful: the editor marks it and "next doubt" visits it.
#: (Shipped model, MIR-1K validation: 0.35 flags about a third of the frames, which hold most of
#: the wrong ones.)
DOUBT_THRESHOLD = 0.35
#: Doubtful stretches shorter than this (s) are not worth a visit; gaps as short join stretches.
MIN_DOUBT_SECONDS = 0.1


def doubtful_stretches(times: np.ndarray, confidence: np.ndarray, *,
                       threshold: float = DOUBT_THRESHOLD,
                       min_seconds: float = MIN_DOUBT_SECONDS) -> list[tuple[float, float]]:
    """Stretches of low confidence, longest first.

    times, confidence : (n_frames,) s and 0..1. Stretches closer than ``min_seconds`` are joined;
    shorter ones are left out. Returns (start, stop) in seconds.
    """
    times = np.asarray(times, dtype=np.float64)
    low = np.asarray(confidence) < threshold
    if len(times) < 2 or not low.any():
        return []
    hop = float(times[1] - times[0])
    joined = pitch.true_runs(low, min_seconds / hop)
    stretches = [(float(times[a]), float(times[b - 1]) + hop) for a, b in joined
                 if (b - a) * hop >= min_seconds]
    return sorted(stretches, key=lambda s: (s[0] - s[1], s[0]))
