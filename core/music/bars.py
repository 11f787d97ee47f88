"""Musical positions on a beat grid: bar.beat of a time, the nearest beat, numbered bars.

Times are seconds from the start of the song; a grid is a :class:`core.music.beats.BeatGrid` (beat
and downbeat times, increasing). Bars are numbered from 1 at the first downbeat; beats before it (a
pick-up) belong to bar 0. When the tracker found no downbeats, bars of
:data:`DEFAULT_BEATS_PER_BAR` beats start at the first beat.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_BEATS_PER_BAR = 4


@dataclass(frozen=True)
class BarBeat:
    """bar : 0 for a pick-up before the first downbeat, then 1, 2...; beat : 1-based in its bar."""

    bar: int
    beat: int

    def __str__(self) -> str:
        return f"{self.bar}.{self.beat}"


def _downbeats(grid) -> np.ndarray:
    """The downbeat times (s) of ``grid``, or every DEFAULT_BEATS_PER_BAR-th beat without them."""
    if len(grid.downbeat_times):
        return np.asarray(grid.downbeat_times, dtype=np.float64)
    return np.asarray(grid.beat_times, dtype=np.float64)[::DEFAULT_BEATS_PER_BAR]


def beats_per_bar(grid) -> int:
    """The usual number of beats between two downbeats (median), at least 1."""
    beats, downbeats = np.asarray(grid.beat_times), _downbeats(grid)
    if len(downbeats) < 2:
        return DEFAULT_BEATS_PER_BAR
    counts = np.diff(np.searchsorted(beats, downbeats - 1e-6))
    return max(int(np.median(counts)), 1)


def bar_beat(grid, t: float) -> BarBeat | None:
    """The bar and beat that time ``t`` (s) falls in; None before the first beat or without
    beats."""
    if grid is None or len(grid.beat_times) == 0:
        return None
    beats = np.asarray(grid.beat_times, dtype=np.float64)
    k = int(np.searchsorted(beats, t + 1e-9, side="right")) - 1  # the beat at or before t
    if k < 0:
        return None
    downbeats = _downbeats(grid)
    first = int(np.searchsorted(beats, downbeats[0] - 1e-6)) if len(downbeats) else 0
    if k < first:  # pick-up: count so that its last beat leads into beat 1 of bar 1
        return BarBeat(0, max(beats_per_bar(grid) - (first - k) + 1, 1))
    bar = int(np.searchsorted(downbeats, beats[k] + 1e-6, side="right"))
    start = int(np.searchsorted(beats, downbeats[bar - 1] - 1e-6))
    return BarBeat(bar, k - start + 1)


def nearest_beat(grid, t: float) -> float:
    """The beat time (s) nearest to ``t``; ``t`` itself when there are no beats."""
    if grid is None or len(grid.beat_times) == 0:
        return float(t)
    beats = np.asarray(grid.beat_times, dtype=np.float64)
    k = int(np.clip(np.searchsorted(beats, t), 1, len(beats) - 1)) if len(beats) > 1 else 0
    candidates = beats[max(k - 1, 0):k + 1]
    return float(candidates[np.argmin(np.abs(candidates - t))])


def numbered_bars(grid) -> tuple[np.ndarray, np.ndarray]:
    """(start times s, bar numbers from 1), one per bar; empty arrays without beats."""
    if grid is None or len(grid.beat_times) == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    downbeats = _downbeats(grid)
    return downbeats, np.arange(1, len(downbeats) + 1, dtype=np.int64)


def format_position(t: float, grid=None) -> str:
    """"m:ss.cc" and, when the song has beats, "bar.beat": e.g. ``"1:02.35  bar 31.2"``."""
    t = max(float(t), 0.0)
    minutes, seconds = divmod(t, 60.0)
    text = f"{int(minutes)}:{seconds:05.2f}"
    position = bar_beat(grid, t)
    return f"{text}  bar {position}" if position is not None else text
