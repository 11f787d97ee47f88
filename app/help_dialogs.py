"""Help menu: the keyboard shortcuts and the About box (versions, device, model card)."""
from __future__ import annotations

import html
import json

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout

SHORTCUTS = [
    ("Space", "Play / pause"),
    ("Click in any view", "Move the playhead there"),
    ("Left-drag (F0 editor, pen)", "Draw the F0"),
    ("Right-drag (F0 editor)", "Delete the F0 (no voice)"),
    ("Shift + left-drag, or the Select tool", "Select a time range"),
    ("Middle-drag", "Pan"),
    ("Wheel", "Zoom time"),
    ("Ctrl + wheel / Shift + wheel", "Zoom / scroll pitch"),
    ("Ctrl+Z / Ctrl+Shift+Z", "Undo / redo"),
    ("Page Up / Page Down", "Selection one octave up / down"),
    ("Delete", "Forget the corrections in the selection"),
    ("S", "Snap drawn F0 to semitones (toggle)"),
    ("L", "Loop the selection (toggle)"),
    ("Ctrl+O / Ctrl+S / Ctrl+E", "Open / save project / export"),
    ("Ctrl+U", "Update DNN"),
    ("Ctrl+= / Ctrl+-", "Zoom in / out"),
]


def _html_dialog(parent, title: str, html: str) -> QDialog:
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    dialog.resize(520, 440)
    layout = QVBoxLayout(dialog)
    text = QTextBrowser()
    text.setHtml(html)
    layout.addWidget(text)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    return dialog


def shortcuts_dialog(parent=None) -> QDialog:
    rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in SHORTCUTS)
    return _html_dialog(parent, "Keyboard shortcuts", f"<table>{rows}</table>")


def about_text(session) -> str:
    """HTML: versions of Isolde, PyTorch and Qt, CUDA, the device, the model and its card."""
    import PySide6
    import torch

    import core
    from core.session import describe_device

    try:
        device = describe_device(session.device)
    except Exception as exc:  # e.g. cuda chosen but absent
        device = str(exc)
    card = session.model_card()
    card_text = json.dumps(card, indent=2) if card else (session.model_problem or "no model card")
    cuda = "available" if torch.cuda.is_available() else "not available"
    return (f"<h3>Isolde {core.__version__}</h3>"
            "<p>Human-in-the-loop singing-voice separation: correct the melody, update the "
            "network, export clean vocals.</p>"
            f"<p>PyTorch {torch.__version__} (CUDA {cuda})<br>Qt for Python {PySide6.__version__}"
            f"<br>Computing on: {device}<br>Model: {session.model_path or 'none'}</p>"
            f"<h4>Model card</h4><pre>{html.escape(card_text)}</pre>")


def about_dialog(session, parent=None) -> QDialog:
    return _html_dialog(parent, "About Isolde", about_text(session))
