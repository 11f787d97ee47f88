"""Run a CPU-bound function in a separate process, as a job that yields progress while it waits.

Why: some libraries hold the GIL for long stretches (madmom's Cython Viterbi decoding holds it
for up to a second per window of a long song). In a worker thread that freezes the editor's GUI
thread just as surely as running it there; in another process it cannot. The child is started
with "spawn" (never fork a process that runs Qt or CUDA), at a lower priority when the system
allows, and is terminated if the job is cancelled or abandoned.

Only our own module-level functions and their numpy arguments cross the process boundary (as
pickles between two processes of this program; nothing is read from files).
"""
from __future__ import annotations

import multiprocessing
import os
import time
from typing import Callable

from .errors import Cancelled, IsoldeError
from .progress import CancelFlag, Job, Progress

#: Seconds between checks of the child while waiting.
POLL_SECONDS = 0.05


def _child_main(connection, function, args, nice: int) -> None:
    if nice and hasattr(os, "nice"):
        try:
            os.nice(nice)
        except OSError:
            pass
    try:
        connection.send((True, function(*args)))
    except IsoldeError as exc:
        connection.send((False, str(exc)))
    except BaseException as exc:  # the parent turns it into a one-line error
        connection.send((False, f"{type(exc).__name__}: {exc}"))
    finally:
        connection.close()


class ChildProcess:
    """``function(*args)`` running in a child process from construction on.

    nice : added to the child's niceness (lower priority) where supported, so that it uses the
        CPU the GUI and the separation leave over
    """

    def __init__(self, function: Callable, *args, nice: int = 0, name: str = "isolde-child"):
        context = multiprocessing.get_context("spawn")
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_child_main, args=(sender, function, args, nice),
                                        name=name, daemon=True)
        self._process.start()
        sender.close()
        self.started = time.monotonic()

    def wait_iter(self, stage: str, *, expected_seconds: float = 10.0,
                  cancel: CancelFlag | None = None) -> Job[object]:
        """Yield ``Progress(stage, fraction)`` until the child answers; return its result.

        The fraction is elapsed / ``expected_seconds`` (capped at 0.95): the child reports no
        progress of its own. Raises :class:`Cancelled` when ``cancel`` is set and
        :class:`IsoldeError` with the child's message when it failed or died.
        """
        try:
            while not self._receiver.poll(POLL_SECONDS):
                if cancel is not None and cancel.is_set():
                    raise Cancelled("Cancelled; nothing was changed")
                if not self._process.is_alive() and not self._receiver.poll(0):
                    raise IsoldeError(f"The {stage} process stopped unexpectedly "
                                      f"(exit code {self._process.exitcode})")
                elapsed = time.monotonic() - self.started
                yield Progress(stage, min(elapsed / max(expected_seconds, 1e-3), 0.95))
            ok, value = self._receiver.recv()
        except (EOFError, OSError) as exc:
            raise IsoldeError(f"The {stage} process stopped unexpectedly ({exc})") from None
        finally:
            self.stop()
        if not ok:
            raise IsoldeError(value)
        yield Progress(stage, 1.0)
        return value

    def stop(self) -> None:
        """Terminate the child if it still runs (idempotent)."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(timeout=2.0)
        self._receiver.close()
