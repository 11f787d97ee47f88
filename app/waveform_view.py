"""A waveform on the shared time axis, drawn from min/max envelopes (fast for long songs)."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QTimer

from core.audio.envelope import MinMaxPyramid

from .time_axis import TimeViewBox

#: Width (px) of every view's left axis, so that the time axes of all views line up.
LEFT_AXIS_WIDTH = 64



def selection_region(colours) -> pg.LinearRegionItem:
    """The shaded time selection every view draws (hidden until something is selected)."""
    region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(colours.selection),
                                 pen=pg.mkPen(None))
    region.hide()
    return region


def show_selection(region: pg.LinearRegionItem, selection: tuple[float, float] | None) -> None:
    """Show ``selection`` (t0, t1 in seconds) on ``region``, or hide it for None."""
    if selection is None:
        region.hide()
    else:
        region.setRegion(selection)
        region.show()

class WaveformView(pg.PlotWidget):
    """One envelope curve, a playhead and the selection, in [-1, 1]."""

    def __init__(self, title: str, colour: str, colours, parent=None) -> None:
        self.box = TimeViewBox()
        super().__init__(parent=parent, viewBox=self.box)
        self.setMinimumHeight(60)
        item = self.getPlotItem()
        item.hideButtons()
        item.setMenuEnabled(False)
        item.getAxis("bottom").hide()
        left = item.getAxis("left")
        left.setWidth(LEFT_AXIS_WIDTH)
        left.setTicks([[(0.0, title)]])
        self.box.setYRange(-1.0, 1.0, padding=0.02)
        self.curve = pg.PlotCurveItem(pen=pg.mkPen(colour, width=1), connect="all")
        self.addItem(self.curve)
        self.selection = selection_region(colours)
        self.addItem(self.selection)
        self.playhead = pg.InfiniteLine(0.0, angle=90, movable=False,
                                        pen=pg.mkPen(colours.playhead, width=1))
        self.addItem(self.playhead)
        self.envelope: MinMaxPyramid | None = None
        # Redraw once per event-loop turn however many range changes arrive (wheel bursts).
        self._redraw_timer = QTimer(self, singleShot=True, interval=0)
        self._redraw_timer.timeout.connect(self.redraw)
        self.box.sigXRangeChanged.connect(self._redraw_timer.start)
        self.box.sigResized.connect(self._redraw_timer.start)

    def set_envelope(self, envelope: MinMaxPyramid | None) -> None:
        self.envelope = envelope
        self.redraw()

    def redraw(self) -> None:
        if self.envelope is None:
            self.curve.setData([], [])
            return
        t0, t1 = self.box.viewRange()[0]
        pixels = max(int(self.box.width()), 100)
        x, y = self.envelope.query(t0, t1, pixels)
        self.curve.setData(x, y)

    def set_selection(self, selection: tuple[float, float] | None) -> None:
        show_selection(self.selection, selection)
