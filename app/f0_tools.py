"""Mouse gestures of the F0 editor turned into session edits.

Draw tool (default): LEFT-drag draws F0 with the pen (magnetic when that is on: Alt + drag draws
freely), RIGHT-drag deletes (marks "no voice").
Select tool, or Shift + LEFT-drag with the pen: select a time range. A click (no drag) seeks.
MIDDLE-drag pans, the wheel zooms time, Ctrl + wheel zooms pitch, Shift + wheel scrolls pitch.
One drag is one undo step: every move re-applies the whole stroke with the same stroke key.
"""
from __future__ import annotations

import itertools

import pyqtgraph as pg
from PySide6.QtCore import Qt

from core.document.f0_edits import PenStroke
from core.document.session import Session

TOOLS = ("draw", "select")
_stroke_ids = itertools.count(1)


class F0ViewBox(pg.ViewBox):
    """Forwards drags and clicks to a :class:`GestureController` in (seconds, MIDI) coordinates."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.setMenuEnabled(False)
        self.controller: GestureController | None = None

    def wheelEvent(self, ev, axis=None):
        modifiers = ev.modifiers()
        if modifiers & Qt.KeyboardModifier.ShiftModifier:
            lo, hi = self.viewRange()[1]
            step = (hi - lo) * 0.1 * (1 if ev.delta() > 0 else -1)
            self.translateBy(y=step)
            ev.accept()
        elif modifiers & Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(ev, axis=1)
        else:
            super().wheelEvent(ev, axis=0)

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.MouseButton.LeftButton and self.controller is not None:
            ev.accept()
            point = self.mapSceneToView(ev.scenePos())
            self.controller.click(float(point.x()))
        else:
            ev.ignore()

    def mouseDragEvent(self, ev, axis=None):
        if ev.button() == Qt.MouseButton.MiddleButton or self.controller is None:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        point = self.mapSceneToView(ev.scenePos())
        if ev.isStart():
            start = self.mapSceneToView(ev.buttonDownScenePos())
            self.controller.begin(ev.button(), ev.modifiers(), float(start.x()), float(start.y()))
        self.controller.move(float(point.x()), float(point.y()))
        if ev.isFinish():
            self.controller.finish()


class GestureController:
    """The state of the gesture in progress; sends edits and selections to the session.

    on_seek : callable(seconds) for clicks
    """

    def __init__(self, session: Session, on_seek=None) -> None:
        self.session = session
        self.on_seek = on_seek
        self.tool = "draw"
        self._mode: str | None = None
        self._anchor = 0.0
        self._stroke: PenStroke | None = None
        self._key = None
        self._free = False

    @property
    def busy(self) -> bool:
        return self._mode is not None

    def click(self, t: float) -> None:
        if self.on_seek is not None:
            self.on_seek(t)

    def begin(self, button, modifiers, t: float, midi: float) -> None:
        if self.session.audio is None:
            self._mode = None
            return
        shift = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
        self._free = bool(modifiers & Qt.KeyboardModifier.AltModifier)  # no magnet
        self._anchor = t
        self._key = ("gesture", next(_stroke_ids))
        if button == Qt.MouseButton.LeftButton and (self.tool == "select" or shift):
            self._mode = "select"
        elif button == Qt.MouseButton.LeftButton:
            self._mode = "draw"
            self._stroke = PenStroke(t_max=self.session.duration)
            self._stroke.add(t, midi)  # the press point: the drag is only reported from ~5 px on
        elif button == Qt.MouseButton.RightButton:
            self._mode = "erase"
        else:
            self._mode = None

    def move(self, t: float, midi: float) -> None:
        t = min(max(t, 0.0), self.session.duration)
        if self._mode == "draw":
            self._stroke.add(t, midi)
            times, f0 = self._stroke.points()
            self.session.draw(times, f0, stroke=self._key, free=self._free)
        elif self._mode == "erase":
            self.session.erase(self._anchor, t, stroke=self._key)
        elif self._mode == "select":
            self.session.set_selection(self._anchor, t)

    def finish(self) -> None:
        self._mode, self._stroke, self._key = None, None, None
