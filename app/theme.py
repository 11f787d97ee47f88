"""Colours of the editor for the dark and the light theme."""
from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


#: The pyqtgraph palette of each colour map name of :data:`core.document.view_state.COLORMAPS`.
COLORMAP_PALETTES = {"grey": "CET-L1", "green": "CET-L5", "viridis": "viridis",
                     "cividis": "cividis"}


@dataclass(frozen=True)
class Colours:
    background: str
    foreground: str
    mixture: str
    vocals: str
    accompaniment: str
    estimated_f0: str
    corrected_f0: str
    deleted: str
    beat: tuple
    downbeat: tuple
    playhead: str
    selection: tuple
    white_key: str
    black_key: str


# The F0 colours differ in hue from each other and from every colour map's bright end (white,
# yellow, light blue): cyan estimate, magenta corrections, red deletions, a blue selection.
DARK = Colours(background="#1b1d22", foreground="#d0d0d0", mixture="#7aa6d6", vocals="#e8a24a",
               accompaniment="#8fbf7f", estimated_f0="#3fd8ff", corrected_f0="#ff4fe0",
               deleted="#ff2a2a", beat=(255, 255, 255, 40), downbeat=(255, 255, 255, 110),
               playhead="#ffffff", selection=(70, 150, 255, 60),
               white_key="#d8d8d8", black_key="#303030")
LIGHT = Colours(background="#fbfbfb", foreground="#202020", mixture="#2f5f9a", vocals="#b8600c",
                accompaniment="#3f7f2f", estimated_f0="#0050ff", corrected_f0="#e020c0",
                deleted="#e00000", beat=(0, 0, 0, 40), downbeat=(0, 0, 0, 120),
                playhead="#000000", selection=(60, 120, 220, 60),
                white_key="#ffffff", black_key="#404040")


def colours(theme: str) -> Colours:
    return LIGHT if theme == "light" else DARK


def apply_theme(theme: str) -> Colours:
    """Set pyqtgraph's defaults and the application palette; returns the colours to use."""
    c = colours(theme)
    pg.setConfigOptions(background=c.background, foreground=c.foreground,
                        imageAxisOrder="row-major", antialias=False)
    app = QApplication.instance()
    if app is not None:
        palette = QPalette()
        if theme != "light":
            palette.setColor(QPalette.ColorRole.Window, QColor("#2a2d33"))
            palette.setColor(QPalette.ColorRole.WindowText, QColor("#e0e0e0"))
            palette.setColor(QPalette.ColorRole.Base, QColor("#202226"))
            palette.setColor(QPalette.ColorRole.AlternateBase, QColor("#2a2d33"))
            palette.setColor(QPalette.ColorRole.Text, QColor("#e0e0e0"))
            palette.setColor(QPalette.ColorRole.Button, QColor("#33363d"))
            palette.setColor(QPalette.ColorRole.ButtonText, QColor("#e0e0e0"))
            palette.setColor(QPalette.ColorRole.Highlight, QColor("#e0782b"))
            palette.setColor(QPalette.ColorRole.ToolTipBase, QColor("#33363d"))
            palette.setColor(QPalette.ColorRole.ToolTipText, QColor("#e0e0e0"))
        app.setPalette(palette)
    return c
