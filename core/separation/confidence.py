"""How sure the network is of each frame's F0 and voicing, 0..1, for showing where to correct.

The confidence is a logistic regression over 16 per-frame features of the two networks' outputs
(:func:`confidence_features`): how far the saliency peak is from the 0.1 voicing threshold (and
its 9-frame mean), the peak's height, the saliency's entropy, how strong the strongest other
ridge (more than a semitone away) and the octaves are against the chosen F0, the pitch jump to
the neighbouring frames, the distance to the nearest voicing change, the length of the voiced
run, whether the frame is voiced, and the vocal mask's mean over all bins and below 4 kHz (each
also signed by the voicing: a frame called unvoiced whose mask holds a voice is a likely miss);
with the pitch measured on the separated vocal, three more: how clearly that vocal repeats at
the pitch (and signed) and at any period. Two regressions, fitted by
``scripts/fit_confidence.py`` on 120 MIR-1K training clips against the frames whose F0 is
wrong (more than 50 cents off the reference, or wrongly voiced): one for
the trajectory Isolde shows, whose pitch is measured on the separated vocal
(:data:`MEASURED_PITCH`, with ``isolde-f0-svs-sdr``), and one for the network's own contour
(:data:`NETWORK_PITCH`, with ``isolde-f0-svs-sdr``), which also picks the frames the network is
sure hold no voice for the exemplars, so that the separation does not move with the first.
Weights fitted on one model's outputs serve another less well (``isolde-f0-svs-vad`` with the
weights fitted on ``isolde-f0-svs``: 0.854 / 0.773 instead of 0.883 / 0.792); refit them for a
new default.

Measured (ROC AUC of low confidence against wrong frames, median per clip), the default model:
the shown trajectory with :data:`MEASURED_PITCH` (the :data:`PERIODICITY_FEATURES` included) on
the 133 MIR-1K validation clips 0.902 and the produced dev set 0.799 cross-validated (each
excerpt through the fold model that never heard it; the regression saw only MIR-1K; each refit
and what it changed: ``docs/research-notes.md``, "Per-frame confidence"); without
the periodicity features, refitted, 0.888 and 0.775; the network's contour with
:data:`NETWORK_PITCH` 0.885 and 0.766. The periodicity of the separated vocal is the first
feature that speaks of the vocal itself rather than of the networks' outputs.
With ``isolde-f0-svs`` the earlier hand-made product of the voicing margin and the second ridge
scored 0.860 and 0.703. What holds the produced figure down is the frames where pYIN hears a
voice too quiet to hear in the mix and the network, surest there, does not (research notes,
"Per-frame confidence"); the dev set chose the 16 features among six sets and the periodicity
features among four, so its figures are a little optimistic.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..music import pitch

#: Ridges within this many bins (one semitone) of the chosen F0 are the same ridge.
SAME_RIDGE_BINS = 5
#: Frames per block in the whole-map computations (bins x frames temporaries stay small).
_BLOCK = 4096
#: The frames over which the voicing margin is averaged.
MARGIN_SMOOTHING_FRAMES = 9
#: Distances to the nearest voicing change are counted up to this (frames).
MAX_DISTANCE_FRAMES = 50
#: Mask bins below this count as the "low" band (4 kHz at 15.6 Hz a bin).
LOW_BAND_BINS = 256

FEATURES = ("margin", "log_margin", "ridge_clearance", "second_ridge", "octave", "peak", "entropy",
            "jump", "distance_to_voicing_change", "margin_smoothed", "voiced", "run_length",
            "mask_mean", "mask_mean_signed", "mask_low", "mask_low_signed")
#: With the pitch measured on the separated vocal, how clearly that vocal repeats at the
#: measured pitch (also signed by the voicing: a clear period on a frame called unvoiced is a
#: likely miss) and at any period (:func:`core.music.vocal_pitch.yin_contour`).
PERIODICITY_FEATURES = ("periodicity", "periodicity_any", "periodicity_signed")


def _logit(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 1e-4, 1 - 1e-4)
    return np.log(x / (1 - x))


def _distance_to_change(voiced: np.ndarray) -> np.ndarray:
    """Frames to the nearest voicing change (either side), capped at MAX_DISTANCE_FRAMES."""
    n = len(voiced)
    change = np.zeros(n, dtype=bool)
    change[1:] = voiced[1:] != voiced[:-1]
    change[:-1] |= change[1:]
    index = np.arange(n)
    last = np.maximum.accumulate(np.where(change, index, -10 ** 9))
    following = np.minimum.accumulate(np.where(change, index, 10 ** 9)[::-1])[::-1]
    distance = np.minimum(index - last, following - index)
    return np.minimum(distance, MAX_DISTANCE_FRAMES).astype(np.float64)


def _smoothed(values: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``np.convolve(values, kernel, mode="same")``, also for fewer values than the kernel has
    (a song shorter than the kernel's 9 frames, 0.14 s), where "same" returns the kernel's
    length instead."""
    half = len(kernel) // 2
    return np.convolve(np.pad(values, (half, len(kernel) - 1 - half)), kernel, mode="valid")


