"""``isolde simulate``: the correction simulation of Nakano et al. (IUI 2020, Fig. 4).

For every song of a dataset's validation split, a perfect user is simulated in two protocols:

- **first P %** (the paper's): for every share ``p`` (in %), the first ``p`` % of the song (by
  time) has its F0 corrected to the reference;
- **worst first** (``--budgets``): for every budget of ``b`` seconds, the user corrects the base
  network's worst errors first: stretches of frames whose F0 is off by more than 50 cents or
  wrongly voiced, longest first, until ``b`` seconds are corrected.

In either protocol the user copies the reference F0 verbatim, or with ``--listening`` listens: no
deletion where the true vocal is audible, as :func:`listening_reference` explains.

The network is adapted to those corrections (:mod:`core.separation.adapt`), the song is separated at
the model rate (16 kHz) with the corrections imposed, and the result is scored:

- vocal SDR (BSS Eval v3 by :func:`core.training.metrics.bss_sdr`, or the plain SNR-style SDR with
  ``--fast-sdr``) on the whole song and on the part nobody corrected (``sdr_rest``), and the
  base network's SDR on that same part (``sdr_rest_base``), so that each row says, paired per
  clip, what the update did to what nobody touched (``sdr_rest_gain``);
- mir_eval's melody metrics of the F0 the user would see (corrected frames as corrected, the rest
  as the adapted network estimates it), on the whole song and on the remainder. On the whole song
  the corrected part is right by construction; the remainder shows what the adaptation taught the
  network about the parts nobody corrected.

    isolde simulate --dataset mir1k:PATH [--model FILE] [--shares 0,25,50,75,100] [--steps N]
                    [--budgets 5,15,30,60] [--limit N] [--out DIR] [--device auto|cpu|cuda]
                    [--fast-sdr] [--unadapted] [--listening]

Writes ``simulation.csv`` (one row per clip, protocol, amount and mode),
``simulation_summary.csv`` (medians, and for the untouched part the mean and median paired gain
and how many clips lost more than 0.5 dB) and ``simulation.png`` (median SDR and raw pitch accuracy
against the share corrected) into ``--out``, and prints the summary table. ``--unadapted`` adds the
"imposed" mode: the same corrections imposed on the separation without fine-tuning, to show what the
fine-tuning adds.

One file of about 600 lines, on purpose: the protocols, the loop that scores each song, the
summary of those rows and the command are one experiment, and the summary's columns are the
loop's row keys; split, each half would only make sense with the other open beside it.
"""
from __future__ import annotations

import argparse
import csv
import io
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..audio import spectral
from ..audio.fileio import write_text_atomic
from ..errors import IsoldeError
from ..music.pitch import interpolate_f0
from ..progress import Job, Progress, run_with_bar, scaled
from ..separation.adapt import DEFAULT_ADAPT_STEPS, AdaptConfig, adapt_iter
from ..separation.confidence import wrong_frames
from ..separation.corrections import FILL_STEP_SECONDS, Corrections
from .data.pyin_cache import power_around
from .metrics import MELODY_KEYS, bss_sdr, melody_metrics, nan_median, snr_sdr

#: Metric columns of a result row, in table order.
SDR_KEYS = ("sdr", "sdr_rest", "sdr_rest_base", "sdr_rest_gain")
METRIC_KEYS = SDR_KEYS + MELODY_KEYS + tuple(f"{k}_rest" for k in MELODY_KEYS)
#: The remainder must be at least this long (s) to be scored.
MIN_REST_SECONDS = 0.5
MODES = ("adapted", "imposed")
PROTOCOLS = ("first", "worst")
#: A clip whose untouched part lost more than this (dB) counts as made worse.
WORSE_DB = 0.5
#: Wrong stretches closer than this (s) are one stretch for the worst-first user.
MERGE_GAP_SECONDS = 0.1
#: The listening musician (``--listening``) deletes the voice only where the true vocal is more
#: than this far below its loud level (the 95th percentile of its 32 ms power at the reference's
#: frames).
AUDIBLE_DB = 30.0


