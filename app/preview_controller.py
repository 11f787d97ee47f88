"""Hear each correction at once: after a stroke, re-separate what it changed, off the GUI thread.

Drawing calls ``Session.draw`` many times per stroke, so the preview waits until the corrections
have been still for :data:`PREVIEW_DEBOUNCE_MS`, runs ``Session.preview_iter`` (see
:mod:`core.document.preview`) in its own thread, and runs again afterwards if they changed meanwhile. The
new vocals are written into the stems the player reads, so they are heard at once.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from .workers import JobThread

#: Quiet time (ms) after the last change of the corrections before the preview starts.
PREVIEW_DEBOUNCE_MS = 150


class PreviewController(QObject):
    """failed(str): a one-line message when a preview could not be made."""

    failed = Signal(str)

    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self._job: JobThread | None = None
        self._timer = QTimer(self, singleShot=True, interval=PREVIEW_DEBOUNCE_MS)
        self._timer.timeout.connect(self._start)

    @property
    def busy(self) -> bool:
        """True while a preview is waiting or running."""
        return self._timer.isActive() or (self._job is not None and self._job.isRunning())

    def on_session(self, name: str) -> None:
        if name == "corrections" and self.session.result is not None:
            self._timer.start()

    def _start(self) -> None:
        if self._job is not None and self._job.isRunning():
            self._timer.start()  # once this one is done, preview what changed meanwhile
            return
        job = JobThread("preview", self.session.preview_iter, self)
        job.failed.connect(self.failed)
        self._job = job
        job.start()

    def shutdown(self, msecs: int = 5000) -> None:
        self._timer.stop()
        if self._job is not None:
            self._job.cancel()
            self._job.wait(msecs)
