"""The doubts panel: the stretches where the F0 is most likely wrong, longest first.

The list is ``Session.doubtful_stretches()``, the one ``N`` (Next doubt) walks through, so entry
``i`` is the stretch ``N`` shows as doubt ``i + 1``. A click on an entry calls ``on_pick(i)``.
The list is rebuilt a moment after the corrections or the separation change
(:data:`REFRESH_DELAY_MS`: a pen stroke changes them at every mouse move), and only while the
panel shows; it holds the :data:`MAX_SHOWN` longest stretches and says so when there are more.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QLabel, QListWidget, QVBoxLayout, QWidget

#: At most this many stretches are listed (the longest); a long song can have hundreds.
MAX_SHOWN = 200
#: Quiet time (ms) after the last change before the list is rebuilt.
REFRESH_DELAY_MS = 150
#: Session events after which the doubts may have changed.
REFRESH_EVENTS = ("audio", "separation", "stems", "corrections")


def format_minutes(seconds: float) -> str:
    """"m:ss.s", e.g. 83.27 -> "1:23.3"."""
    tenths = int(round(max(float(seconds), 0.0) * 10))
    minutes, tenths = divmod(tenths, 600)
    return f"{minutes}:{tenths // 10:02d}.{tenths % 10}"


def format_doubt(t0: float, t1: float) -> str:
    """One entry: where the stretch starts and how long it is, e.g. "1:23.3   2.4 s"."""
    return f"{format_minutes(t0)}   {t1 - t0:.1f} s"


class DoubtsPanel(QWidget):
    """``list`` shows :attr:`stretches` (s, as ``Session.doubtful_stretches()``, capped);
    ``summary`` says how many there are."""

    def __init__(self, session, on_pick: Callable[[int], None], parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.stretches: list[tuple[float, float]] = []
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.list = QListWidget()
        self.list.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the editor
        self.list.setToolTip("Where the F0 is most likely wrong, longest first: start, length. "
                             "Click to show and select it.")
        self.list.itemClicked.connect(lambda item: on_pick(self.list.row(item)))
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.list)
        self._stale = True
        self._timer = QTimer(self, singleShot=True, interval=REFRESH_DELAY_MS)
        self._timer.timeout.connect(self.refresh)

    def on_session(self, name: str) -> None:
        if name in REFRESH_EVENTS:
            self._stale = True
            if self.isVisible():
                self._timer.start()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        """Rebuild the list from the session now."""
        self._timer.stop()
        self._stale = False
        everything = self.session.doubtful_stretches()
        self.stretches = everything[:MAX_SHOWN]
        self.list.clear()
        self.list.addItems([format_doubt(t0, t1) for t0, t1 in self.stretches])
        if not everything:
            text = "No doubtful F0 left." if self.session.result is not None \
                else "Nothing analysed yet."
        elif len(everything) > MAX_SHOWN:
            text = f"The {MAX_SHOWN} longest of {len(everything)} doubtful stretches:"
        else:
            text = f"{len(everything)} doubtful stretches, longest first:"
        self.summary.setText(text)
