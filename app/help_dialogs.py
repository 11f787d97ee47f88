"""Help menu: the keyboard shortcuts and the About box (versions, device, model card)."""
from __future__ import annotations

import html

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout

#: Everything the README's "Mouse and keyboard" table lists, and every action's shortcut (a test
#: checks both).
SHORTCUTS = [
    ("Space", "Play / pause"),
    ("Click in any view", "Move the playhead there"),
    ("Left-drag (F0 editor, Pen tool P)", "Draw the F0"),
    ("Right-drag (F0 editor)", "Delete the F0 (no voice: the vocal there is turned down 6 dB)"),
    ("Shift + left-drag, or the Select tool V", "Select a time range"),
    ("Middle-drag, scroll bar", "Pan"),
    ("Wheel", "Zoom time"),
    ("Ctrl + wheel / Shift + wheel", "Zoom / scroll pitch"),
    ("P / V", "Pen tool / Select tool"),
    ("G", "Magnetic pen: drawn F0 snaps to the nearest ridge within a semitone (toggle)"),
    ("Alt+drag", "Draw freely, without the magnet"),
    ("S", "Snap drawn F0 to semitones (toggle)"),
    ("Shift+S", "Snap drawn, deleted and selected stretches to beats (toggle)"),
    ("Page Up / Page Down", "Selection one octave up / down"),
    ("Delete", "Forget the corrections in the selection"),
    ("Esc", "Select nothing"),
    ("Ctrl+Z / Ctrl+Shift+Z (or Ctrl+Y)", "Undo / redo"),
    ("L", "Loop the selection (toggle)"),
    ("F", "Follow the playhead (toggle)"),
    ("M", "Mixer: playback levels (show / hide)"),
    ("Ctrl+= (or Ctrl++) / Ctrl+-", "Zoom time in / out"),
    ("Ctrl+0", "Whole song"),
    ("Shift+F", "Fit the pitch range to the melody"),
    ("N", "Next doubt: show the next stretch where the F0 is most likely wrong"),
    ("D", "Doubts panel: the list of those stretches (show / hide)"),
    ("C", "Next candidate: the selection's F0 an octave up, down, the second source, as it was"),
    ("Ctrl+U", "Update DNN"),
    ("B", "A/B: swap with the previous result"),
    ("Ctrl+O / Ctrl+S / Ctrl+Shift+S", "Open / save project / save project as"),
    ("Ctrl+E", "Export"),
    ("Ctrl+Q", "Quit"),
    ("F1", "This list"),
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


def _card_value(value) -> str:
    """One value of a model card as HTML: numbers rounded, lists as lines, objects as tables."""
    if isinstance(value, dict):
        rows = "".join(f"<tr><td valign='top'><i>{html.escape(_label(k))}</i></td>"
                       f"<td>&nbsp;&nbsp;{_card_value(v)}</td></tr>" for k, v in value.items())
        return f"<table>{rows}</table>"
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return html.escape(", ".join(_card_value(v) for v in value))
        return "<br>".join(_card_value(v) for v in value)
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1e4 else f"{value:.4g}"
    return html.escape(str(value))


def _label(key: str) -> str:
    """"val_raw_pitch_accuracy" -> "validation raw pitch accuracy"."""
    text = str(key).replace("_", " ")
    return "validation " + text[4:] if text.startswith("val ") else text


def model_card_html(card: dict) -> str:
    """A model card (JSON) for reading: its name, notes and configuration as tables."""
    notes = dict(card.get("notes") or {})
    name = notes.pop("name", None) or "Model"
    parts = [f"<h4>{html.escape(str(name))}</h4>"]
    if notes:
        parts.append(_card_value(notes))
    if card.get("config"):
        parts.append("<h4>Configuration</h4>" + _card_value(card["config"]))
    facts = {k: v for k, v in card.items() if k not in ("notes", "config")}
    if facts:
        parts.append("<h4>File</h4>" + _card_value(facts))
    return "".join(parts)


def about_text(session) -> str:
    """HTML: versions of Isolde, PyTorch and Qt, CUDA, the device, the model and its card."""
    import PySide6
    import torch

    import core
    from core.document.session import describe_device

    try:
        device = describe_device(session.device)
    except Exception as exc:  # e.g. cuda chosen but absent
        device = str(exc)
    card = session.model_card()
    card_html = model_card_html(card) if card else \
        f"<p>{html.escape(session.model_problem or 'no model card')}</p>"
    cuda = "available" if torch.cuda.is_available() else "not available"
    return (f"<h3>Isolde {core.__version__}</h3>"
            "<p>Human-in-the-loop singing-voice separation: correct the melody, update the "
            "network, export clean vocals.</p>"
            f"<p>PyTorch {torch.__version__} (CUDA {cuda})<br>Qt for Python {PySide6.__version__}"
            f"<br>Computing on: {device}<br>Model: {session.model_path or 'none'}</p>"
            f"<h3>Model card</h3>{card_html}")


def about_dialog(session, parent=None) -> QDialog:
    return _html_dialog(parent, "About Isolde", about_text(session))