@dataclass
class SimulationConfig:
    """One simulation run (see the module docstring)."""

    dataset: str
    model: str | None = None
    shares: tuple = (0.0, 25.0, 50.0, 75.0, 100.0)
    steps: int = DEFAULT_ADAPT_STEPS
    limit: int | None = None
    out: str = "simulation"
    device: str = "auto"
    fast_sdr: bool = False
    unadapted: bool = False
    seed: int = 0
    budgets: tuple = ()
    #: Update DNN's F0 guard (AdaptConfig.guard); False measures the update without it.
    guard: bool = True
    #: The simulated musician listens (:func:`listening_reference`) instead of copying the
    #: reference F0 verbatim.
    listening: bool = False
    modes: tuple = field(init=False)

    def __post_init__(self):
        self.modes = MODES if self.unadapted else MODES[:1]


# ------------------------------------------------------------------------------ one song

def listening_reference(f0_times: np.ndarray, f0_hz: np.ndarray, vocals: np.ndarray,
                        rate: int = spectral.MODEL_SAMPLE_RATE,
                        below_db: float = AUDIBLE_DB) -> np.ndarray:
    """The reference F0 as a musician who listens would give it: NaN ("left alone") on frames
    where the reference has no F0 but the true vocal is audible (within ``below_db`` of its loud
    level), so that such frames are neither deleted nor counted as the network's errors.

    A pitch tracker's reference calls unvoiced what it cannot follow: breaths, consonants,
    harmonies and the reverb that belongs to a produced vocal stem. On 4 of the 11 produced
    excerpts 17-26 % of the vocal stem's energy lies in frames whose pYIN reference is unvoiced
    (1-3 % on the others, the excerpt with no voiced reference frame aside); copying the
    reference deletes that singing, which no musician who hears it would do.

    f0_times, f0_hz : the reference (s, Hz, 0 = no voice); vocals : (n,) the true vocal at
    ``rate``. Returns f0_hz's shape, Hz, 0 = no voice, NaN = left alone.
    """
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    vocals = np.asarray(vocals, dtype=np.float64)
    if len(vocals) == 0 or len(f0_hz) == 0:
        return f0_hz.copy()
    times = np.clip(np.asarray(f0_times, dtype=np.float64), 0.0, len(vocals) / rate)
    power = power_around(vocals, rate, times, window_seconds=0.032)
    loud = float(np.percentile(power, 95))
    audible = (power > 0) & (power >= loud * 10.0 ** (-below_db / 10.0))
    return np.where((f0_hz <= 0) & audible, np.nan, f0_hz)


def _user_corrections(f0_times: np.ndarray, f0_hz: np.ndarray, grid: np.ndarray) -> Corrections:
    """The reference resampled onto the drawing ``grid``; NaN points (left alone) are dropped."""
    f0 = interpolate_f0(f0_times, f0_hz, grid)
    known = ~np.isnan(f0)
    return Corrections(grid[known], f0[known])


def reference_corrections(f0_times: np.ndarray, f0_hz: np.ndarray,
                          cut_seconds: float) -> Corrections:
    """A perfect user's corrections of ``[0, cut_seconds]``: the reference F0 on a 10 ms grid.

    f0_times, f0_hz : the reference trajectory (s, Hz, 0 = no voice, NaN = left alone).
    Resampling onto the editor's drawing grid makes the corrected range one continuous span
    whatever the dataset's hop; frames with no voice in the reference become "deleted"
    corrections.
    """
    if cut_seconds <= 0:
        return Corrections()
    return _user_corrections(f0_times, f0_hz, np.arange(0.0, cut_seconds + 1e-9,
                                                         FILL_STEP_SECONDS))


def worst_first_spans(wrong: np.ndarray, frame_times: np.ndarray,
                      budget_seconds: float) -> list[tuple[float, float]]:
    """What a user who fixes the worst errors first corrects with ``budget_seconds`` to spend.

    wrong : bool (n_frames,), the base network's wrong frames
    (:func:`core.separation.confidence.wrong_frames`) frame_times : (n_frames,) s. Stretches of
    wrong frames (merged across gaps shorter than
    :data:`MERGE_GAP_SECONDS`) are taken longest first; the last one is cut to the budget.
    Returns sorted (start, stop) spans in seconds.
    """
    from ..music.pitch import true_runs

    wrong = np.asarray(wrong, dtype=bool)
    if not wrong.any() or budget_seconds <= 0:
        return []
    hop = float(frame_times[1] - frame_times[0]) if len(frame_times) > 1 else spectral.HOP_SECONDS
    merged = true_runs(wrong, MERGE_GAP_SECONDS / hop)
    spans, left = [], float(budget_seconds)
    for a, b in sorted(merged, key=lambda r: r[0] - r[1]):
        if left <= 1e-6:
            break
        start = float(frame_times[a]) - hop / 2
        stop = min(float(frame_times[b - 1]) + hop / 2, start + left)
        spans.append((max(start, 0.0), stop))
        left -= stop - start
    return sorted(spans)


