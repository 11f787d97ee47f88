"""One time axis shared by every view: linked zoom and pan, a scrollbar, following the playhead.

Each view's ViewBox is x-linked to the first one registered, so zooming or panning any of them
moves all. The wheel zooms time around the cursor; the scrollbar pans; :meth:`follow` pages the
view when the playhead leaves it.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QScrollBar

#: Narrowest visible span (s).
MIN_SPAN_SECONDS = 0.05
#: Scrollbar resolution: units per second.
SCROLL_UNITS = 1000


class TimeViewBox(pg.ViewBox):
    """A ViewBox whose wheel and drags act on time only; a left click asks to seek there.

    on_click : callable(seconds) or None, called for a left click without a drag
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.setMouseEnabled(x=True, y=False)
        self.setMenuEnabled(False)
        self.on_click = None

    def wheelEvent(self, ev, axis=None):
        super().wheelEvent(ev, axis=0)

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.MouseButton.LeftButton and self.on_click is not None:
            ev.accept()
            self.on_click(float(self.mapSceneToView(ev.scenePos()).x()))
        else:
            ev.ignore()

    def mouseDragEvent(self, ev, axis=None):
        if ev.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            super().mouseDragEvent(ev, axis=0)  # pan in time
        else:
            ev.ignore()


class TimeAxis(QObject):
    """Keeps the registered ViewBoxes on one time range, mirrored by a scrollbar.

    range_changed(t0, t1) : the visible range in seconds changed
    """

    range_changed = Signal(float, float)

    def __init__(self, scrollbar: QScrollBar, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scrollbar = scrollbar
        self.duration = 0.0
        self._boxes: list[pg.ViewBox] = []
        self._syncing = False
        scrollbar.setOrientation(Qt.Orientation.Horizontal)
        scrollbar.valueChanged.connect(self._scrolled)

    @property
    def leader(self) -> pg.ViewBox | None:
        return self._boxes[0] if self._boxes else None

    def add(self, box: pg.ViewBox) -> None:
        if self._boxes:
            box.setXLink(self._boxes[0])
        else:
            box.sigXRangeChanged.connect(self._range_moved)
        self._boxes.append(box)
        self._apply_limits(box)

    def set_duration(self, seconds: float) -> None:
        """A new song: limits follow its length and the whole song is shown."""
        self.duration = max(float(seconds), MIN_SPAN_SECONDS)
        for box in self._boxes:
            self._apply_limits(box)
        self.set_range(0.0, self.duration)

    def _apply_limits(self, box: pg.ViewBox) -> None:
        if self.duration > 0:
            box.setLimits(xMin=0.0, xMax=self.duration, minXRange=MIN_SPAN_SECONDS,
                          maxXRange=self.duration)

    def visible_range(self) -> tuple[float, float]:
        if self.leader is None:
            return 0.0, 0.0
        t0, t1 = self.leader.viewRange()[0]
        return float(t0), float(t1)

    def set_range(self, t0: float, t1: float) -> None:
        if self.leader is not None:
            self.leader.setXRange(t0, t1, padding=0)

    def zoom(self, factor: float, centre: float | None = None) -> None:
        """Zoom time by ``factor`` (< 1 zooms in) around ``centre`` (s; default the middle)."""
        t0, t1 = self.visible_range()
        centre = 0.5 * (t0 + t1) if centre is None else centre
        span = min(max((t1 - t0) * factor, MIN_SPAN_SECONDS), self.duration or (t1 - t0))
        start = min(max(centre - (centre - t0) * span / (t1 - t0), 0.0), self.duration - span)
        self.set_range(start, start + span)

    def follow(self, t: float) -> None:
        """Page forward (or back) so that ``t`` is visible, leaving a little of the past in view."""
        t0, t1 = self.visible_range()
        if t0 <= t <= t1 or self.duration <= 0:
            return
        span = t1 - t0
        start = min(max(t - 0.1 * span, 0.0), max(self.duration - span, 0.0))
        self.set_range(start, start + span)

    def _range_moved(self, _box=None, _range=None) -> None:
        t0, t1 = self.visible_range()
        self._syncing = True
        try:
            span = max(t1 - t0, 0.0)
            self.scrollbar.setRange(0, max(int((self.duration - span) * SCROLL_UNITS), 0))
            self.scrollbar.setPageStep(max(int(span * SCROLL_UNITS), 1))
            self.scrollbar.setSingleStep(max(int(span * SCROLL_UNITS / 20), 1))
            self.scrollbar.setValue(int(t0 * SCROLL_UNITS))
        finally:
            self._syncing = False
        self.range_changed.emit(t0, t1)

    def _scrolled(self, value: int) -> None:
        if self._syncing:
            return
        t0, t1 = self.visible_range()
        start = value / SCROLL_UNITS
        self.set_range(start, start + (t1 - t0))
