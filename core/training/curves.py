"""A training run's ``curves.png``: loss and validation curves drawn from its ``log.csv``."""
from __future__ import annotations

import csv
import os
from pathlib import Path


def plot_curves(log_file: Path, png: Path) -> None:
    """Loss and validation curves from the CSV log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(log_file, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return
    steps = [int(r["step"]) for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for key in ("loss_total", "loss_svs", "loss_f0", "loss_voicing", "loss_vad"):
        if key in rows[0]:
            axes[0].plot(steps, [float(r[key] or "nan") for r in rows], label=key)
    axes[0].set_yscale("log")
    axes[0].set_title("training loss")
    per_source = [k for k in rows[0] if k.startswith("val_") and k.endswith("_sdr")
                  and k not in ("val_sdr", "val_si_sdr")]
    for key in per_source or (["val_sdr"] if "val_sdr" in rows[0] else []):
        axes[1].plot(steps, [float(r[key] or "nan") for r in rows], label=key[4:-4] or "all")
    axes[1].set_title("validation vocal SDR (dB)")
    if per_source:
        axes[1].legend(fontsize=7)
    for key in ("val_raw_pitch_accuracy", "val_overall_accuracy", "val_voicing_false_alarm"):
        if key in rows[0]:
            axes[2].plot(steps, [float(r[key] or "nan") for r in rows], label=key[4:])
    axes[2].set_title("validation melody")
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    tmp = png.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, png)
