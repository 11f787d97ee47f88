"""The mixer: one level (dB) per thing playback can play, kept in ``session.view.gains_db``.

A slider per :data:`core.document.view_state.MIXER_SOURCES` entry, from the view state's lowest
level (about silence) to +12 dB; moving one sets the session's view option, which playback follows
at once (with a short crossfade, see :mod:`app.playback`).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QSlider, QWidget

from core.document.session import Session
from core.document.view_state import GAIN_LIMITS_DB, MIXER_SOURCES

SOURCE_LABELS = {"mixture": "Mixture", "vocals": "Vocal", "accompaniment": "Accomp.",
                 "guide": "Sine guide"}


def format_db(db: float) -> str:
    return "off" if db <= GAIN_LIMITS_DB[0] else f"{db:+.0f} dB"


class MixerPanel(QWidget):
    """Sliders in whole dB; ``sliders[name]`` and ``labels[name]`` per mixer source."""

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.sliders: dict[str, QSlider] = {}
        self.labels: dict[str, QLabel] = {}
        grid = QGridLayout(self)
        for column, name in enumerate(MIXER_SOURCES):
            slider = QSlider(Qt.Orientation.Vertical)
            slider.setRange(int(GAIN_LIMITS_DB[0]), int(GAIN_LIMITS_DB[1]))
            slider.setPageStep(6)
            slider.setTickPosition(QSlider.TickPosition.TicksRight)
            slider.setTickInterval(6)
            slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the editor
            slider.setToolTip(f"Playback level of the {SOURCE_LABELS[name].lower()}")
            slider.valueChanged.connect(lambda value, n=name: self._moved(n, value))
            level = QLabel()
            level.setAlignment(Qt.AlignmentFlag.AlignCenter)
            title = QLabel(SOURCE_LABELS[name])
            title.setAlignment(Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(level, 0, column)
            grid.addWidget(slider, 1, column, Qt.AlignmentFlag.AlignHCenter)
            grid.addWidget(title, 2, column)
            self.sliders[name], self.labels[name] = slider, level
        self.refresh()

    def refresh(self) -> None:
        """Show the session's levels (after a project was opened, say)."""
        for name, db in self.session.view.gains_db.items():
            slider = self.sliders[name]
            slider.blockSignals(True)
            slider.setValue(int(round(db)))
            slider.blockSignals(False)
            self.labels[name].setText(format_db(db))

    def _moved(self, name: str, value: int) -> None:
        gains = dict(self.session.view.gains_db)
        gains[name] = float(value)
        self.labels[name].setText(format_db(value))
        self.session.set_view_options(gains_db=gains)
