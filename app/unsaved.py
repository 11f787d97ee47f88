"""Unsaved corrections: asked about before closing the editor or opening another file.

Save writes the project (asking where when it has no file yet) and then goes on; Discard drops
the crash-recovery copy too (the user chose to lose the edits, so the next start asks nothing);
Cancel stays where it was.
"""
from __future__ import annotations

from typing import Callable

from . import file_commands, messages


def confirm_unsaved(window, action: str, then: Callable[[bool], None]) -> None:
    """Run ``then(discarded)`` at once when nothing is unsaved, else after the user's answer.

    action : what is about to happen, for the question ("closing", "opening another file")
    """
    session = window.session
    if session.audio is None or not session.is_dirty:
        then(False)
        return

    def save() -> None:
        if session.project_path is not None:
            written = file_commands.save_project_to(window, session.project_path)
        else:
            file_commands.save_project_as(window)
            written = None if session.is_dirty else session.project_path
        if written is not None:
            then(False)

    def discard() -> None:
        session.forget_recovery()
        then(True)

    name = session.audio.path.name if session.audio.path is not None else "this song"
    messages.ask_save(window, f"Your corrections of {name} are not saved. Save them before "
                      f"{action}?", save, discard)
