"""Toolbar controls of the F0 editor's background: colour map and contrast (levels).

The colour map and the levels live in the session's view state (``colormap``,
``picture_levels``; None = automatic, see :mod:`core.document.picture_levels`), so a project reopens
with them and the F0 view redraws from there. Two sliders set the floor (values below it show as the
colour map's darkest colour) and the ceiling (values above it as its brightest); "Auto" hands the
choice back to the picture itself.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSlider,
                               QWidget)

from core.document.session import Session
from core.document.view_state import COLORMAPS, LEVEL_LIMITS

#: Slider units per unit of picture value.
LEVEL_STEPS = 100
COLORMAP_LABELS = {"grey": "Grey", "green": "Green", "viridis": "Viridis",
                   "cividis": "Cividis"}


class PictureControls(QWidget):
    """``colormap`` (a combo box), ``floor`` and ``ceiling`` (sliders), ``auto`` (a button).

    levels_of : callable() -> (floor, ceiling) the view shows now (the automatic ones included),
        so the sliders start from what is on screen
    """

    def __init__(self, session: Session, levels_of, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.levels_of = levels_of
        self.colormap = QComboBox()
        for name in COLORMAPS:
            self.colormap.addItem(COLORMAP_LABELS[name], name)
        self.colormap.setToolTip("Colour map of the background")
        self.colormap.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.colormap.activated.connect(
            lambda i: session.set_view_options(colormap=self.colormap.itemData(i)))
        self.floor = QSlider(Qt.Orientation.Horizontal)
        self.ceiling = QSlider(Qt.Orientation.Horizontal)
        for slider, tip in ((self.floor, "Floor: quieter than this shows as the darkest colour"),
                            (self.ceiling, "Ceiling: louder than this shows as the brightest")):
            slider.setRange(int(LEVEL_LIMITS[0] * LEVEL_STEPS), int(LEVEL_LIMITS[1] * LEVEL_STEPS))
            slider.setFixedWidth(90)
            slider.setToolTip(tip)
            slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            slider.valueChanged.connect(self._moved)
        self.auto = QPushButton("Auto")
        self.auto.setCheckable(True)
        self.auto.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.auto.setToolTip("Contrast chosen from the picture (floor at its median)")
        self.auto.clicked.connect(self._auto_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        for widget in (QLabel("Colours"), self.colormap, QLabel("Contrast"), self.floor,
                       self.ceiling, self.auto):
            layout.addWidget(widget)
        self.colormap.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        self.refresh()

    def refresh(self) -> None:
        """Show the session's colour map and levels."""
        view = self.session.view
        self.colormap.setCurrentIndex(self.colormap.findData(view.colormap))
        floor, ceiling = view.picture_levels or self.levels_of()
        for slider, value in ((self.floor, floor), (self.ceiling, ceiling)):
            slider.blockSignals(True)
            slider.setValue(int(round(value * LEVEL_STEPS)))
            slider.blockSignals(False)
        self.auto.setChecked(view.picture_levels is None)

    def _moved(self, _value: int) -> None:
        lo, hi = LEVEL_LIMITS
        floor = self.floor.value() / LEVEL_STEPS
        ceiling = self.ceiling.value() / LEVEL_STEPS
        if ceiling <= floor:  # keep them apart: the one not being moved gives way
            if self.sender() is self.floor:
                ceiling = min(floor + 1.0 / LEVEL_STEPS, hi)
                floor = ceiling - 1.0 / LEVEL_STEPS
            else:
                floor = max(ceiling - 1.0 / LEVEL_STEPS, lo)
                ceiling = floor + 1.0 / LEVEL_STEPS
        self.session.set_view_options(picture_levels=(floor, ceiling))

    def _auto_clicked(self, on: bool) -> None:
        if on:
            self.session.set_view_options(picture_levels=None)
        else:
            self.session.set_view_options(picture_levels=tuple(self.levels_of()))
