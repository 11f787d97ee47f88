"""How close the magnetic pen brings a rough stroke to the true F0 (printed, never asserted).

    .venv/bin/python benchmarks/magnet_accuracy.py [--mir1k ../shared/data/mir1k]
        [--produced ../shared/data/pro-excerpts] [--clips 12]

Every voiced frame of each clip's reference F0 is "drawn" up to 70 cents off (uniformly at
random, seed 0) and snapped by :func:`core.f0_edits.snap_to_ridge` to the harmonic sum of the
editor's background picture, for several harmonic counts and weights, and to the network's own
F0 saliency. Printed: the median absolute error in cents and the share of frames within 25 and
50 cents, against the same figures as drawn.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.audio import spectral  # noqa: E402
from core.audio.io import resample  # noqa: E402
from core.document import f0_edits  # noqa: E402
from core.document.background import spectrogram_on_f0_grid  # noqa: E402
from core.progress import run  # noqa: E402

SETTINGS = [(3, 0.8), (5, 0.8), (8, 1.0), (1, 1.0)]


def clips(args):
    from core.training.data.mir1k import MIR1KDataset
    from core.training.data.produced import ProducedExcerpts

    if args.mir1k:
        dataset = MIR1KDataset(args.mir1k)
        for i in range(0, len(dataset), max(1, len(dataset) // args.clips)):
            yield dataset.load(i)
    if args.produced:
        dataset = ProducedExcerpts(args.produced)
        for i in range(len(dataset)):
            yield dataset.load(i)


def summary(errors: list[np.ndarray]) -> str:
    e = np.concatenate(errors)
    return f"median {np.median(e):5.1f} cents, within 25: {(e < 25).mean():.2f}, within 50: {(e < 50).mean():.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mir1k", default="../shared/data/mir1k")
    parser.add_argument("--produced", default="../shared/data/pro-excerpts")
    parser.add_argument("--clips", type=int, default=12, help="MIR-1K clips, spread evenly")
    args = parser.parse_args()
    from core.separation.model_files import load_checked_model
    from core.separation.separate import analyse_iter

    model = load_checked_model(None)
    rng = np.random.default_rng(0)
    errors = {name: [] for name in [*SETTINGS, "saliency", "as drawn"]}
    for track in clips(args):
        mono = resample((track.vocals + track.accompaniment)[None].astype(np.float32),
                        track.sample_rate, spectral.MODEL_SAMPLE_RATE)[0]
        picture = spectrogram_on_f0_grid(mono)
        saliency = run(analyse_iter(model, spectral.model_magnitude(mono))).f0_saliency
        times = spectral.frame_times(picture.shape[1])
        reference = np.interp(times, track.f0_times, track.f0_hz)
        voiced = (reference > 0) & (np.interp(times, track.f0_times,
                                              (track.f0_hz > 0).astype(float)) > 0.99)
        times, reference = times[voiced], reference[voiced]
        offset = rng.uniform(-70, 70, len(reference))
        drawn = reference * 2 ** (offset / 1200)
        errors["as drawn"].append(np.abs(offset))
        for harmonics, decay in SETTINGS:
            f0_edits.RIDGE_HARMONICS, f0_edits.RIDGE_DECAY = harmonics, decay
            snapped = f0_edits.snap_to_ridge(times, drawn, picture)
            errors[(harmonics, decay)].append(np.abs(1200 * np.log2(snapped / reference)))
        f0_edits.RIDGE_HARMONICS = 1
        snapped = f0_edits.snap_to_ridge(times, drawn, saliency)
        errors["saliency"].append(np.abs(1200 * np.log2(snapped / reference)))
    for name, values in errors.items():
        label = f"{name[0]} harmonics x {name[1]}" if isinstance(name, tuple) else name
        print(f"{label:>20}: {summary(values)}")


if __name__ == "__main__":
    main()
