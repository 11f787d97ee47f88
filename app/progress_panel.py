"""The status-bar panel of a running job: what it does, a progress bar, time left, Cancel."""
from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from core.progress import Progress


def format_seconds(seconds: float) -> str:
    seconds = max(int(round(seconds)), 0)
    return f"{seconds // 60}:{seconds % 60:02d}"


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
        self._started = 0.0
        self.hide()

    def start(self, title: str, *, cancellable: bool = True) -> None:
        self._title, self._started = title, time.monotonic()
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
        elapsed = time.monotonic() - self._started
        if fraction > 0.02 and elapsed > 1.0:
            self.time_left.setText(f"{format_seconds(elapsed * (1 - fraction) / fraction)} left")

    def cancelling(self) -> None:
        self.cancel_button.setEnabled(False)
        self.label.setText(f"{self._title}: cancelling...")

    def stop(self) -> None:
        self.hide()
