"""The bar numbers above the F0 editor: an axis whose ticks are the song's downbeats.

Ticks are thinned to every 2nd, 4th, 8th... bar when bars get narrower than
:data:`MIN_LABEL_PIXELS` on screen, so the numbers never overlap.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from core.music.bars import numbered_bars

#: Closest two bar numbers may be on screen (pixels).
MIN_LABEL_PIXELS = 32.0


class BarAxis(pg.AxisItem):
    """Top axis labelled with bar numbers (see :func:`core.music.bars.numbered_bars`)."""

    def __init__(self, **kwargs) -> None:
        super().__init__("top", **kwargs)
        self.setStyle(tickLength=-6)
        self.times = np.zeros(0)
        self.numbers = np.zeros(0, dtype=np.int64)

    def set_grid(self, grid) -> None:
        """Show the bars of a :class:`core.music.beats.BeatGrid` (None: no bars)."""
        self.times, self.numbers = numbered_bars(grid)
        self.picture = None  # pyqtgraph redraws the axis from scratch
        self.update()

    def tickValues(self, minVal, maxVal, size):
        if len(self.times) == 0 or maxVal <= minVal:
            return []
        lo, hi = np.searchsorted(self.times, [minVal, maxVal + 1e-9])
        visible = np.arange(lo, hi)
        if len(visible) == 0:
            return []
        bar_seconds = float(np.median(np.diff(self.times))) if len(self.times) > 1 else 1.0
        bar_pixels = bar_seconds * size / (maxVal - minVal)
        every = 1
        while every * bar_pixels < MIN_LABEL_PIXELS and every < len(self.times):
            every *= 2
        shown = visible[(self.numbers[visible] - 1) % every == 0]
        return [(every * bar_seconds, self.times[shown].tolist())]

    def tickStrings(self, values, scale, spacing):
        index = np.clip(np.searchsorted(self.times, np.asarray(values) - 1e-6), 0,
                        max(len(self.times) - 1, 0))
        return [str(int(self.numbers[i])) if len(self.numbers) else "" for i in index]
