"""User settings through :mod:`core.document.settings` when it is there, defaults otherwise.

``core.document.settings`` (persistent JSON settings in the platform's config folder) is written
separately; until it exists the editor still runs, with the defaults below kept in memory only.
Everything else reads settings through this module so that only this file knows the difference.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

EXPORT_FORMATS = ("wav", "flac")
EXPORT_SUBTYPES = ("pcm16", "pcm24", "float32")
DEVICES = ("auto", "cpu", "cuda")
THEMES = ("dark", "light")
MAX_RECENT = 10
#: Settings that remember a folder, with the user's folder offered before one is remembered.
FOLDER_KEYS = ("export_folder", "project_folder")

try:
    from .settings import Settings, load_settings as _load, save_settings as _save
    PERSISTENT = True
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the build
    if exc.name != "core.document.settings":
        raise
    PERSISTENT = False

    @dataclass
    class Settings:  # type: ignore[no-redef]
        """The defaults used while core.document.settings is missing (same fields)."""

        export_format: str = "wav"
        export_subtype: str = "pcm24"
        device: str = "auto"
        adapt_steps: int = 12  # core.separation.adapt.DEFAULT_ADAPT_STEPS
        theme: str = "dark"
        recent_files: list = field(default_factory=list)
        export_folder: str = ""
        project_folder: str = ""

    def _load(path=None):
        return Settings()

    def _save(settings, path=None):
        return None


def load(path: str | os.PathLike | None = None) -> Settings:
    """The saved settings (defaults where nothing is saved)."""
    return _load(path)


def save(settings: Settings, path: str | os.PathLike | None = None) -> None:
    """Persist ``settings`` (a no-op without core.document.settings)."""
    _save(settings, path)


def to_dict(settings) -> dict:
    """The settings as JSON-ready data (recent files and folders left out: they are not a
    project's business)."""
    d = dataclasses.asdict(settings) if dataclasses.is_dataclass(settings) else dict(vars(settings))
    for key in ("recent_files", *FOLDER_KEYS):
        d.pop(key, None)
    return d


def updated(settings, values: dict):
    """A copy of ``settings`` with the valid entries of ``values``; invalid ones are ignored."""
    checks = {
        "export_format": lambda v: v in EXPORT_FORMATS,
        "export_subtype": lambda v: v in EXPORT_SUBTYPES,
        "device": lambda v: v in DEVICES,
        "adapt_steps": lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 100000,
        "theme": lambda v: v in THEMES,
    }
    good = {k: v for k, v in values.items() if k in checks and checks[k](v)}
    return dataclasses.replace(settings, **good) if dataclasses.is_dataclass(settings) else settings


def user_folder(kind: str) -> Path:
    """The user's folder for ``kind``: "export" -> music, "project" -> documents (platformdirs),
    whichever exists first of that, the documents folder and the home folder."""
    import platformdirs

    candidates = [platformdirs.user_music_dir() if kind == "export" else None,
                  platformdirs.user_documents_dir(), str(Path.home())]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return Path.home()


def start_folder(settings, kind: str) -> Path:
    """Where a dialog for ``kind`` ("export" or "project") opens: the folder remembered in the
    settings while it still exists, else :func:`user_folder`."""
    remembered = getattr(settings, f"{kind}_folder", "") or ""
    if remembered and Path(remembered).is_dir():
        return Path(remembered)
    return user_folder(kind)


def remember_folder(settings, kind: str, folder: str | os.PathLike) -> None:
    """Remember ``folder`` (made absolute) as the last one used for ``kind``."""
    setattr(settings, f"{kind}_folder", os.path.abspath(os.fspath(folder)))


def add_recent(settings, path: str | os.PathLike) -> None:
    """Put ``path`` first in the recent files list (at most :data:`MAX_RECENT`)."""
    if hasattr(settings, "add_recent"):
        settings.add_recent(path)
        return
    entry = str(os.path.abspath(path))
    recent = [p for p in list(getattr(settings, "recent_files", []) or []) if p != entry]
    settings.recent_files = [entry, *recent][:MAX_RECENT]
