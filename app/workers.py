"""Long jobs off the GUI thread: a QThread that drives one of core's progress generators.

Signals (all delivered in the GUI thread):
    progress(Progress)   every report the generator yields
    succeeded(object)    the generator's return value
    failed(str)          a one-line message for the user (IsoldeError text, or an unexpected error)
    cancelled()          the job stopped because :meth:`cancel` was called
and QThread's own ``finished`` after any of the last three.
"""
from __future__ import annotations

import sys
import traceback
from typing import Callable

from PySide6.QtCore import QThread, Signal

from core.errors import Cancelled, IsoldeError
from core.progress import CancelFlag, Job


class JobThread(QThread):
    """Runs ``make_job(cancel_flag)`` (which returns a generator) in its own thread."""

    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, name: str, make_job: Callable[[CancelFlag], Job], parent=None) -> None:
        super().__init__(parent)
        self.name = name
        self.cancel_flag = CancelFlag()
        self._make_job = make_job
        self.result = None
        self.error: str | None = None

    def cancel(self) -> None:
        """Ask the job to stop at its next step (returns at once)."""
        self.cancel_flag.set()

    def run(self) -> None:  # runs in the worker thread
        try:
            job = self._make_job(self.cancel_flag)
            while True:
                if self.cancel_flag.is_set():
                    job.close()
                    raise Cancelled("cancelled")
                try:
                    report = next(job)
                except StopIteration as stop:
                    self.result = stop.value
                    break
                self.progress.emit(report)
        except Cancelled:
            self.cancelled.emit()
            return
        except IsoldeError as exc:
            self.error = str(exc)
        except MemoryError:
            self.error = f"{self.name}: out of memory"
        except Exception as exc:  # a bug: tell the user, keep the editor alive, log the trace
            traceback.print_exc(file=sys.stderr)
            self.error = f"{self.name} failed unexpectedly: {type(exc).__name__}: {exc}"
        if self.error is not None:
            self.failed.emit(self.error)
        else:
            self.succeeded.emit(self.result)
