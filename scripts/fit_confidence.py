"""Fit the per-frame confidence's logistic regression (``core/separation/confidence.py``).

    python scripts/fit_confidence.py --train mir1k:../shared/data/mir1k --clips 120 \\
        --check mir1k:../shared/data/mir1k --check produced:../shared/data/pro-excerpts

Runs the model over clips of the training split of ``--train`` (spread over it), computes
:func:`core.separation.confidence.confidence_features` and the wrong frames (more than 50 cents
off the reference, or wrongly voiced), fits a logistic regression (scikit-learn, which librosa
already brings) on the standardised features and prints the ``Regression`` to paste into
``confidence.py`` (``MEASURED_PITCH``: the F0 with its pitch measured on the separated vocal, as
Isolde shows it; with ``--network-pitch``, ``NETWORK_PITCH``: the network's own contour); then
the median per-clip ROC AUC on the validation split of each ``--check`` set, with the fitted and
with the current weights.

``--produced-crops N`` adds N crops of the same training clips made to sound produced
(:class:`core.training.sources.CropSampler` with every voice through the vocal chain, every
accompaniment through the bus chain, voices remixed over other clips' accompaniment at -9 to +3
dB), so that the regression also sees the outputs the model gives on produced-sounding music.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.audio import spectral  # noqa: E402
from core.music import pitch  # noqa: E402
from core.progress import run  # noqa: E402
from core.separation import confidence  # noqa: E402
from core.separation.model_files import load_checked_model  # noqa: E402
from core.separation.separate import analyse_iter, measure_pitch_iter  # noqa: E402
from core.training.sources import open_source, pool_track  # noqa: E402


#: Fit the regression for the network's own contour (``--network-pitch``) instead of the
#: pitch measured on the separated vocal.
NETWORK_PITCH = False


def clip_frames(model, track) -> tuple[np.ndarray, np.ndarray]:
    """(features (n, 16 or 19), wrong (n,)) over the frames the reference covers."""
    pooled = pool_track(track)
    return frames_of(model, pooled.vocals + pooled.accompaniment, (track.f0_times, track.f0_hz))


def frames_of(model, mixture: np.ndarray, times_f0: tuple[np.ndarray, np.ndarray] | None = None,
              reference_frames: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(features, wrong) of one mixture at the model rate against a reference F0, given either
    as (times, Hz) or per model frame."""
    magnitude = spectral.model_magnitude(torch.from_numpy(mixture))
    analysis = run(analyse_iter(model, magnitude))
    if not NETWORK_PITCH:
        run(measure_pitch_iter(analysis, np.asarray(mixture, dtype=np.float32)))
    f0, periodicity = analysis.f0_hz(), analysis.vocal_periodicity
    times = analysis.frame_times
    if reference_frames is not None:
        n = min(len(reference_frames), len(f0))
        reference, f0, inside = reference_frames[:n], f0[:n], np.ones(n, dtype=bool)
        features = confidence.confidence_features(
            analysis.f0_saliency[:, :n], f0, analysis.vocal_mask[:, :n],
            None if periodicity is None else periodicity[:n])
    else:
        reference = pitch.interpolate_f0(*times_f0, times)
        inside = times <= times_f0[0][-1]
        features = confidence.confidence_features(analysis.f0_saliency, f0, analysis.vocal_mask,
                                                  periodicity)
    return features[inside], confidence.wrong_frames(reference, f0)[inside]


def produced_crops(model, dataset, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` produced-sounding crops of ``dataset``'s clips (see the module docstring)."""
    from core.training.sources import CropSampler
    from core.training.train import TrainConfig

    config = TrainConfig(batch_size=1, crop_frames=300, vocal_chain_probability=1.0,
                         accompaniment_bus_probability=1.0, vocal_gain_min_db=-9.0,
                         vocal_gain_max_db=3.0, silence_probability=0.0, level_jitter_db=0.0)
    pool = [pool_track(dataset.load(i)) for i in range(len(dataset))]
    sampler = CropSampler(pool, config, torch.Generator().manual_seed(5))
    rows = []
    for _ in range(n):
        mixture, _, f0 = sampler.batch()
        rows.append(frames_of(model, mixture[0].numpy(), reference_frames=f0[0].numpy()))
    return rows


def collect(model, dataset, clips: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    n = len(dataset)
    picks = range(n) if clips is None or clips >= n else np.linspace(0, n - 1, clips).astype(int)
    return [clip_frames(model, dataset.load(int(i))) for i in picks]


def median_auc(per_clip, predict) -> float:
    return float(np.nanmedian([confidence.error_auc(predict(x), y) for x, y in per_clip]))


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True)
    parser.add_argument("--clips", type=int, default=120)
    parser.add_argument("--check", action="append", default=[])
    parser.add_argument("--model", default=None)
    parser.add_argument("--produced-crops", type=int, default=0,
                        help="produced-sounding crops of the training clips added to the fit")
    parser.add_argument("--network-pitch", action="store_true",
                        help="fit confidence.NETWORK_PITCH (the network's own contour) instead "
                             "of confidence.MEASURED_PITCH")
    args = parser.parse_args()
    global NETWORK_PITCH
    NETWORK_PITCH = args.network_pitch
    shipped = confidence.NETWORK_PITCH if NETWORK_PITCH else confidence.MEASURED_PITCH
    model = load_checked_model(args.model)
    train_set, _ = open_source(args.train)
    frames = collect(model, train_set, args.clips)
    if args.produced_crops:
        frames += produced_crops(model, train_set, args.produced_crops)
    x = np.concatenate([f for f, _ in frames])
    y = np.concatenate([w for _, w in frames])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    fit = LogisticRegression(max_iter=3000, C=1.0).fit((x - mean) / scale, y)
    print(f"# {len(y)} frames of {len(frames)} clips, {100 * y.mean():.1f} % wrong")
    print(f"Regression(mean=np.array({np.round(mean, 6).tolist()}),")
    print(f"           scale=np.array({np.round(scale, 6).tolist()}),")
    print(f"           weights=np.array({np.round(fit.coef_[0], 6).tolist()}),")
    print(f"           intercept={float(np.round(fit.intercept_[0], 6))})")

    def fitted(features):
        return 1.0 - fit.predict_proba((features - mean) / scale)[:, 1]

    def current(features):
        if features.shape[1] != len(shipped.weights):  # a new feature set: nothing to compare
            return np.full(len(features), np.nan)
        return shipped.confidence(features)

    for spec in args.check:
        _, valid = open_source(spec)
        per_clip = collect(model, valid, None)
        print(f"# {spec}: {len(per_clip)} clips, median AUC fitted {median_auc(per_clip, fitted):.3f}, "
              f"current {median_auc(per_clip, current):.3f}")


if __name__ == "__main__":
    main()