def span_corrections(f0_times: np.ndarray, f0_hz: np.ndarray,
                     spans: list[tuple[float, float]]) -> Corrections:
    """A perfect user's corrections of each (start, stop) span: the reference F0 on a 10 ms grid."""
    if not spans:
        return Corrections()
    grids = [np.arange(lo, hi + 1e-9, FILL_STEP_SECONDS) for lo, hi in spans]
    return _user_corrections(f0_times, f0_hz, np.concatenate(grids))


def _outside(times: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
    """bool (len(times),): True where a time lies in none of the spans."""
    times = np.asarray(times, dtype=np.float64)
    inside = np.zeros(len(times), dtype=bool)
    for lo, hi in spans:
        inside |= (times >= lo) & (times <= hi)
    return ~inside


def separate_at_model_rate(model, mixture16: np.ndarray, corrections: Corrections,
                           device) -> Job[tuple[np.ndarray, np.ndarray]]:
    """Separate a 16 kHz mono mixture (n,) with the corrections imposed.

    Returns (estimated vocals (n,), the F0 the user sees (n_frames,) in Hz on the model frames).
    """
    from ..separation.separate import analyse_iter

    spec = spectral.stft(torch.from_numpy(np.asarray(mixture16, dtype=np.float32)))
    analysis = yield from analyse_iter(model, spec.abs()[:spectral.N_BINS], device=device,
                                       corrections=None if corrections.is_empty else corrections)
    # The model drops the Nyquist bin: give it the mask of the bin below.
    mask = np.concatenate([analysis.vocal_mask, analysis.vocal_mask[-1:]], axis=0)
    vocals = spectral.istft(spec * torch.from_numpy(mask), length=len(mixture16)).numpy()
    f0 = corrections.apply_to_f0(analysis.frame_times, analysis.f0_hz())
    return vocals, f0


def _sdr(reference, accompaniment, estimate, est_accompaniment, fast: bool) -> float:
    if float(np.sum(np.asarray(reference, np.float64) ** 2)) < 1e-10:
        return math.nan  # no voice to measure against
    if fast:
        return snr_sdr(reference, estimate)
    try:
        return bss_sdr(reference, accompaniment, estimate, est_accompaniment)
    except ValueError:  # mir_eval refuses silent sources
        return math.nan


def _melody(ref_times, ref_f0, est_times, est_f0, suffix: str = "",
            keep: np.ndarray | None = None) -> dict[str, float]:
    nan = {f"{k}{suffix}": math.nan for k in MELODY_KEYS}
    if len(ref_times) < 2 or len(est_times) < 2:
        return nan
    scores = melody_metrics(ref_times, ref_f0, est_times, est_f0, keep=keep)
    return {f"{k}{suffix}": v for k, v in scores.items()}


def score_song(track, vocals16: np.ndarray, accompaniment16: np.ndarray, est_vocals: np.ndarray,
               est_f0: np.ndarray, spans: list[tuple[float, float]], *, fast_sdr: bool,
               base_vocals: np.ndarray | None = None) -> dict[str, float]:
    """SDR and melody metrics on the whole song and on the part outside the corrected ``spans``.

    vocals16, accompaniment16, est_vocals, base_vocals : (n,) at 16 kHz (``base_vocals``: the
    base network's estimate, scored on the same untouched part); est_f0 : (n_frames,) Hz per model
    frame; spans : corrected (start, stop) in seconds. The untouched part, when it is not one
    stretch, is scored as its stretches joined end to end.
    """
    mixture = vocals16 + accompaniment16
    est_acc = mixture - est_vocals
    row = {"sdr": _sdr(vocals16, accompaniment16, est_vocals, est_acc, fast_sdr)}
    rate = spectral.MODEL_SAMPLE_RATE
    rest = _outside(np.arange(len(mixture)) / rate, spans)
    row.update({k: math.nan for k in SDR_KEYS[1:]})
    if rest.sum() >= MIN_REST_SECONDS * rate:
        row["sdr_rest"] = _sdr(vocals16[rest], accompaniment16[rest], est_vocals[rest],
                               est_acc[rest], fast_sdr)
        if base_vocals is not None:
            row["sdr_rest_base"] = _sdr(vocals16[rest], accompaniment16[rest], base_vocals[rest],
                                        mixture[rest] - base_vocals[rest], fast_sdr)
            row["sdr_rest_gain"] = row["sdr_rest"] - row["sdr_rest_base"]
    est_times = spectral.frame_times(len(est_f0))
    ref_times, ref_f0 = np.asarray(track.f0_times), np.asarray(track.f0_hz)
    row.update(_melody(ref_times, ref_f0, est_times, est_f0))
    keep = _outside(ref_times, spans)
    if rest.sum() >= MIN_REST_SECONDS * rate and keep.sum() >= 2:
        row.update(_melody(ref_times, ref_f0, est_times, est_f0, "_rest", keep=keep))
    else:
        row.update({f"{k}_rest": math.nan for k in MELODY_KEYS})
    return row


# ------------------------------------------------------------------------------ the loop

def _validation_split(spec: str):
    from .sources import open_source

    try:
        train, valid = open_source(spec)
    except ModuleNotFoundError as exc:
        raise IsoldeError(f"The data source {spec!r} is not available in this build "
                          f"({exc.name} missing)") from exc
    if valid is None or len(valid) == 0:
        print(f"isolde simulate: {spec} has no validation split; using all of it", file=sys.stderr)
        return train
    return valid


def _spread(n_items: int, limit: int | None) -> list[int]:
    """``limit`` indices spread evenly over ``n_items`` (every singer/artist gets a turn)."""
    if limit is None or limit >= n_items:
        return list(range(n_items))
    return sorted(set(np.linspace(0, n_items - 1, max(limit, 1)).round().astype(int).tolist()))


def simulate_iter(config: SimulationConfig, model=None) -> Job[list[dict]]:
    """Run the simulation; yields progress, returns one row per (clip, share, mode).

    model : an already loaded model (else ``config.model`` or the shipped default is loaded)
    """
    from ..separation.model_files import load_checked_model as load_model
    from ..separation.separate import pick_device
    from .sources import pool_track

    device = pick_device(config.device)
    if model is None:
        model = load_model(config.model, device=device)
    dataset = _validation_split(config.dataset)
    indices = _spread(len(dataset), config.limit)
    shares = sorted(float(s) for s in config.shares)
    budgets = sorted(float(b) for b in config.budgets)
    plans_per_clip = len(shares) + len(budgets)
    n_jobs = len(indices) * (1 + plans_per_clip * len(config.modes))
    rows: list[dict] = []
    done = 0

    def step(label):
        return done / n_jobs, (done + 1) / n_jobs, label

    for index in indices:
        track = dataset.load(index)
        pooled = pool_track(track)
        mixture = pooled.vocals + pooled.accompaniment
        duration = len(mixture) / spectral.MODEL_SAMPLE_RATE
        lo, hi, label = step(f"{track.name} base")
        yield Progress("simulating", lo, label)
        base_vocals, base_f0 = yield from scaled(
            separate_at_model_rate(model, mixture, Corrections(), device), lo, hi)
        done += 1
        plans = [("first", share, [(0.0, duration * share / 100.0)] if share > 0 else [])
                 for share in shares]
        user_f0 = (listening_reference(track.f0_times, track.f0_hz, pooled.vocals)
                   if config.listening else np.asarray(track.f0_hz, dtype=np.float64))
        if budgets:
            frame_times = spectral.frame_times(len(base_f0))
            reference = interpolate_f0(track.f0_times, user_f0, frame_times)
            left_alone = np.isnan(reference)
            wrong = wrong_frames(np.where(left_alone, 0.0, reference), base_f0) & ~left_alone
            plans += [("worst", budget, worst_first_spans(wrong, frame_times, budget))
                      for budget in budgets]
        for protocol, amount, spans in plans:
            corrections = (reference_corrections(track.f0_times, user_f0, spans[0][1])
                           if protocol == "first" and spans
                           else span_corrections(track.f0_times, user_f0, spans))
            corrected_seconds = float(sum(b - a for a, b in spans))
            for mode in config.modes:
                lo, hi, label = step(f"{track.name} {protocol} {amount:g} {mode}")
                done += 1
                yield Progress("simulating", lo, label)
                started = time.perf_counter()
                if corrections.is_empty:
                    # Nothing corrected: the base network's result, whatever the mode.
                    est_vocals, est_f0 = base_vocals, base_f0
                else:
                    steps = config.steps if mode == "adapted" else 0
                    adapted = yield from scaled(adapt_iter(
                        model, mixture, corrections, device=device,
                        config=AdaptConfig(steps=steps, seed=config.seed, guard=config.guard)),
                        lo, lo + 0.6 * (hi - lo))
                    est_vocals, est_f0 = yield from scaled(
                        separate_at_model_rate(adapted, mixture, corrections, device),
                        lo + 0.6 * (hi - lo), hi)
                row = {"clip": track.name, "protocol": protocol,
                       "share": amount if protocol == "first" else math.nan,
                       "budget_seconds": amount if protocol == "worst" else math.nan,
                       "corrected_seconds": round(corrected_seconds, 3), "mode": mode,
                       "adapt_seconds": round(time.perf_counter() - started, 3)}
                row.update(score_song(track, pooled.vocals, pooled.accompaniment, est_vocals,
                                      est_f0, spans, fast_sdr=config.fast_sdr,
                                      base_vocals=base_vocals))
                rows.append(row)
                yield Progress("simulating", hi, label)
    return rows


def _amount(row: dict) -> float:
    return float(row["share"] if row.get("protocol", "first") == "first" else row["budget_seconds"])


def summarise(rows: list[dict]) -> list[dict]:
    """Per (protocol, mode, amount): the median of every metric (NaNs ignored), the number of
    clips, the mean corrected time, and for the untouched part the mean and median paired gain
    over the base network and how many clips lost more than :data:`WORSE_DB`."""
    out = []
    keys = sorted({(r.get("protocol", "first"), r["mode"], _amount(r)) for r in rows},
                  key=lambda k: (PROTOCOLS.index(k[0]) if k[0] in PROTOCOLS else 9,
                                 MODES.index(k[1]) if k[1] in MODES else 99, k[2]))
    for protocol, mode, amount in keys:
        group = [r for r in rows if r.get("protocol", "first") == protocol
                 and r["mode"] == mode and _amount(r) == amount]
        summary = {"protocol": protocol, "mode": mode,
                   "share": amount if protocol == "first" else math.nan,
                   "budget_seconds": amount if protocol == "worst" else math.nan,
                   "clips": len(group),
                   "corrected_seconds": float(np.mean([r.get("corrected_seconds", 0.0)
                                                       for r in group]))}
        for k in METRIC_KEYS:
            summary[k] = nan_median(r[k] for r in group)
        gains = np.array([r.get("sdr_rest_gain", math.nan) for r in group], dtype=np.float64)
        gains = gains[np.isfinite(gains)]
        summary["sdr_rest_gain_mean"] = float(gains.mean()) if gains.size else math.nan
        summary["clips_rest_worse"] = int((gains < -WORSE_DB).sum())
        summary["clips_rest_scored"] = int(gains.size)
        out.append(summary)
    return out


# ------------------------------------------------------------------------------ output

def _csv_text(rows: list[dict], fields: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: (f"{v:.4f}" if isinstance(v, float) and k not in ("share",) else v)
                         for k, v in r.items()})
    return buffer.getvalue()


