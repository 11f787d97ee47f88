"""Train the two cross-validation models of the produced excerpts (the default recipe, one per
half), so that every produced figure can be scored on excerpts the model never heard.

    .venv/bin/python scripts/produced_folds.py [--data ../shared/data/pro-excerpts] [--out runs]

Fold A holds Falcon 69, Dark Ride, Leaf "Come Around", Patrick Talbot, Traffic Experiment and
Young Griffo; fold B the other five (the folds of the model cards). The folders ``OUT/folds/A``
and ``OUT/folds/B`` link to the excerpts; ``OUT/cvA_sdr`` is trained on fold A (and validated on
B), ``OUT/cvB_sdr`` on fold B, side by side with one thread each: about 22 minutes on a 2-core
CPU. The command is the model card's (`resources/models/isolde-f0-svs-sdr.md`). Then, e.g.:

    isolde evaluate --dataset produced:runs/folds/B --model runs/cvA_sdr/last.safetensors
    isolde simulate --dataset produced:runs/folds/A --model runs/cvB_sdr/last.safetensors ...
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLD_A = ("Falcon_69", "Dark_Ride", "Come_Around", "Patrick_Talbot", "Traffic_Experiment",
          "Young_Griffo")
RECIPE = ["--source", "mir1k:{mir1k}", "--source", "synthetic:80", "--produced-share", "0.25",
          "--steps", "1600", "--learning-rate", "0.0002", "--final-learning-rate", "2e-05",
          "--voicing-weight", "1.0", "--vad-weight", "1.0",
          "--init-from", str(ROOT / "resources/models/isolde-f0-svs-vad.safetensors"),
          "--vocal-gain-min-db", "-9.0", "--vocal-gain-max-db", "3.0",
          "--vocal-chain-probability", "0.5", "--accompaniment-bus-probability", "0.5",
          "--pitch-shift-probability", "0.3", "--validate-every", "800", "--sdr-weight", "0.1"]


def make_folds(data: Path, out: Path) -> dict[str, Path]:
    """Link each excerpt folder of ``data`` into ``out/folds/A`` or ``out/folds/B``."""
    excerpts = sorted(p for p in data.iterdir() if (p / "mix.flac").exists())
    if not excerpts:
        sys.exit(f"produced_folds: no excerpts (folders with mix.flac) in {data}")
    folds = {name: out / "folds" / name for name in "AB"}
    for folder in folds.values():
        folder.mkdir(parents=True, exist_ok=True)
    for excerpt in excerpts:
        fold = "A" if any(key in excerpt.name for key in FOLD_A) else "B"
        link = folds[fold] / excerpt.name
        if not link.exists():
            link.symlink_to(excerpt.resolve(), target_is_directory=True)
    return folds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/pro-excerpts")
    parser.add_argument("--mir1k", type=Path, default=ROOT.parent / "shared/data/mir1k")
    parser.add_argument("--out", type=Path, default=ROOT / "runs")
    args = parser.parse_args()
    folds = make_folds(args.data, args.out)
    isolde = Path(sys.executable).with_name("isolde")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    jobs = []
    for name, other in (("A", "B"), ("B", "A")):
        recipe = [a.format(mir1k=args.mir1k) for a in RECIPE]
        command = [str(isolde), "train", "--out", str(args.out / f"cv{name}_sdr"), *recipe,
                   "--source", f"produced-train:{folds[name]}",
                   "--source", f"produced:{folds[other]}"]
        log = open(args.out / f"cv{name}_sdr.log", "w")
        jobs.append((subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT), log))
        print(f"training cv{name}_sdr (log: {log.name})")
    failed = 0
    for job, log in jobs:
        failed |= job.wait() != 0
        log.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
