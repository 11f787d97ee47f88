"""Messages to the user: errors, notices and yes/no questions, all window-modal and non-blocking.

Boxes are opened with ``QMessageBox.open()`` rather than ``exec()``: the event loop keeps running
(playback, progress, tests), and the answer arrives through a callback. The last box shown is kept
in :data:`last_box` so tests (and the screenshot script) can look at it or answer it.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

#: The most recently opened message box (None before any).
last_box: QMessageBox | None = None


def current_box() -> QMessageBox | None:
    """The last box shown, if it still exists (its window may have been closed since)."""
    import shiboken6

    return last_box if last_box is not None and shiboken6.isValid(last_box) else None


def _box(parent: QWidget | None, icon, title: str, text: str, buttons) -> QMessageBox:
    global last_box
    box = QMessageBox(icon, title, text, buttons, parent)
    box.setModal(True)
    last_box = box
    return box


def show_error(parent: QWidget | None, text: str, title: str = "Isolde") -> QMessageBox:
    box = _box(parent, QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok)
    box.open()
    return box


def show_info(parent: QWidget | None, text: str, title: str = "Isolde") -> QMessageBox:
    box = _box(parent, QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok)
    box.open()
    return box


def ask(parent: QWidget | None, text: str, on_yes: Callable[[], None],
        on_no: Callable[[], None] | None = None, title: str = "Isolde") -> QMessageBox:
    """Ask a yes/no question; ``on_yes`` or ``on_no`` runs when it is answered."""
    yes, no = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No
    box = _box(parent, QMessageBox.Icon.Question, title, text, yes | no)

    def answered(button) -> None:
        if box.standardButton(button) == yes:
            on_yes()
        elif on_no is not None:
            on_no()

    box.buttonClicked.connect(answered)
    box.open()
    return box


def ask_save(parent: QWidget | None, text: str, on_save: Callable[[], None],
             on_discard: Callable[[], None], title: str = "Isolde") -> QMessageBox:
    """Ask Save / Discard / Cancel; ``on_save`` or ``on_discard`` runs when chosen (Cancel:
    nothing happens)."""
    buttons = QMessageBox.StandardButton
    box = _box(parent, QMessageBox.Icon.Question, title, text,
               buttons.Save | buttons.Discard | buttons.Cancel)
    box.setDefaultButton(buttons.Save)

    def answered(button) -> None:
        choice = box.standardButton(button)
        if choice == buttons.Save:
            on_save()
        elif choice == buttons.Discard:
            on_discard()

    box.buttonClicked.connect(answered)
    box.open()
    return box
