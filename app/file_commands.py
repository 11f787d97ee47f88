"""Commands that start with a dialog: open, save, import, export, model, settings, help.

They only gather a choice from the user and hand it to the main window or the session, so the
tests can drive the same paths directly (``window.open_path``, ``window.export_to``...).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from core.audio.io import READ_EXTENSIONS
from core.document import settings_access
from core.document.project import EXTENSION as PROJECT_EXTENSION
from core.errors import IsoldeError
from core.separation.corrections import Corrections

from .export_dialog import ExportDialog
from .help_dialogs import about_dialog, shortcuts_dialog
from .settings_dialog import SettingsDialog

AUDIO_FILTER = "Songs (" + " ".join(f"*{e}" for e in READ_EXTENSIONS) + ")"
PROJECT_FILTER = f"Isolde projects (*{PROJECT_EXTENSION})"
OPEN_FILTER = ("Songs and projects (" + " ".join(f"*{e}" for e in READ_EXTENSIONS)
               + f" *{PROJECT_EXTENSION})")


def _start_folder(window) -> str:
    audio = window.session.audio
    return str(audio.path.parent) if audio is not None and audio.path is not None else ""


def _open_folder(window) -> str:
    """The folder of the file opened last, else the user's music folder."""
    recent = list(getattr(window.session.settings, "recent_files", []) or [])
    if recent and Path(recent[0]).parent.is_dir():
        return str(Path(recent[0]).parent)
    return str(settings_access.user_folder("export"))


def _remember_folder(window, kind: str, folder) -> None:
    settings_access.remember_folder(window.session.settings, kind, folder)
    try:
        settings_access.save(window.session.settings, window.settings_path)
    except (IsoldeError, OSError) as exc:
        window.statusBar().showMessage(f"Settings not saved: {exc}", 8000)


def choose_and_open(window) -> None:
    path, _ = QFileDialog.getOpenFileName(
        window, "Open a song or a project", _open_folder(window),
        f"{OPEN_FILTER};;{AUDIO_FILTER};;{PROJECT_FILTER};;All files (*)")
    if path:
        window.open_path(path)


def remember_recent(window, path: Path) -> None:
    settings = window.session.settings
    settings_access.add_recent(settings, path)
    try:
        settings_access.save(settings, window.settings_path)
    except (IsoldeError, OSError) as exc:
        window.statusBar().showMessage(f"Settings not saved: {exc}", 8000)
    rebuild_recent_menu(window)


def rebuild_recent_menu(window) -> None:
    menu = window.actions_.recent_menu
    menu.clear()
    recent = list(getattr(window.session.settings, "recent_files", []) or [])
    for entry in recent:
        action = menu.addAction(Path(entry).name)
        action.setToolTip(entry)
        action.triggered.connect(lambda _=False, p=entry: window.open_path(p))
    menu.setEnabled(bool(recent))


def _store_view(window) -> None:
    """Put the visible ranges into the session's view state so the project reopens as it is."""
    t0, t1 = window.time_axis.visible_range()
    lo, hi = window.f0_view.box.viewRange()[1]
    view = window.session.view
    if t1 > t0:
        view.time_range = (max(t0, 0.0), t1)
    if hi > lo:
        view.pitch_range = (lo, hi)


def save_project_to(window, path: str | Path) -> Path | None:
    _store_view(window)
    try:
        written = window.session.save_project(path)
    except IsoldeError as exc:
        window.show_error(str(exc))
        return None
    finally:
        window.session.view.time_range = None
    window.statusBar().showMessage(f"Saved {written}", 6000)
    settings_access.remember_folder(window.session.settings, "project", Path(written).parent)
    remember_recent(window, written)
    return written


def save_project(window) -> None:
    if window.session.project_path is not None:
        save_project_to(window, window.session.project_path)
    else:
        save_project_as(window)


def project_suggestion(window) -> Path:
    """Where "Save project as" proposes to save: beside the project already saved, else the
    song's name in the folder last saved in (or the user's documents folder)."""
    session = window.session
    if session.project_path is not None:
        return session.project_path
    stem = session.audio.path.stem if session.audio.path is not None else "song"
    folder = settings_access.start_folder(session.settings, "project")
    return folder / f"{stem}{PROJECT_EXTENSION}"


def save_project_as(window) -> None:
    audio = window.session.audio
    if audio is None:
        return
    suggestion = project_suggestion(window)
    path, _ = QFileDialog.getSaveFileName(window, "Save project", str(suggestion), PROJECT_FILTER)
    if path:
        save_project_to(window, path)


def import_corrections(window) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Import corrections", _start_folder(window),
                                          "Corrections (*.csv)")
    if not path:
        return
    try:
        window.session.set_corrections(Corrections.load_csv(path))
    except IsoldeError as exc:
        window.show_error(str(exc))


def choose_and_export(window) -> None:
    dialog = ExportDialog(window.session.settings, window,
                          selection=window.session.view.selection)
    dialog.accepted.connect(lambda: export_chosen(window, *dialog.choice()))
    window.export_dialog = dialog
    dialog.open()


def export_chosen(window, folder: Path, options: dict) -> None:
    """Export as chosen in the dialog; the folder and formats become the next defaults."""
    window.session.settings = settings_access.updated(
        window.session.settings,
        {"export_format": options["audio_format"], "export_subtype": options["subtype"]})
    _remember_folder(window, "export", folder)
    window.export_to(folder, **options)


def model_folder(session) -> str:
    """Where "Load model..." opens: the current model's folder (the shipped models' at first)."""
    from core.separation.models.store import DEFAULT_MODEL

    current = session.model_path or DEFAULT_MODEL
    return str(Path(current).parent)


def choose_model(window) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Load a model", model_folder(window.session),
                                          "Isolde models (*.safetensors)")
    if not path:
        return
    try:
        window.session.load_model(path)
    except IsoldeError as exc:
        window.show_error(str(exc))
        return
    if window.session.audio is not None:
        window.analyse()


def apply_settings(window, values: dict) -> None:
    session = window.session
    old_device = getattr(session.settings, "device", "auto")
    session.settings = settings_access.updated(session.settings, values)
    try:
        settings_access.save(session.settings, window.settings_path)
    except (IsoldeError, OSError) as exc:
        window.show_error(f"Settings not saved: {exc}")
    window.refresh_device_label()
    if session.settings.device != old_device:
        try:
            session.device  # noqa: B018 - validates the choice now rather than at the next job
        except IsoldeError as exc:
            window.show_error(str(exc))


def edit_settings(window) -> None:
    dialog = SettingsDialog(window.session.settings, window)
    dialog.accepted.connect(lambda: apply_settings(window, dialog.values()))
    window.settings_dialog = dialog
    dialog.open()


def show_help(window, which: str) -> None:
    dialog = shortcuts_dialog(window) if which == "shortcuts" else about_dialog(window.session,
                                                                               window)
    window.help_dialog = dialog
    dialog.open()