def confidence_features(saliency: np.ndarray, f0_hz: np.ndarray,
                        vocal_mask: np.ndarray,
                        periodicity: np.ndarray | None = None) -> np.ndarray:
    """The :data:`FEATURES` of each frame, float64 (n_frames, 16), and with ``periodicity``
    ((n_frames, 2), :attr:`core.separation.separate.ModelAnalysis.vocal_periodicity`) the
    :data:`PERIODICITY_FEATURES` after them (n_frames, 19).

    saliency : (N_F0_BINS, n_frames) in [0, 1]; f0_hz : (n_frames,) the decoded trajectory (Hz,
    0 = unvoiced); vocal_mask : (N_BINS, n_frames) in [0, 1].
    """
    n_bins, n_frames = saliency.shape
    voiced = f0_hz > 0
    extra = () if periodicity is None else PERIODICITY_FEATURES
    out = np.zeros((n_frames, len(FEATURES) + len(extra)))
    if n_frames == 0:
        return out
    peak = saliency.max(axis=0).astype(np.float64)
    margin = np.abs(_logit(peak) - _logit(np.float64(pitch.VOICING_THRESHOLD)))
    chosen_bin = np.where(voiced, pitch.hz_to_f0_bin(np.where(voiced, f0_hz, 1.0)),
                          pitch.column_argmax(saliency, _BLOCK))
    chosen_bin = np.clip(np.round(np.nan_to_num(chosen_bin)).astype(np.int64), 0, n_bins - 1)
    columns = np.arange(n_frames)
    chosen = np.maximum(saliency[chosen_bin, columns].astype(np.float64), 1e-4)
    second = np.empty(n_frames)
    entropy = np.empty(n_frames)
    grid = np.arange(n_bins)[:, None]
    for a in range(0, n_frames, _BLOCK):
        b = min(a + _BLOCK, n_frames)
        block = saliency[:, a:b]
        far = np.abs(grid - chosen_bin[None, a:b]) > SAME_RIDGE_BINS
        second[a:b] = np.where(far, block, 0.0).max(axis=0)
        share = block / np.maximum(block.sum(axis=0, keepdims=True), 1e-6)
        entropy[a:b] = -(share * np.log(np.maximum(share, 1e-9))).sum(axis=0) / np.log(n_bins)
    octave_bins = 12 * pitch.BINS_PER_SEMITONE
    above = saliency[np.clip(chosen_bin + octave_bins, 0, n_bins - 1), columns]
    below = saliency[np.clip(chosen_bin - octave_bins, 0, n_bins - 1), columns]
    ratio = second / chosen
    jump = np.zeros(n_frames)
    both = voiced[1:] & voiced[:-1]
    step = np.zeros(n_frames - 1)
    step[both] = 1200.0 * np.abs(np.log2(f0_hz[1:][both] / f0_hz[:-1][both]))
    jump[1:] = step
    jump[:-1] = np.maximum(jump[:-1], step)
    run_length = np.zeros(n_frames)
    for a, b in pitch.true_runs(voiced):
        run_length[a:b] = b - a
    kernel = np.ones(MARGIN_SMOOTHING_FRAMES) / MARGIN_SMOOTHING_FRAMES
    sign = 1.0 - 2.0 * voiced
    mask_mean = vocal_mask.mean(axis=0).astype(np.float64)
    mask_low = vocal_mask[:LOW_BAND_BINS].mean(axis=0).astype(np.float64)
    columns_of_features = [
        margin, np.log(margin + 1e-3), np.sqrt(np.clip(1.0 - ratio, 0.0, 1.0)), ratio,
        np.maximum(above, below) / chosen, peak, entropy, np.log1p(jump),
        np.log1p(_distance_to_change(voiced)), _smoothed(margin, kernel),
        voiced.astype(np.float64), np.log1p(np.minimum(run_length, 10 ** 6)),
        mask_mean, mask_mean * sign, mask_low, mask_low * sign]
    if periodicity is not None:
        periodicity = np.asarray(periodicity, dtype=np.float64)
        columns_of_features += [periodicity[:, 0], periodicity[:, 1], periodicity[:, 0] * sign]
    for column, values in enumerate(columns_of_features):  # no stacked copy of the table
        out[:, column] = values
    return out


