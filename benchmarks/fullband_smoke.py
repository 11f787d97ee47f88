"""Full-band smoke check on a professionally mixed excerpt (printed figures, never asserted).

    .venv/bin/python benchmarks/fullband_smoke.py [--folder ../shared/data/musdb-sample] [--model FILE]

Runs ``isolde separate`` on ``mixture.flac`` of a folder holding ``mixture``, ``vocals`` and
``accompaniment`` stems, then prints the vocal SDR (BSS Eval v3, first channel), SI-SDR, the
mixture's own scores for reference, and the energy above 8 kHz in the separated vocal (the
model's band stops at 8 kHz; see README, "How the full band is handled"). One excerpt proves
little about quality: use it to catch breakage on 44.1 kHz stereo material.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.training.metrics import bss_sdr, si_sdr  # noqa: E402


def band_energy_ratio(x: np.ndarray, rate: int, above_hz: float = 8000.0) -> float:
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    return float(spectrum[freqs >= above_hz].sum() / max(spectrum.sum(), 1e-12))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default=str(ROOT.parent / "shared/data/musdb-sample"))
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    folder = Path(args.folder)
    vocals, rate = sf.read(folder / "vocals.flac", always_2d=True)
    accompaniment, _ = sf.read(folder / "accompaniment.flac", always_2d=True)
    mixture, _ = sf.read(folder / "mixture.flac", always_2d=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "core.cli", "separate", str(folder / "mixture.flac"),
               "-o", tmp, "--device", "cpu"]
        if args.model:
            cmd += ["--model", args.model]
        subprocess.run(cmd, check=True, cwd=ROOT, stderr=subprocess.DEVNULL)
        est_v, est_rate = sf.read(Path(tmp) / "vocals.wav", always_2d=True)
        est_a, _ = sf.read(Path(tmp) / "accompaniment.wav", always_2d=True)
    assert est_rate == rate and est_v.shape == mixture.shape
    ch = 0
    print(f"vocal SDR (BSS Eval v3): {bss_sdr(vocals[:, ch], accompaniment[:, ch], est_v[:, ch], est_a[:, ch]):.2f} dB"
          f"  (mixture as estimate: {bss_sdr(vocals[:, ch], accompaniment[:, ch], mixture[:, ch] / 2, mixture[:, ch] / 2):.2f} dB)")
    print(f"vocal SI-SDR: {si_sdr(vocals[:, ch], est_v[:, ch]):.2f} dB"
          f"  (mixture: {si_sdr(vocals[:, ch], mixture[:, ch]):.2f} dB)")
    print(f"energy above 8 kHz: reference vocal {100 * band_energy_ratio(vocals[:, ch], rate):.2f} %, "
          f"separated vocal {100 * band_energy_ratio(est_v[:, ch], rate):.2f} %, "
          f"mixture {100 * band_energy_ratio(mixture[:, ch], rate):.2f} %")


if __name__ == "__main__":
    main()
