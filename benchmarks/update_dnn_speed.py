"""Time of one "Update DNN" round trip in the editor (printed, never asserted).

    .venv/bin/python benchmarks/update_dnn_speed.py [--minutes 4] [--share 0.2] [--steps N]
                                                    [--threads N] [--model FILE] [--device cpu]
                                                    [--no-guard]

A generated song (stereo, 44.1 kHz) gets corrections over ``--share`` of its length (spans of
4 s, drawn from the song's true F0, every fourth one erased instead). The round trip is what the
editor does on "Update DNN": adapt the network (``core.separation.adapt.adapt_iter`` with
``DEFAULT_ADAPT_STEPS``) and re-separate the whole song with the corrections imposed and no beat
tracking (``core.separation.separate.separate_iter(..., with_beats=False, corrections=...)``),
both from the song's 16 kHz downmix, which the editor makes once when the song is opened.
Without ``--model`` the network is the shipped model's shape (``TrainConfig`` defaults: svs 12/192,
F0 12/96 channels) with random weights, which costs the same time as trained ones.
Targets for a 4-minute song: <= 20 s on the 2-core reference CPU, <= 2 s on a GPU
(``--device cuda``, which also prints the peak GPU memory PyTorch allocated). On a machine whose
cores are busy with other work, try ``--threads 1`` (or OMP_NUM_THREADS=1): OpenMP threads that
wait for a busy core make two threads several times slower than one there.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.audio.io import Audio  # noqa: E402
from core.progress import run  # noqa: E402
from core.separation.adapt import DEFAULT_ADAPT_STEPS, AdaptConfig, adapt_iter  # noqa: E402
from core.separation.corrections import Corrections  # noqa: E402
from core.separation.separate import model_input, pick_device, separate_iter  # noqa: E402

TARGET_SECONDS = 20.0
GPU_TARGET_SECONDS = 2.0
F0_HOP = 0.01


def make_song(minutes: float, rate: int = 44100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(stereo float32 (2, n), true vocal F0 per 10 ms frame in Hz, 0 = rest)."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * rate)
    t = np.arange(n) / rate
    # Melody: notes of 0.25-0.6 s from a minor scale around A3, rests between phrases.
    lengths = rng.uniform(0.25, 0.6, int(minutes * 60 / 0.25) + 2)
    edges = np.concatenate([[0.0], np.cumsum(lengths)])
    degrees = 220.0 * 2 ** (np.array([0, 2, 3, 5, 7, 8, 10, 12, 14]) / 12)
    pitches = degrees[rng.integers(0, len(degrees), len(lengths))]
    note = np.minimum(np.searchsorted(edges, t, side="right") - 1, len(lengths) - 1)
    f0 = pitches[note] * (1 + 0.012 * np.sin(2 * np.pi * 5.2 * t))
    voiced = (t % 6.0) < 5.0
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = 0.25 * voiced * sum(np.sin(h * phase) * np.exp(-h / 6) for h in range(1, 20))
    chord_root = 110.0 * 2 ** (np.array([0, 5, 7, 3]) / 12)[(t // 2).astype(int) % 4]
    chords = 0.04 * sum(np.sign(np.sin(2 * np.pi * chord_root * k * t)) for k in (2, 2.5, 3))
    bass = 0.15 * np.sin(2 * np.pi * chord_root / 2 * t)
    drums = np.zeros(n)
    for beat in np.arange(0, n / rate, 0.5):
        i = int(beat * rate)
        k = min(3000, n - i)
        drums[i:i + k] += 0.3 * rng.standard_normal(k) * np.exp(-np.arange(k) / 400)
    left = voice + chords + bass + drums
    right = 0.9 * voice + 1.1 * chords + bass + drums
    stereo = (0.5 * np.stack([left, right])).astype(np.float32)
    frames = np.arange(0, n / rate, F0_HOP)
    idx = np.minimum((frames * rate).astype(int), n - 1)
    return stereo, np.where(voiced[idx], f0[idx], 0.0)


def make_corrections(f0: np.ndarray, share: float, span_seconds: float = 4.0) -> Corrections:
    """Spans of ``span_seconds`` spread evenly over the song covering ``share`` of it; every
    fourth span is erased ("no voice") instead of drawn."""
    duration = len(f0) * F0_HOP
    n_spans = max(1, int(round(duration * share / span_seconds)))
    starts = (np.arange(n_spans) + 0.5) * duration / n_spans - span_seconds / 2
    corrections = Corrections()
    times = np.arange(len(f0)) * F0_HOP
    for k, start in enumerate(starts):
        stop = start + span_seconds
        if k % 4 == 3:
            corrections = corrections.erase(start, stop)
        else:
            inside = (times >= start) & (times < stop)
            corrections = corrections.draw(times[inside], f0[inside])
    return corrections


class StageClock:
    """Progress callback that adds the time since the previous report to the stage of each
    report (the work a job did before it reported), so a round trip shows where its time goes.
    On CUDA it waits for the GPU at each report, so queued kernels count where they were queued."""

    def __init__(self, device: torch.device):
        self.device = device
        self.seconds: dict[str, float] = {}
        self.last = time.perf_counter()

    def __call__(self, report) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        now = time.perf_counter()
        self.seconds[report.stage] = self.seconds.get(report.stage, 0.0) + now - self.last
        self.last = now

    def summary(self) -> str:
        return ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in self.seconds.items()
                         if seconds >= 0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--share", type=float, default=0.2, help="share of the song corrected")
    parser.add_argument("--steps", type=int, default=DEFAULT_ADAPT_STEPS)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--model", default=None, help="a model file (default: random weights)")
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-guard", action="store_true",
                        help="adapt without the F0 guard (AdaptConfig.guard), to compare")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)

    if args.model:
        from core.separation.models.store import load_model
        model = load_model(args.model, device=device)
    else:
        from core.separation.models import JointModel
        from core.training.train import TrainConfig
        torch.manual_seed(0)
        model = JointModel(TrainConfig().model_config()).to(device).eval()
    stereo, f0 = make_song(args.minutes)
    audio = Audio(stereo, 44100)
    corrections = make_corrections(f0, args.share)
    frames = np.arange(int(args.minutes * 60 / 0.016)) * 0.016
    covered = corrections.to_frames(frames)[0].mean()
    config = AdaptConfig(steps=args.steps, guard=not args.no_guard)
    print(f"{args.minutes:g}-minute song, corrections over {100 * covered:.0f} % of it, "
          f"{args.steps} steps x {config.batch_size} crops x {config.crop_frames} frames, "
          f"{torch.get_num_threads()} threads, device {device}, "
          f"{'no F0 guard' if args.no_guard else 'F0 guard'}")
    mono16 = model_input(audio)  # the editor resamples a song once, when it is opened
    for _ in range(args.repeat):
        start = time.perf_counter()
        adapted = run(adapt_iter(model, mono16, corrections, config=config, device=device))
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # the adapted weights are ready, not only queued
        adapted_at = time.perf_counter()
        clock = StageClock(device)
        run(separate_iter(audio, adapted, device=device, with_beats=False,
                          corrections=corrections, mono16=mono16), clock)
        done = time.perf_counter()
        total = done - start
        target = GPU_TARGET_SECONDS if device.type == "cuda" else TARGET_SECONDS
        gpu = (f", peak GPU memory {torch.cuda.max_memory_allocated(device) / 2 ** 20:.0f} MB"
               if device.type == "cuda" else "")
        print(f"adapt {adapted_at - start:.2f} s + re-separate {done - adapted_at:.2f} s = "
              f"{total:.2f} s (target <= {target:g} s: "
              f"{'met' if total <= target else 'missed'}){gpu}\n  re-separate by stage: "
              f"{clock.summary()}", flush=True)


if __name__ == "__main__":
    main()
