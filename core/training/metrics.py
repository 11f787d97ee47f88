"""Quality measures: vocal SDR (BSS Eval v3 and fast variants) and mir_eval's melody metrics."""
from __future__ import annotations

import math

import numpy as np


def nan_median(values) -> float:
    """Median of ``values`` leaving out NaNs (a metric undefined on some clip); NaN when none is
    finite."""
    values = np.asarray(list(values), dtype=np.float64)
    return float(np.nanmedian(values)) if np.isfinite(values).any() else math.nan


MELODY_KEYS = ("raw_pitch_accuracy", "raw_chroma_accuracy", "overall_accuracy", "voicing_recall",
               "voicing_false_alarm")


def snr_sdr(reference: np.ndarray, estimate: np.ndarray, eps: float = 1e-9) -> float:
    """Plain signal-to-distortion ratio 10 log10(|s|^2 / |s - s_hat|^2) in dB (no filters)."""
    reference = np.asarray(reference, dtype=np.float64).ravel()
    estimate = np.asarray(estimate, dtype=np.float64).ravel()
    return float(10 * np.log10((np.sum(reference ** 2) + eps) / (np.sum((reference - estimate) ** 2) + eps)))


def si_sdr(reference: np.ndarray, estimate: np.ndarray, eps: float = 1e-9) -> float:
    """Scale-invariant SDR (Le Roux et al. 2019) in dB."""
    reference = np.asarray(reference, dtype=np.float64).ravel()
    estimate = np.asarray(estimate, dtype=np.float64).ravel()
    alpha = np.dot(estimate, reference) / (np.dot(reference, reference) + eps)
    target = alpha * reference
    return float(10 * np.log10((np.sum(target ** 2) + eps) / (np.sum((estimate - target) ** 2) + eps)))


def bss_sdr(vocals: np.ndarray, accompaniment: np.ndarray, est_vocals: np.ndarray,
            est_accompaniment: np.ndarray) -> float:
    """Vocal SDR by BSS Eval v3 (mir_eval, 512-tap distortion filters), in dB.

    All inputs mono, shape (n_samples,). Both sources are passed, as in the usual two-source
    evaluation; the vocal's SDR is returned. NaN when an estimate is silent (e.g. nothing voiced
    in a reference melody a method was given): BSS Eval is undefined there.
    """
    import warnings

    import mir_eval

    reference = np.stack([vocals, accompaniment]).astype(np.float64)
    estimate = np.stack([est_vocals, est_accompaniment]).astype(np.float64)
    if not (np.any(estimate[0]) and np.any(estimate[1])):
        return float("nan")
    with warnings.catch_warnings():
        # mir_eval 0.8 marks bss_eval_sources deprecated; it is still the BSS Eval v3 reference.
        warnings.simplefilter("ignore", FutureWarning)
        sdr, _sir, _sar, _perm = mir_eval.separation.bss_eval_sources(
            reference, estimate, compute_permutation=False)
    return float(sdr[0])


def melody_metrics(ref_times: np.ndarray, ref_f0: np.ndarray, est_times: np.ndarray,
                   est_f0: np.ndarray, *, keep: np.ndarray | None = None) -> dict[str, float]:
    """mir_eval melody metrics (raw pitch/chroma accuracy, overall accuracy, voicing recall and
    false alarm). Frequencies in Hz, 0 = unvoiced; the estimate is resampled onto the reference's
    frames (mir_eval's default).

    keep : optional bool (len(ref_times),): score only these reference frames (e.g. the part of a
        song nobody corrected); the estimate is still resampled over the whole song first, so a
        gap never gets interpolated across.

    Where no scored reference frame is voiced, the raw pitch and chroma accuracies and the
    voicing recall are NaN (mir_eval would give 0, 0 and 1): there is no pitch to judge, and a
    0 would pull a median down (one produced excerpt, whose pYIN reference is unvoiced
    throughout, did: 0.727 instead of 0.741 cross-validated). Overall accuracy and false alarms
    still judge the voicing.
    """
    import warnings

    import mir_eval.melody as melody

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_v, ref_c, est_v, est_c = melody.to_cent_voicing(
            np.asarray(ref_times, float), np.asarray(ref_f0, float),
            np.asarray(est_times, float), np.asarray(est_f0, float))
        if keep is not None:
            keep = np.asarray(keep, dtype=bool)
            # mir_eval puts a frame at t = 0 in front of a reference that starts later.
            extra = len(ref_v) - len(keep)
            if extra > 0:
                keep = np.concatenate([np.full(extra, keep[0] if keep.size else True), keep])
            keep = keep[:len(ref_v)]
            ref_v, ref_c, est_v, est_c = ref_v[keep], ref_c[keep], est_v[keep], est_c[keep]
        recall, false_alarm = melody.voicing_measures(ref_v, est_v)
        scores = {
            "raw_pitch_accuracy": float(melody.raw_pitch_accuracy(ref_v, ref_c, est_v, est_c)),
            "raw_chroma_accuracy": float(melody.raw_chroma_accuracy(ref_v, ref_c, est_v, est_c)),
            "overall_accuracy": float(melody.overall_accuracy(ref_v, ref_c, est_v, est_c)),
            "voicing_recall": float(recall),
            "voicing_false_alarm": float(false_alarm),
        }
    if not np.any(ref_v > 0):
        for key in ("raw_pitch_accuracy", "raw_chroma_accuracy", "voicing_recall"):
            scores[key] = math.nan
    return scores
