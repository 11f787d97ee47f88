"""The F0 editor's pitch axis: a strip of piano keys, note names, a grid line per semitone.

Values on this axis are MIDI note numbers (the editor's y coordinate), one key per semitone.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor

from core.music.pitch import midi_to_note_name

BLACK_KEYS = {1, 3, 6, 8, 10}
#: Width (px) of the key strip along the plot's left edge.
KEY_STRIP = 16
#: Below this many pixels per semitone only the Cs are named.
LABEL_ALL_PIXELS = 13.0


class PianoAxis(pg.AxisItem):
    """A left axis that paints keys next to the plot and names notes."""

    def __init__(self, white: str, black: str) -> None:
        super().__init__("left")
        self.white, self.black = QColor(white), QColor(black)
        self.setStyle(tickLength=0, tickTextOffset=KEY_STRIP + 4)

    def _pixels_per_semitone(self) -> float:
        lo, hi = self.range
        return self.geometry().height() / max(hi - lo, 1e-6)

    def tickValues(self, minVal, maxVal, size):
        lo, hi = int(minVal) - 1, int(maxVal) + 2
        semis = [m for m in range(lo, hi) if minVal <= m <= maxVal]
        cs = [m for m in semis if m % 12 == 0]
        # Grid: strong at every C, light at every semitone (when they are far enough apart).
        levels = [(12.0, cs)]
        if size / max(maxVal - minVal, 1e-6) >= 4.0:
            levels.append((1.0, [m for m in semis if m % 12 != 0]))
        return levels

    def tickStrings(self, values, scale, spacing):
        if spacing >= 12.0 or self._pixels_per_semitone() >= LABEL_ALL_PIXELS:
            return [midi_to_note_name(v) for v in values]
        return ["" for _ in values]

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):
        bounds = self.mapRectFromParent(self.geometry())
        lo, hi = self.range
        scale = bounds.height() / max(hi - lo, 1e-6)
        left = bounds.right() - KEY_STRIP
        p.fillRect(QRectF(left, bounds.top(), KEY_STRIP, bounds.height()), self.white)
        for m in range(int(lo) - 1, int(hi) + 2):
            if m % 12 not in BLACK_KEYS:
                continue
            top = bounds.bottom() - (m + 0.5 - lo) * scale
            p.fillRect(QRectF(left, top, KEY_STRIP * 0.65, scale), self.black)
        super().drawPicture(p, axisSpec, tickSpecs, textSpecs)
