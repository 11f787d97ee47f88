"""Progress reports yielded by Isolde's long jobs (analysis, separation, adaptation, export, training).

Long work in ``core`` is a generator that yields :class:`Progress` and returns its result
(``StopIteration.value``); :func:`run` drives one to the end for callers that do not need progress,
and :func:`run_with_bar` shows a tqdm bar on stderr for the CLI.
"""
from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import Callable, Generator, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """One progress report.

    stage : short name of the current step ("separating", "beats", "adapting"...)
    fraction : overall progress of the whole job in [0, 1]
    message : optional detail for a status line (e.g. "loss 0.012")
    """

    stage: str
    fraction: float
    message: str = ""


Job = Generator[Progress, None, T]


class CancelFlag:
    """A thread-safe flag a long job checks between steps; ``set()`` asks it to stop."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


def run(job: Job[T], on_progress: Callable[[Progress], None] | None = None) -> T:
    """Drive a job generator to its end and return its result."""
    while True:
        try:
            report = next(job)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(report)


def run_with_bar(job: Job[T], *, description: str = "", min_seconds: float = 1.0) -> T:
    """Drive a job with a tqdm progress bar on stderr (shown only for work over ``min_seconds``)."""
    from tqdm import tqdm

    with tqdm(total=1000, desc=description, file=sys.stderr, delay=min_seconds,
              bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}<{remaining} {postfix}") as bar:
        def update(report: Progress) -> None:
            bar.set_description_str(f"{description} {report.stage}".strip(), refresh=False)
            if report.message:
                bar.set_postfix_str(report.message, refresh=False)
            bar.n = int(round(1000 * min(max(report.fraction, 0.0), 1.0)))
            bar.refresh()

        result = run(job, update)
        bar.n = 1000
        bar.refresh()
        return result


def scaled(job: Job[T], start: float, stop: float) -> Job[T]:
    """Re-map a sub-job's progress fractions into ``[start, stop]`` of a larger job."""
    while True:
        try:
            report = next(job)
        except StopIteration as end:
            return end.value
        yield Progress(report.stage, start + (stop - start) * report.fraction, report.message)
