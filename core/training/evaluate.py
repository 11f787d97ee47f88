"""``isolde evaluate``: score a model on a dataset split.

For every clip: separate the mixture (``vocals + accompaniment``) with the model exactly as
``isolde separate`` does (beats skipped), then measure the vocal SDR by BSS Eval v3 (mir_eval,
512-tap filters), the vocal SI-SDR, and mir_eval's melody metrics of the decoded F0 against the
reference. Prints a table and the medians, writes a CSV.

The melody metrics follow the MIREX convention (:func:`core.music.pitch.f0_with_pitch_guesses`):
frames the model calls unvoiced carry its pitch guess, so raw pitch accuracy measures pitch on
every voiced reference frame and the voicing decision is scored by the voicing metrics and the
overall accuracy. ``raw_pitch_voiced`` is the stricter figure that counts a frame only when the
model also called it voiced (what the editor shows). ``confidence_auc`` says how well the per-frame
confidence (:mod:`core.separation.confidence`) finds the F0's wrong frames.

``--baseline NAME`` scores a classic method of :mod:`.baselines` on the same clips instead.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from ..audio.fileio import write_text_atomic
from ..audio.io import Audio
from ..music import pitch
from ..music.pitch import interpolate_f0
from ..progress import Job, Progress, run, run_with_bar
from ..separation.confidence import error_auc, wrong_frames
from ..separation.separate import pick_device, separate_iter
from .baselines import BASELINES, separate_baseline
from .metrics import MELODY_KEYS, bss_sdr, melody_metrics, nan_median, si_sdr, snr_sdr

COLUMNS = ("sdr", "si_sdr", *MELODY_KEYS, "raw_pitch_voiced", "confidence_auc")


def score_track(model, track, *, device="cpu", fast: bool = False) -> dict[str, float]:
    """Separate one :class:`~.data.base.Track` and score it (dB and melody fractions)."""
    mixture = track.mixture
    audio = Audio(mixture[None, :], track.sample_rate)
    result = run(separate_iter(audio, model, device=device, with_beats=False))
    row = separation_scores(track, result.vocals[0], result.accompaniment[0], fast)
    if model.has_f0:
        guesses = result.analysis.f0_with_pitch_guesses()
        row.update(melody_metrics(track.f0_times, track.f0_hz, result.frame_times, guesses))
        shown = melody_metrics(track.f0_times, track.f0_hz, result.frame_times, result.f0_hz)
        row["raw_pitch_voiced"] = shown["raw_pitch_accuracy"]
        row["confidence_auc"] = confidence_auc(track, result)
    return row


def separation_scores(track, est_vocals: np.ndarray, est_accompaniment: np.ndarray,
                      fast: bool) -> dict[str, float]:
    """Vocal SDR (BSS Eval v3, or plain SDR when ``fast``) and SI-SDR of mono estimates."""
    if fast:
        sdr = snr_sdr(track.vocals, est_vocals)
    else:
        sdr = bss_sdr(track.vocals, track.accompaniment, est_vocals, est_accompaniment)
    return {"sdr": sdr, "si_sdr": si_sdr(track.vocals, est_vocals)}


def confidence_auc(track, result) -> float:
    """How well low :func:`core.separation.confidence.f0_confidence` finds the F0's wrong frames
    (ROC AUC) over the frames the reference covers."""
    times = result.frame_times
    inside = times <= track.f0_times[-1]
    reference = interpolate_f0(track.f0_times, track.f0_hz, times)
    wrong = wrong_frames(reference, result.f0_hz)
    confidence = result.analysis.f0_confidence()
    return error_auc(confidence[inside], wrong[inside])


def score_baseline(name: str, track, *, fast: bool = False) -> dict[str, float]:
    """Score one classic method of :mod:`.baselines` on a track, as :func:`score_track` scores a
    model (melody metrics only for a method that finds an F0)."""
    result = separate_baseline(name, track.mixture, track.sample_rate, vocals=track.vocals,
                               f0_times=track.f0_times, f0_hz=track.f0_hz)
    row = separation_scores(track, result.vocals, result.accompaniment, fast)
    if result.f0_hz is not None:
        row.update(melody_metrics(track.f0_times, track.f0_hz, result.f0_times, result.f0_hz))
        shown = melody_metrics(track.f0_times, track.f0_hz, result.f0_times,
                               np.maximum(result.f0_hz, 0.0))
        row["raw_pitch_voiced"] = shown["raw_pitch_accuracy"]
    return row


def evaluate_iter(model, dataset, *, device="cpu", fast: bool = False,
                  limit: int | None = None, baseline: str | None = None) -> Job[list[dict]]:
    """Score every clip of ``dataset`` (or the first ``limit``) with ``model``, or with the
    classic method ``baseline`` (:data:`.baselines.BASELINES`) instead; one row per clip."""
    n = len(dataset) if limit is None else min(limit, len(dataset))
    rows = []
    for i in range(n):
        track = dataset.load(i)
        if baseline is not None:
            scores = score_baseline(baseline, track, fast=fast)
        else:
            scores = score_track(model, track, device=device, fast=fast)
        rows.append({"clip": track.name, **scores})
        yield Progress("evaluating", (i + 1) / n, track.name)
    return rows


def medians(rows: list[dict]) -> dict[str, float]:
    """Median of each column over the clips (NaN entries, e.g. an AUC on a clip with no wrong
    frame, left out)."""
    return {k: nan_median(r[k] for r in rows) for k in COLUMNS if rows and k in rows[0]}


def format_table(rows: list[dict]) -> str:
    keys = [k for k in COLUMNS if rows and k in rows[0]]
    header = f"{'clip':<24}" + "".join(f"{k[:18]:>20}" for k in keys)
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(f"{r['clip']:<24}" + "".join(f"{r[k]:>20.3f}" for k in keys))
    summary = medians(rows)
    lines.append("-" * len(header))
    lines.append(f"{'median':<24}" + "".join(f"{summary[k]:>20.3f}" for k in keys))
    return "\n".join(lines)


def write_csv(path: Path, rows: list[dict]) -> None:
    import io

    keys = ["clip", *[k for k in COLUMNS if rows and k in rows[0]]]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys, extrasaction="ignore")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: (f"{r[k]:.4f}" if isinstance(r[k], float) else r[k]) for k in keys})
    writer.writerow({"clip": "median", **{k: f"{v:.4f}" for k, v in medians(rows).items()}})
    write_text_atomic(path, buffer.getvalue())


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True,
                        help="KIND:ARG as for 'isolde train' (mir1k:PATH, produced:PATH, musdb:PATH, ...)")
    parser.add_argument("--split", choices=["validation", "train"], default="validation")
    parser.add_argument("--model", default=None, help="model file (default: the shipped model)")
    parser.add_argument("--baseline", default=None, choices=BASELINES,
                        help="score a classic method instead of a model: repet-sim (REPET-SIM), "
                             "sf-nmf (source-filter NMF on its own melody), sf-nmf-f0 (the same "
                             "given the reference F0, as a complete correction), "
                             "ideal-ratio-mask (the oracle mask from the true stems)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--limit", type=int, default=None, help="score only the first N clips")
    parser.add_argument("--fast", action="store_true",
                        help="plain SDR instead of BSS Eval v3 (much faster, not comparable)")
    parser.add_argument("--csv", default="evaluation.csv", help="where to write the per-clip CSV")


def command(args: argparse.Namespace) -> int:
    from ..errors import IsoldeError
    from ..separation.model_files import load_checked_model as load_model
    from .sources import open_source

    train_set, valid_set = open_source(args.dataset)
    dataset = valid_set if args.split == "validation" else train_set
    if dataset is None or len(dataset) == 0:
        raise IsoldeError(f"{args.dataset} has no {args.split} split")
    if args.baseline and args.model:
        raise IsoldeError("--baseline and --model exclude each other: score one or the other")
    device = pick_device(args.device)
    model = None if args.baseline else load_model(args.model, device=device,
                                                  allow_waveform=True)
    rows = run_with_bar(evaluate_iter(model, dataset, device=device, fast=args.fast,
                                      limit=args.limit, baseline=args.baseline),
                        description="evaluate")
    print(format_table(rows))
    write_csv(Path(args.csv), rows)
    print(f"Per-clip scores: {args.csv}", file=sys.stderr)
    return 0
