"""How a model's separation depends on the song's level: fast vocal SDR per clip at several gains.

    python benchmarks/level_sensitivity.py --dataset produced:PATH [--model FILE]
        [--gains -12,-6,0,6,12,18,24] [--raw]

``--raw`` feeds the network the magnitude as it is (no reference level), which shows the model's
own sensitivity; without it, separation normalises every song's level first (as Isolde does) and
the figures should not move with the gain. Prints one row per clip and the medians.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.audio import spectral  # noqa: E402
from core.separation.models.store import load_model  # noqa: E402
from core.training.evaluate import score_track  # noqa: E402
from core.training.sources import open_source  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--model", default=None)
    parser.add_argument("--gains", default="-12,-6,0,6,12,18,24")
    parser.add_argument("--raw", action="store_true")
    args = parser.parse_args()
    gains = [float(g) for g in args.gains.split(",")]
    if args.raw:
        # Separation looks the gain up on the module: make it a no-op for this process.
        spectral.level_gain = lambda magnitude, target_dbfs=None: 1.0
    train, valid = open_source(args.dataset)
    dataset = valid if valid is not None else train
    model = load_model(args.model)
    table = []
    for i in range(len(dataset)):
        track = dataset.load(i)
        row = []
        for g in gains:
            k = 10 ** (g / 20)
            scaled = replace(track, vocals=track.vocals * k, accompaniment=track.accompaniment * k)
            row.append(score_track(model, scaled, fast=True)["sdr"])
        table.append(row)
        print(f"{track.name[:36]:<36}" + "".join(f"{v:8.2f}" for v in row), flush=True)
    print(f"{'gain (dB)':<36}" + "".join(f"{g:8g}" for g in gains))
    print(f"{'median fast SDR (dB)':<36}" + "".join(f"{v:8.2f}" for v in np.median(table, axis=0)))


if __name__ == "__main__":
    main()
