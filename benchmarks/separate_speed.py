"""Speed and memory of ``isolde separate`` (printed figures, never asserted).

    .venv/bin/python benchmarks/separate_speed.py [--minutes 4] [--long-minutes 60] [--model FILE]
                                                  [--device cpu|cuda]

Generates a song (a harmonic voice gliding over bass, chords and drums; stereo, 44.1 kHz, 16-bit
WAV), runs the real command in a child process and reports its wall time, the real-time factor
(seconds of work per second of audio) and its peak resident memory (the child's ru_maxrss);
with ``--device cuda`` also the peak GPU memory PyTorch allocated in the child.
Targets on the 2-core reference CPU: RTF <= 0.1 and peak < 2 GB for 4 minutes; a 60-minute input
must finish without running out of memory.
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]


def write_song(path: Path, minutes: float, rate: int = 44100, seed: int = 0) -> None:
    """Write a long test song block by block (constant memory, whatever the length)."""
    rng = np.random.default_rng(seed)
    block_seconds = 10.0
    n_blocks = int(np.ceil(minutes * 60 / block_seconds))
    scale = 220.0 * 2 ** (np.array([0, 2, 3, 5, 7, 8, 10, 12]) / 12)
    phase = 0.0
    with sf.SoundFile(path, "w", samplerate=rate, channels=2, subtype="PCM_16") as out:
        for b in range(n_blocks):
            n = int(block_seconds * rate)
            t = (np.arange(n) + b * n) / rate
            notes = scale[rng.integers(0, len(scale), 20)]
            f0 = np.repeat(notes, n // 20 + 1)[:n] * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))
            ph = phase + 2 * np.pi * np.cumsum(f0) / rate
            phase = float(ph[-1])
            voice = 0.2 * sum(np.sin(h * ph) / h ** 1.2 for h in range(1, 16))
            voice *= (t % 2.0) < 1.7
            bass = 0.15 * np.sin(2 * np.pi * 55 * 2 ** (np.floor(t / 2) % 3 / 12) * t)
            chord = 0.05 * sum(np.sign(np.sin(2 * np.pi * f * t)) for f in (261.6, 329.6, 392.0))
            drums = np.zeros(n)
            for beat in np.arange(0, block_seconds, 0.5):
                i = int(beat * rate)
                burst = rng.standard_normal(min(2000, n - i)) * np.exp(-np.arange(min(2000, n - i)) / 300)
                drums[i:i + len(burst)] += 0.3 * burst
            left = voice + bass + chord + drums
            right = 0.9 * voice + bass + 1.1 * chord + drums
            out.write((np.stack([left, right], axis=1) * 0.6).astype(np.float32))


#: The child: the real ``isolde separate`` command line, then the peak GPU memory it allocated.
_CHILD = ("import sys, torch\n"
          "from core.cli import main\n"
          "code = main(sys.argv[1:])\n"
          "if torch.cuda.is_available():\n"
          "    print('gpu-peak-bytes', torch.cuda.max_memory_allocated())\n"
          "sys.exit(code)\n")


def run_separate(song: Path, outdir: Path, model: str | None,
                 device: str = "cpu") -> tuple[float, float, float]:
    """(wall seconds, peak RSS in MB, peak GPU memory in MB or 0) of one ``isolde separate``
    child process."""
    cmd = [sys.executable, "-c", _CHILD, "separate", str(song), "-o", str(outdir),
           "--device", device]
    if model:
        cmd += ["--model", model]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(cmd, check=True, cwd=ROOT, stderr=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak_kb < before:  # ru_maxrss is the largest child so far; runs go small to large
        peak_kb = before
    gpu_bytes = [float(line.split()[1]) for line in done.stdout.splitlines()
                 if line.startswith("gpu-peak-bytes ")]
    return wall, peak_kb / 1024, (gpu_bytes[-1] / 2 ** 20 if gpu_bytes else 0.0)


def _gpu_text(megabytes: float) -> str:
    return f", peak GPU memory {megabytes:.0f} MB" if megabytes else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--long-minutes", type=float, default=60.0,
                        help="length of the memory test (0 to skip)")
    parser.add_argument("--model", default=None)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        song = tmp / "song.wav"
        if args.minutes > 0:
            write_song(song, args.minutes)
            wall, peak, gpu = run_separate(song, tmp / "out", args.model, args.device)
            seconds = args.minutes * 60
            print(f"{args.minutes:g}-minute song, {args.device}: {wall:.1f} s wall, real-time "
                  f"factor {wall / seconds:.3f} (target <= 0.1), peak memory {peak:.0f} MB "
                  f"(target < 2048){_gpu_text(gpu)}", flush=True)
            song.unlink()
        if args.long_minutes > 0:
            write_song(song, args.long_minutes, seed=1)
            wall, peak, gpu = run_separate(song, tmp / "out_long", args.model, args.device)
            print(f"{args.long_minutes:g}-minute input, {args.device}: {wall:.0f} s wall, "
                  f"real-time factor {wall / (args.long_minutes * 60):.3f}, peak memory "
                  f"{peak:.0f} MB{_gpu_text(gpu)}", flush=True)


if __name__ == "__main__":
    main()
