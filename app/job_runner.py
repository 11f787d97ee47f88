"""One long job at a time for the document (open, analyse, update, export), shown in the status bar.

Starting a job while another runs cancels the running one and starts the new one when it has
stopped (a new song replaces the analysis of the old one). Failures reach the user through
``on_error``; nothing a job raises can take the editor down.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal

from core.progress import CancelFlag, Job

from .progress_panel import ProgressPanel
from .workers import JobThread


class JobRunner(QObject):
    """job_finished(name, outcome) with outcome "succeeded", "failed" or "cancelled"."""

    job_started = Signal(str)
    job_finished = Signal(str, str)

    def __init__(self, panel: ProgressPanel, on_error: Callable[[str], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.panel = panel
        self.on_error = on_error
        self.current: JobThread | None = None
        self._pending: tuple | None = None
        self._outcome = "succeeded"
        panel.cancel_requested.connect(self.cancel)

    @property
    def running(self) -> bool:
        return self.current is not None

    @property
    def running_name(self) -> str | None:
        return self.current.name if self.current is not None else None

    def start(self, name: str, title: str, make_job: Callable[[CancelFlag], Job], *,
              on_success: Callable[[object], None] | None = None,
              cancellable: bool = True) -> None:
        """Run ``make_job(cancel_flag)``; ``on_success(result)`` runs in the GUI thread."""
        if self.current is not None:
            self._pending = (name, title, make_job, on_success, cancellable)
            self.current.cancel()
            self.panel.cancelling()
            return
        job = JobThread(name, make_job, self)
        job.progress.connect(self.panel.update_progress)
        job.succeeded.connect(self._succeeded)
        job.failed.connect(self._failed)
        job.cancelled.connect(self._cancelled)
        job.finished.connect(self._finished)
        job.on_success = on_success
        self.current, self._outcome = job, "succeeded"
        self.panel.start(title, cancellable=cancellable)
        self.job_started.emit(name)
        job.start()

    def cancel(self) -> None:
        if self.current is not None:
            self.current.cancel()
            self.panel.cancelling()

    def wait(self, msecs: int = 10000) -> bool:
        """Block until the running job has ended (used when the window closes)."""
        return self.current.wait(msecs) if self.current is not None else True

    def _succeeded(self, result) -> None:
        callback = getattr(self.current, "on_success", None)
        if callback is not None:
            try:
                callback(result)
            except Exception as exc:  # a bug in a handler must not kill the editor either
                import traceback

                traceback.print_exc()
                self._outcome = "failed"
                self.on_error(f"Unexpected error: {type(exc).__name__}: {exc}")

    def _failed(self, message: str) -> None:
        self._outcome = "failed"
        self.on_error(message)

    def _cancelled(self) -> None:
        self._outcome = "cancelled"

    def _finished(self) -> None:
        job, self.current = self.current, None
        self.panel.stop()
        if job is not None:
            job.deleteLater()
            self.job_finished.emit(job.name, self._outcome)
        if self._pending is not None:
            name, title, make_job, on_success, cancellable = self._pending
            self._pending = None
            self.start(name, title, make_job, on_success=on_success, cancellable=cancellable)
