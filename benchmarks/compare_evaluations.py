"""Paired per-clip comparison of two ``isolde evaluate`` CSVs (same dataset, two models).

    python benchmarks/compare_evaluations.py BASE.csv NEW.csv [--metric sdr] [--metric ...]

For each metric: the medians of both, and the per-clip differences NEW - BASE (mean, median,
how many clips went up and down). Per-clip pairs are steadier than a difference of medians.
"""
from __future__ import annotations

import argparse
import csv

import numpy as np


def read(path: str) -> dict[str, dict[str, float]]:
    with open(path, newline="") as handle:
        return {r["clip"]: {k: float(v) for k, v in r.items() if k != "clip" and v != ""}
                for r in csv.DictReader(handle) if r["clip"] != "median"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("new")
    parser.add_argument("--metric", action="append", default=None)
    args = parser.parse_args()
    base, new = read(args.base), read(args.new)
    clips = sorted(set(base) & set(new))
    metrics = args.metric or ["sdr", "raw_pitch_accuracy", "overall_accuracy", "confidence_auc"]
    print(f"{len(clips)} clips in both")
    print(f"{'metric':<22}{'base med':>10}{'new med':>10}{'diff mean':>11}{'diff med':>10}"
          f"{'up':>5}{'down':>6}")
    for m in metrics:
        pairs = [(base[c][m], new[c][m]) for c in clips if m in base[c] and m in new[c]]
        pairs = [(b, n) for b, n in pairs if np.isfinite(b) and np.isfinite(n)]
        if not pairs:
            continue
        b, n = np.array(pairs).T
        d = n - b
        print(f"{m:<22}{np.median(b):>10.3f}{np.median(n):>10.3f}{d.mean():>11.3f}"
              f"{np.median(d):>10.3f}{int((d > 0).sum()):>5}{int((d < 0).sum()):>6}")


if __name__ == "__main__":
    main()
