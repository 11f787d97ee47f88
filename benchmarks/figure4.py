"""The paper's Figure 4 for Isolde's three configurations, from ``isolde simulate`` outputs.

    python benchmarks/figure4.py --out docs/figure4.png \\
        "MIR-1K:F0 -> SVS=sim/mir1k-f0_to_svs" "MIR-1K:SVS -> F0=sim/mir1k-svs_to_f0" ... \\
        "produced:F0 -> SVS=sim/produced-f0_to_svs" ...

Each argument is ``DATASET:MODEL=FOLDER``, FOLDER holding the ``simulation_summary.csv`` of
``isolde simulate --shares 0,25,50,75,100`` (Update DNN on, the first P % of each clip
corrected). Plots, per dataset, the median vocal SDR of the whole clip and of the uncorrected
rest, and the raw pitch accuracy, against the share corrected; prints the same as a Markdown table.
"""
from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path


def read_summary(folder: Path) -> dict[float, dict[str, float]]:
    """share (%) -> the adapted first-P% row of a simulation summary."""
    with open(folder / "simulation_summary.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle)
                if r.get("protocol", "first") == "first" and r["mode"] == "adapted"]
    return {float(r["share"]): {k: float(v) if v not in ("", "nan") else math.nan
                                for k, v in r.items() if k not in ("protocol", "mode")}
            for r in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="DATASET:MODEL=FOLDER")
    parser.add_argument("--out", default="figure4.png")
    args = parser.parse_args()
    results: dict[str, dict[str, dict]] = {}
    for spec in args.runs:
        label, _, folder = spec.partition("=")
        dataset, _, model = label.partition(":")
        results.setdefault(dataset, {})[model] = read_summary(Path(folder))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (("sdr", "vocal SDR, whole clip (dB)"), ("sdr_rest", "vocal SDR, uncorrected rest (dB)"),
              ("raw_pitch_accuracy", "raw pitch accuracy, whole clip"))
    fig, axes = plt.subplots(len(results), 3, figsize=(14, 3.6 * len(results)), squeeze=False)
    for row, (dataset, models) in enumerate(results.items()):
        print(f"\n{dataset}: median vocal SDR (dB), whole clip / uncorrected rest; raw pitch accuracy\n")
        shares = sorted({s for summary in models.values() for s in summary})
        print("| model | " + " | ".join(f"{s:g} %" for s in shares) + " |")
        print("|---|" + "---|" * len(shares))
        for model, summary in models.items():
            cells = []
            for s in shares:
                r = summary.get(s, {})
                cells.append(f"{r.get('sdr', math.nan):.2f} / {r.get('sdr_rest', math.nan):.2f}; "
                             f"{r.get('raw_pitch_accuracy', math.nan):.3f}")
            print(f"| {model} | " + " | ".join(cells) + " |")
            for col, (key, title) in enumerate(panels):
                x = [s for s in shares if s in summary]
                axes[row][col].plot(x, [summary[s].get(key, math.nan) for s in x], "o-",
                                    label=model)
                axes[row][col].set_title(f"{dataset}: {title}", fontsize=9)
                axes[row][col].set_xlabel("share of the F0 corrected (%)")
                axes[row][col].grid(alpha=0.3)
                axes[row][col].legend(fontsize=7)
    fig.tight_layout()
    out = Path(args.out)
    tmp = out.with_name(f".{out.stem}.tmp.png")
    fig.savefig(tmp, dpi=90)
    tmp.replace(out)
    print(f"\nWrote {out}")


if __name__ == "__main__":
    main()
