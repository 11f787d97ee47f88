"""Time to hear one stroke: re-separating the stretch a correction changed (printed, never asserted).

    .venv/bin/python benchmarks/preview_speed.py [--minutes 4] [--stroke 10] [--threads N]
                                                 [--model FILE] [--device cpu] [--repeat 3]

A generated song (stereo, 44.1 kHz, ``update_dnn_speed.make_song``) is separated once with a
few corrections already in place (a deleted span); then one stroke of ``--stroke`` seconds is
drawn from the song's true F0 in the middle of the song, and the editor's preview
(``core.document.preview.reseparate_iter`` + ``apply_update``) re-separates what it changed. Also printed:
how far the previewed vocals lie from a whole-song re-separation with the new corrections, inside
the re-separated stretch and outside it (dB of difference energy relative to the vocals).
Target (issue: hear a correction at once): a 10-second stroke in under 1 s on the 2-core CPU.
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from update_dnn_speed import F0_HOP, make_song  # noqa: E402

from core.audio.io import Audio  # noqa: E402
from core.document import preview  # noqa: E402
from core.progress import run  # noqa: E402
from core.separation.corrections import Corrections  # noqa: E402
from core.separation.separate import (exemplar_segments, model_input, pick_device,  # noqa: E402
                                      separate_iter)

TARGET_SECONDS = 1.0


def relative_db(difference: np.ndarray, reference: np.ndarray) -> float:
    return float(10 * np.log10((np.sum(difference ** 2) + 1e-20) / (np.sum(reference ** 2) + 1e-20)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--stroke", type=float, default=10.0, help="seconds drawn in one stroke")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--model", default=None, help="a model file (default: the shipped model)")
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    from core.separation.model_files import load_checked_model
    model = load_checked_model(args.model, device=device)

    stereo, f0 = make_song(args.minutes)
    audio = Audio(stereo, 44100)
    duration = audio.duration_seconds
    old = Corrections().erase(duration * 0.2, duration * 0.2 + 3.0)
    times = np.arange(len(f0)) * F0_HOP
    t0 = duration / 2
    inside = (times >= t0) & (times < t0 + args.stroke)
    new = old.draw(times[inside], np.where(f0[inside] > 0, f0[inside], 220.0))
    result = run(separate_iter(audio, model, device=device, with_beats=False, corrections=old))
    mono16 = model_input(audio)
    print(f"{args.minutes:g}-minute song, one {args.stroke:g}-second stroke, "
          f"{torch.get_num_threads()} threads, device {device}")
    # The editor computes the song's spectrum once, at the end of its analysis, and keeps it for
    # every stroke (core.document.session_jobs._warm_segment_spectra).
    spectra = preview.SegmentSpectra(mono16)
    start = time.perf_counter()
    spectra.segment(*exemplar_segments(result.analysis.n_frames)[0])
    print(f"the song's spectrum for the strokes (once, in the analysis): "
          f"{time.perf_counter() - start:.2f} s")
    for _ in range(args.repeat):
        previewed = copy.deepcopy(result)
        start = time.perf_counter()
        first, stop = preview.changed_frames(old, new, result.analysis.n_frames)
        update = run(preview.reseparate_iter(model, audio.samples, audio.sample_rate, mono16,
                                             result.analysis, result.analysis.network_f0_hz(),
                                             new, first, stop,
                                             device=device, spectra=spectra))
        preview.apply_update(previewed, audio.samples, update)
        seconds = time.perf_counter() - start
        print(f"preview {seconds:.2f} s for {(update.stop_sample - update.start_sample) / 44100:.1f}"
              f" s of stems (target < {TARGET_SECONDS:g} s: "
              f"{'met' if seconds < TARGET_SECONDS else 'missed'})", flush=True)
    whole = run(separate_iter(audio, model, device=device, with_beats=False, corrections=new))
    span = slice(update.start_sample, update.stop_sample)
    outside = np.ones(audio.n_samples, dtype=bool)
    outside[span] = False
    print(f"previewed vs whole-song re-separation: inside "
          f"{relative_db(previewed.vocals[:, span] - whole.vocals[:, span], whole.vocals[:, span]):.1f}"
          f" dB (the stroke itself changed them by "
          f"{relative_db(result.vocals[:, span] - whole.vocals[:, span], whole.vocals[:, span]):.1f}"
          f" dB), outside {relative_db(previewed.vocals[:, outside] - whole.vocals[:, outside], whole.vocals[:, outside]):.1f} dB")


if __name__ == "__main__":
    main()