@dataclass(frozen=True)
class Regression:
    """Per feature (in :data:`FEATURES` order): mean and standard deviation of the training
    frames and the logistic regression's weight on the standardised feature; then its
    intercept. It predicts that the frame is wrong; the confidence is one minus that
    probability. Written by ``scripts/fit_confidence.py``."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    intercept: float

    def confidence(self, features: np.ndarray) -> np.ndarray:
        logits = ((features - self.mean) / self.scale) @ self.weights + self.intercept
        return (1.0 / (1.0 + np.exp(np.clip(logits, -50, 50)))).astype(np.float32)


#: Fitted on the errors of the network's own contour (``--network-pitch``), 120 MIR-1K
#: training clips with ``isolde-f0-svs-sdr``; it also decides the frames the network is sure
#: hold no voice (:func:`core.separation.exemplars.quiet_frames`). Refitted from the weights
#: fitted with ``isolde-f0-svs-vad``, an earlier default: its MIR-1K AUC 0.878 -> 0.885, and the
#: quiet frames it picks lift the separation (``isolde evaluate``, no correction, paired per
#: clip: MIR-1K +0.016 dB median, 99 up / 30 down; produced excerpts cross-validated +0.015 dB,
#: SI-SDR +0.023, 8 / 3 and 10 / 1; the MUSDB18 preview unchanged).
NETWORK_PITCH = Regression(
    mean=np.array([2.684657, 0.767741, 0.79993, 0.319681, 0.194738, 0.501866, 0.614384,
                   1.880266, 2.200767, 2.676179, 0.743551, 2.906517, 0.192177, -0.09108,
                   0.154286, -0.077769]),
    scale=np.array([1.268183, 0.85669, 0.226303, 0.352257, 0.339442, 0.338784, 0.112105,
                    1.487127, 1.112675, 1.090884, 0.436673, 1.824242, 0.160676, 0.233352,
                    0.111331, 0.17364]),
    weights=np.array([-1.450852, 0.239082, -0.203016, 0.201653, -0.016656, 0.245644, 0.43124,
                      0.011503, -0.066643, -0.600697, 1.638766, -0.291023, -0.216911,
                      -0.281545, 0.110352, 0.514795]),
    intercept=-2.53839)
#: Fitted on the errors of the trajectory Isolde shows, the pitch measured on the separated
#: vocal (:mod:`core.music.vocal_pitch`), with the :data:`PERIODICITY_FEATURES` after the others;
#: 120 MIR-1K training clips with ``isolde-f0-svs-sdr``, its vocal as the exemplars made it
#: before :data:`NETWORK_PITCH` was refitted (fitted again after that: MIR-1K AUC 0.900 against
#: 0.902 for these weights, so these stayed).
MEASURED_PITCH = Regression(
    mean=np.array([2.684657, 0.767741, 0.754199, 1.574396, 0.544069, 0.501866, 0.614384,
                   1.856279, 2.200767, 2.676179, 0.743551, 2.906517, 0.192177, -0.09108,
                   0.154286, -0.077769, 0.566895, 0.638241, -0.528997]),
    scale=np.array([1.268183, 0.85669, 0.284179, 37.50844, 15.51031, 0.338784, 0.112105,
                    1.403121, 1.112675, 1.090884, 0.436673, 1.824242, 0.160676, 0.233352,
                    0.111331, 0.17364, 0.381395, 0.425391, 0.432428]),
    weights=np.array([-1.197661, 0.239875, -0.172719, 0.041998, 0.609943, 0.283185, 0.286661,
                      -0.208496, 0.083788, -0.512298, 2.522244, -0.241448, -0.188468,
                      -0.164128, 0.039627, 0.693748, -0.557159, 0.583091, 1.449506]),
    intercept=-2.830698)


def f0_confidence(saliency: np.ndarray, f0_hz: np.ndarray | None = None,
                  vocal_mask: np.ndarray | None = None, *,
                  threshold: float = pitch.VOICING_THRESHOLD,
                  periodicity: np.ndarray | None = None) -> np.ndarray:
    """Per-frame confidence of the decoded F0.

    saliency : (N_F0_BINS, n_frames) in [0, 1]
    f0_hz : (n_frames,) the decoded trajectory (Hz, 0 = unvoiced); None: decode it here
    periodicity : (n_frames, 2) when ``f0_hz`` carries the pitch measured on the separated vocal
        (:attr:`core.separation.separate.ModelAnalysis.vocal_periodicity`): judged by
        :data:`MEASURED_PITCH`; None: the network's own contour, judged by :data:`NETWORK_PITCH`
    vocal_mask : (N_BINS, n_frames) the separation's mask; None: a mask of zeros (a model without
        one, or a caller without it; the confidence then leans on the saliency alone)
    returns : float32 (n_frames,) in [0, 1], low where the F0 or its voicing is likely wrong
    """
    saliency = np.asarray(saliency, dtype=np.float32)
    if f0_hz is None:
        f0_hz = pitch.saliency_to_f0(saliency, threshold=threshold)
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    if vocal_mask is None:
        vocal_mask = np.zeros((LOW_BAND_BINS, saliency.shape[1]), dtype=np.float32)
    features = confidence_features(saliency, f0_hz, np.asarray(vocal_mask), periodicity)
    return (NETWORK_PITCH if periodicity is None else MEASURED_PITCH).confidence(features)


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


#: Below this confidence a frame is doubtful: the editor marks it and "next doubt" visits it. The
#: confidence is the regression's probability that the frame is right, so 0.5 marks the frames it
#: holds more likely wrong than right. Measured with ``isolde-f0-svs`` and the regression fitted on
#: it: 14 % of MIR-1K validation frames flagged,
#: holding 53 % of the wrong ones (74 % of the flagged are wrong); produced dev set 29 % flagged,
#: 51 % of the wrong ones (precision 0.65).
DOUBT_THRESHOLD = 0.5
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