def format_table(summary: list[dict], sdr_name: str) -> str:
    """The summary as a fixed-width text table (SDR in dB, accuracies in %). "gain" is the paired
    change of the untouched part over the base network (mean / median, clips worse by 0.5 dB)."""
    head = (f"{'protocol':<8} {'mode':<8} {'amount':>7} {'corr s':>6} {'clips':>5} "
            f"{sdr_name:>6} {'rest':>6} {'gain mean/med':>14} {'worse':>6} "
            f"{'RPA':>6} {'RPA rest':>8} {'OA':>6} {'OA rest':>8}")
    lines = [head, "-" * len(head)]
    pct = lambda v: "   -" if not np.isfinite(v) else f"{100 * v:.1f}"  # noqa: E731
    db = lambda v: "   -" if not np.isfinite(v) else f"{v:.2f}"  # noqa: E731
    for s in summary:
        amount = f"{s['share']:g}%" if s["protocol"] == "first" else f"{s['budget_seconds']:g}s"
        gain = f"{db(s['sdr_rest_gain_mean'])}/{db(s['sdr_rest_gain'])}"
        worse = f"{s['clips_rest_worse']}/{s['clips_rest_scored']}"
        lines.append(f"{s['protocol']:<8} {s['mode']:<8} {amount:>7} "
                     f"{s['corrected_seconds']:>6.1f} {s['clips']:>5d} {db(s['sdr']):>6} "
                     f"{db(s['sdr_rest']):>6} {gain:>14} {worse:>6} "
                     f"{pct(s['raw_pitch_accuracy']):>6} "
                     f"{pct(s['raw_pitch_accuracy_rest']):>8} {pct(s['overall_accuracy']):>6} "
                     f"{pct(s['overall_accuracy_rest']):>8}")
    return "\n".join(lines)


