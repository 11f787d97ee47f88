"""Session events as a Qt signal, delivered in the GUI thread.

A job commits its result to the session from a worker thread, so the session's plain callbacks
run there. Emitting a Qt signal from that thread queues the delivery to receivers that live in the
GUI thread; within the GUI thread (edits) the delivery is immediate.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from core.document.session import Session


class SessionBridge(QObject):
    """Re-emits every session event name as :attr:`changed`."""

    changed = Signal(str)

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        session.events.connect(self._forward)

    def _forward(self, name: str) -> None:
        self.changed.emit(name)

    def detach(self) -> None:
        self.session.events.disconnect(self._forward)
