"""The export dialog: into which folder, which audio format and sample format, which items.

It opens on the folder last exported into (or the user's music folder) with the format of the
settings; :meth:`ExportDialog.choice` gives what :meth:`core.document.session.Session.export_iter`
takes.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSlider,
                               QWidget)

from core.document import settings_access
from core.document.session_export import WHAT

from .settings_dialog import SUBTYPE_LABELS, _combo

FORMAT_LABELS = {"wav": "WAV", "flac": "FLAC"}
ITEM_LABELS = {"vocals": "Vocal", "accompaniment": "Accompaniment", "f0": "F0 (CSV)",
               "midi": "Melody (MIDI)"}


class ExportDialog(QDialog):
    """Gathers an export's folder, format and items; OK is enabled while the folder exists."""

    def __init__(self, settings, parent=None, selection: tuple[float, float] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        form = QFormLayout(self)
        self.folder = QLineEdit(str(settings_access.start_folder(settings, "export")))
        browse = QPushButton("Browse...")
        browse.clicked.connect(self._browse)
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.folder, 1)
        layout.addWidget(browse)
        form.addRow("Into folder", row)
        self.audio_format = _combo(settings_access.EXPORT_FORMATS, FORMAT_LABELS,
                                   getattr(settings, "export_format", "wav"))
        self.subtype = _combo(settings_access.EXPORT_SUBTYPES, SUBTYPE_LABELS,
                              getattr(settings, "export_subtype", "pcm24"))
        form.addRow("Audio format", self.audio_format)
        form.addRow("Sample format", self.subtype)
        # Deep Karaoke's binary mask: 0 = the soft mask as heard in the editor.
        self.mask_confidence = QSlider(Qt.Orientation.Horizontal)
        self.mask_confidence.setRange(0, 9)
        self.mask_confidence.setValue(0)
        self.mask_confidence.setToolTip(
            "Soft: the stems as you hear them. Binary: a bin is all voice where the network is "
            "at least this sure, none elsewhere: less bleed, more artefacts.")
        self.mask_label = QLabel()
        self.mask_confidence.valueChanged.connect(self._show_mask_choice)
        mask_row = QWidget()
        mask_layout = QHBoxLayout(mask_row)
        mask_layout.setContentsMargins(0, 0, 0, 0)
        mask_layout.addWidget(self.mask_confidence, 1)
        mask_layout.addWidget(self.mask_label)
        form.addRow("Vocal mask", mask_row)
        self._show_mask_choice()
        # The selection alone (a UVR user's wish: process one section, not the whole song).
        self.selection = selection
        self.only_selection = QCheckBox(
            "Only the selection" if selection is None
            else f"Only the selection ({selection[0]:.2f} - {selection[1]:.2f} s)")
        self.only_selection.setEnabled(selection is not None)
        self.only_selection.setToolTip("Stems and MIDI start at the selection's start; the F0 "
                                       "CSV keeps the song's times. Select a range with "
                                       "Shift-drag or the Select tool (V).")
        form.addRow("Range", self.only_selection)
        self.items = {}
        for item in WHAT:
            box = QCheckBox(ITEM_LABELS[item])
            box.setChecked(True)
            box.toggled.connect(self._validate)
            self.items[item] = box
            form.addRow("" if item != WHAT[0] else "Write", box)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.folder.textChanged.connect(self._validate)
        self._validate()

    @property
    def alpha(self) -> float | None:
        """The binary mask's confidence, or None for the soft mask."""
        value = self.mask_confidence.value()
        return None if value == 0 else value / 10

    def _show_mask_choice(self, *_args) -> None:
        alpha = self.alpha
        self.mask_label.setText("soft" if alpha is None else f"binary, {alpha:.1f}")

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def _validate(self, *_args) -> None:
        ok = Path(self.folder.text()).is_dir() and any(b.isChecked() for b in self.items.values())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def choice(self) -> tuple[Path, dict]:
        """(folder, keyword arguments of ``export_iter``: audio_format, subtype, what,
        mask_confidence, section)."""
        what = tuple(item for item, box in self.items.items() if box.isChecked())
        section = self.selection if self.only_selection.isChecked() else None
        return Path(self.folder.text()), {"audio_format": self.audio_format.currentData(),
                                          "subtype": self.subtype.currentData(), "what": what,
                                          "mask_confidence": self.alpha, "section": section}