def plot_summary(summary: list[dict], png: Path, sdr_name: str) -> Path:
    """Like the paper's Figure 4: median vocal SDR and raw pitch accuracy against the share
    corrected, on the whole song and on the uncorrected rest; with worst-first budgets, a third
    panel: the whole song's SDR and the untouched part's paired gain against the seconds
    corrected, for both protocols."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = [s for s in summary if s["protocol"] == "first"]
    worst = [s for s in summary if s["protocol"] == "worst"]
    fig, axes = plt.subplots(1, 3 if worst else 2, figsize=(15 if worst else 10, 3.8))
    styles = {"adapted": "-", "imposed": "--"}
    # Colour = where it is measured, line style = mode.
    series = (("sdr", "raw_pitch_accuracy", "whole song", "o", "C0"),
              ("sdr_rest", "raw_pitch_accuracy_rest", "uncorrected rest", "s", "C1"))
    for mode in dict.fromkeys(s["mode"] for s in first):
        group = [s for s in first if s["mode"] == mode]
        x = [s["share"] for s in group]
        style = styles.get(mode, ":")
        for sdr_key, rpa_key, where, marker, colour in series:
            axes[0].plot(x, [s[sdr_key] for s in group], marker + style, color=colour,
                         label=f"{mode}: {where}")
            axes[1].plot(x, [100 * s[rpa_key] for s in group], marker + style, color=colour,
                         label=f"{mode}: {where}")
    axes[0].set_ylabel(f"median vocal {sdr_name} (dB)")
    axes[1].set_ylabel("median raw pitch accuracy (%)")
    for ax in axes[:2]:
        ax.set_xlabel("share of the F0 corrected (%)")
    if worst:
        for protocol, group, colour in (("first P %", first, "C0"), ("worst first", worst, "C3")):
            group = [s for s in group if s["mode"] == "adapted"]
            x = [s["corrected_seconds"] for s in group]
            axes[2].plot(x, [s["sdr"] for s in group], "o-", color=colour,
                         label=f"{protocol}: whole song")
            axes[2].plot(x, [s["sdr_rest_gain"] for s in group], "s--", color=colour,
                         label=f"{protocol}: untouched part, median gain")
        axes[2].axhline(0.0, color="grey", lw=0.8)
        axes[2].set_xlabel("seconds of F0 corrected (mean per clip)")
        axes[2].set_ylabel(f"{sdr_name} / gain (dB)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    tmp = png.with_name(f".{png.stem}.tmp.png")
    try:
        fig.savefig(tmp, dpi=90)
        os.replace(tmp, png)
    except OSError as exc:
        raise IsoldeError(f"Cannot write {png}: {exc.strerror or exc}") from exc
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return png


def write_results(rows: list[dict], out: Path, sdr_name: str) -> tuple[list[dict], list[Path]]:
    summary = summarise(rows)
    clip_fields = ["clip", "protocol", "share", "budget_seconds", "corrected_seconds", "mode",
                   "adapt_seconds", *METRIC_KEYS]
    summary_fields = ["protocol", "mode", "share", "budget_seconds", "clips", "corrected_seconds",
                      *METRIC_KEYS, "sdr_rest_gain_mean", "clips_rest_worse", "clips_rest_scored"]
    paths = [out / "simulation.csv", out / "simulation_summary.csv", out / "simulation.png"]
    write_text_atomic(paths[0], _csv_text(rows, clip_fields))
    write_text_atomic(paths[1], _csv_text(summary, summary_fields))
    plot_summary(summary, paths[2], sdr_name)
    return summary, paths


# ------------------------------------------------------------------------------ CLI

def _parse_numbers(text: str, option: str, unit: str, example: str) -> tuple:
    try:
        return tuple(sorted({float(v) for v in text.split(",") if v.strip()}))
    except ValueError:
        raise IsoldeError(f"{option} takes {unit} separated by commas, e.g. {example} "
                          f"(got {text!r})") from None


def _parse_shares(text: str) -> tuple:
    shares = _parse_numbers(text, "--shares", "percentages", "0,25,50")
    if not shares or any(not (0 <= s <= 100) for s in shares):
        raise IsoldeError(f"--shares must be percentages from 0 to 100 (got {text!r})")
    return shares


def _parse_budgets(text: str) -> tuple:
    budgets = _parse_numbers(text, "--budgets", "seconds", "5,15,30")
    if any(not (0 < b < 1e6) for b in budgets):
        raise IsoldeError(f"--budgets must be positive numbers of seconds (got {text!r})")
    return budgets


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, metavar="KIND:PATH",
                        help="a dataset with reference F0: mir1k:PATH, mir1k-songs:PATH (its "
                        "clips joined into songs, for budgets of many seconds), produced:PATH, "
                        "musdb:PATH, medleydb:PATH")
    parser.add_argument("--model", default=None, help="model file (default: the shipped model)")
    parser.add_argument("--shares", default="0,25,50,75,100",
                        help="percentages of each song corrected (default 0,25,50,75,100)")
    parser.add_argument("--steps", type=int, default=DEFAULT_ADAPT_STEPS,
                        help=f"adaptation steps (default {DEFAULT_ADAPT_STEPS})")
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="use N clips spread over the validation split")
    parser.add_argument("--out", default="simulation", help="output folder (default ./simulation)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--fast-sdr", action="store_true",
                        help="plain SDR instead of BSS Eval v3 (much faster)")
    parser.add_argument("--unadapted", action="store_true",
                        help="also score the corrections imposed without fine-tuning")
    parser.add_argument("--budgets", default="",
                        help="also simulate a user who corrects the worst errors first, with "
                             "these seconds of corrections, e.g. 5,15,30,60")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-guard", action="store_true",
                        help="adapt without Update DNN's F0 guard (to compare)")
    parser.add_argument("--listening", action="store_true",
                        help="the simulated musician deletes the voice only where the true vocal "
                             f"is quiet (more than {AUDIBLE_DB:g} dB below its loud level), and "
                             "leaves alone frames where the reference has no F0 but the singing "
                             "is audible")


def command(args: argparse.Namespace) -> int:
    from ..separation.export import check_output_folder

    if args.steps < 0:
        raise IsoldeError(f"--steps must be 0 or more (got {args.steps})")
    if args.limit is not None and args.limit < 1:
        raise IsoldeError(f"--limit must be 1 or more (got {args.limit})")
    config = SimulationConfig(dataset=args.dataset, model=args.model,
                              shares=_parse_shares(args.shares), steps=args.steps,
                              limit=args.limit, out=args.out, device=args.device,
                              fast_sdr=args.fast_sdr, unadapted=args.unadapted, seed=args.seed,
                              budgets=_parse_budgets(args.budgets), guard=not args.no_guard,
                              listening=args.listening)
    out = check_output_folder(config.out)
    rows = run_with_bar(simulate_iter(config), description="simulate")
    if not rows:
        raise IsoldeError(f"No clips to simulate in {config.dataset}")
    sdr_name = "SDR" if config.fast_sdr else "SDRv3"
    summary, paths = write_results(rows, out, sdr_name)
    print(format_table(summary, sdr_name))
    print(f"Wrote {', '.join(str(p) for p in paths)}")
    return 0


__all__ = ["SimulationConfig", "listening_reference", "reference_corrections",
           "worst_first_spans", "span_corrections", "separate_at_model_rate", "score_song",
           "simulate_iter", "summarise", "format_table", "plot_summary", "write_results",
           "configure_parser", "command"]
