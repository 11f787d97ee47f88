"""Help: F1 lists every shortcut (the README's and the actions'), About shows a readable card."""
from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QTextBrowser

pytest_plugins = ["tests.app_fixtures"]  # the window fixtures

README = Path(__file__).resolve().parent.parent / "README.md"
#: Qt's names for keys the list spells out.
QT_KEY_NAMES = {"PgUp": "Page Up", "PgDown": "Page Down", "Del": "Delete"}


def _readme_keys() -> list[str]:
    """The backticked keys of the README's "Mouse and keyboard" table."""
    text = README.read_text(encoding="utf-8")
    table = text.split("### Mouse and keyboard", 1)[1].split("\n\n", 2)[1]
    keys = []
    for row in table.splitlines()[2:]:
        first_column = row.split("|")[1]
        keys += re.findall(r"`([^`]+)`", first_column)
    return keys


def _shortcuts_text(qtbot, window) -> str:
    qtbot.keyClick(window, Qt.Key.Key_F1)
    return window.help_dialog.findChild(QTextBrowser).toPlainText()


def test_f1_lists_every_key_of_the_readme(qtbot, window):
    keys = _readme_keys()
    assert {"B", "P", "V", "Esc", "F", "Ctrl+0", "Shift+S", "Shift+F", "M"} <= set(keys)
    text = _shortcuts_text(qtbot, window)
    missing = [key for key in keys if key not in text]
    assert not missing


def test_f1_lists_every_action_shortcut(qtbot, window):
    text = _shortcuts_text(qtbot, window)
    shortcuts = {key.toString() for action in window.findChildren(QAction)
                 for key in action.shortcuts() if key.toString()}
    assert len(shortcuts) > 25
    missing = [s for s in shortcuts if QT_KEY_NAMES.get(s, s) not in text]
    assert not missing


def test_about_shows_the_model_card_as_text_not_json(qtbot, window):
    window.show_about()
    text = window.help_dialog.findChild(QTextBrowser).toPlainText()
    card = window.session.model_card()
    assert card is not None and "architecture" in text and card["config"]["architecture"] in text
    assert "{" not in text and '"' not in text  # no raw JSON
    assert "svs depth" in text and "svs_depth" not in text  # keys written as words


def test_model_card_values_are_rounded_and_listed():
    from app.help_dialogs import model_card_html

    card = {"format": "isolde-model", "version": 1, "sha256": "ab" * 32,
            "config": {"architecture": "f0_to_svs", "harmonics": [0.5, 1, 2]},
            "notes": {"name": "Test model", "training_validation": {"val_sdr": 9.107269565769538},
                      "trained_with": ["isolde train --steps 10", "isolde train --steps 20"]}}
    html = model_card_html(card)
    assert "<h4>Test model</h4>" in html
    assert "9.107" in html and "9.1072" not in html
    assert "validation sdr" in html and "0.5, 1, 2" in html
    assert "isolde train --steps 10<br>isolde train --steps 20" in html
