"""The status-bar panel of a running job: what it does, a progress bar, time left, Cancel."""
from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from core.progress import Progress


def format_seconds(seconds: float) -> str:
    seconds = max(int(round(seconds)), 0)
    return f"{seconds // 60}:{seconds % 60:02d}"


class TimeLeftEstimate:
    """Seconds left in a job from the rate of its progress since its first step.

    The time before the first report above 0 (loading, moving the model to the device, a first
    step that warms caches up) says little about the rest, so the rate is measured from that
    report on. No estimate before MIN_SECONDS and MIN_PROGRESS past it.

    clock : callable() -> seconds (time.monotonic; tests pass their own)
    """

    MIN_SECONDS = 1.0
    MIN_PROGRESS = 0.02

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self._first: tuple[float, float] | None = None

    def start(self) -> None:
        self._first = None

    def update(self, fraction: float) -> float | None:
        """Report progress ``fraction`` (0-1); returns the seconds left, or None (not yet)."""
        now = self.clock()
        if fraction <= 0.0:
            return None
        if self._first is None:
            self._first = (now, fraction)
            return None
        t0, f0 = self._first
        if now - t0 < self.MIN_SECONDS or fraction - f0 < self.MIN_PROGRESS:
            return None
        return (1.0 - fraction) * (now - t0) / (fraction - f0)


class ProgressPanel(QWidget):
    """Hidden while idle. ``cancel_requested`` when the user presses Cancel."""

    cancel_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(False)
        self.time_left = QLabel()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.label, self.bar, self.time_left, self.cancel_button):
            layout.addWidget(widget)
        self._title = ""
        self.estimate = TimeLeftEstimate()
        self.hide()

    def start(self, title: str, *, cancellable: bool = True) -> None:
        self._title = title
        self.estimate.start()
        self.label.setText(title)
        self.bar.setValue(0)
        self.time_left.setText("")
        self.cancel_button.setVisible(cancellable)
        self.cancel_button.setEnabled(True)
        self.show()

    def update_progress(self, report: Progress) -> None:
        fraction = min(max(report.fraction, 0.0), 1.0)
        self.bar.setValue(int(round(1000 * fraction)))
        detail = f"{report.stage} {report.message}".strip()
        self.label.setText(f"{self._title}: {detail}" if detail else self._title)
        left = self.estimate.update(fraction)
        if left is not None:
            self.time_left.setText(f"{format_seconds(left)} left")

    def cancelling(self) -> None:
        self.cancel_button.setEnabled(False)
        self.label.setText(f"{self._title}: cancelling...")

    def stop(self) -> None:
        self.hide()
