"""The settings dialog: export format and sample format, device, adaptation steps, theme."""
from __future__ import annotations

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel,
                               QSpinBox)

from core.document import settings_access

SUBTYPE_LABELS = {"pcm16": "16-bit PCM", "pcm24": "24-bit PCM", "float32": "32-bit float"}
DEVICE_LABELS = {"auto": "Automatic (GPU if available)", "cpu": "CPU", "cuda": "CUDA GPU"}


def _combo(values, labels=None, current=None) -> QComboBox:
    combo = QComboBox()
    for value in values:
        combo.addItem((labels or {}).get(value, value), value)
    if current in values:
        combo.setCurrentIndex(list(values).index(current))
    return combo


class SettingsDialog(QDialog):
    """Edits a copy of the settings; :meth:`values` gives the chosen ones."""

    def __init__(self, settings, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        form = QFormLayout(self)
        self.export_format = _combo(settings_access.EXPORT_FORMATS,
                                    {"wav": "WAV", "flac": "FLAC"}, settings.export_format)
        self.export_subtype = _combo(settings_access.EXPORT_SUBTYPES, SUBTYPE_LABELS,
                                     settings.export_subtype)
        self.device = _combo(settings_access.DEVICES, DEVICE_LABELS, settings.device)
        self.adapt_steps = QSpinBox()
        self.adapt_steps.setRange(1, 100000)
        self.adapt_steps.setValue(int(settings.adapt_steps))
        self.theme = _combo(settings_access.THEMES, {"dark": "Dark", "light": "Light"},
                            settings.theme)
        form.addRow("Export audio as", self.export_format)
        form.addRow("Sample format", self.export_subtype)
        form.addRow("Compute on", self.device)
        form.addRow("Update DNN: steps", self.adapt_steps)
        form.addRow("Theme", self.theme)
        if not settings_access.PERSISTENT:
            form.addRow(QLabel("Settings last until Isolde closes in this build."))
        form.addRow(QLabel("FLAC has no 32-bit float; it is written as 24-bit PCM.\n"
                           "The theme applies after a restart."))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict:
        return {"export_format": self.export_format.currentData(),
                "export_subtype": self.export_subtype.currentData(),
                "device": self.device.currentData(),
                "adapt_steps": int(self.adapt_steps.value()),
                "theme": self.theme.currentData()}
