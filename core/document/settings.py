"""Persistent user settings: one small JSON file in the user's configuration folder.

The file is ``settings.json`` in ``platformdirs.user_config_dir("isolde")`` (on Linux
``~/.config/isolde/``), or in the folder named by the ``ISOLDE_CONFIG_DIR`` environment variable
when that is set (tests, portable installs). This module imports no Qt: the editor reads and writes
the same :class:`Settings` the command line could.

Reading never fails: a missing file gives the defaults; a file that is not JSON, or a field with a
wrong type or an unknown value, gives the default for what is bad (and a :class:`SettingsWarning`
that says what was replaced), so a damaged file can never stop the editor from starting. Writing
is atomic (:func:`core.audio.fileio.write_text_atomic`): a reader sees the old file or the new one.
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

#: Environment variable naming the folder that holds settings.json (overrides platformdirs).
CONFIG_DIR_ENV = "ISOLDE_CONFIG_DIR"
FILE_NAME = "settings.json"

EXPORT_FORMATS = ("wav", "flac")
#: The keys of :data:`core.audio.io.SUBTYPES` (16/24-bit PCM, 32-bit float).
EXPORT_SUBTYPES = ("pcm16", "pcm24", "float32")
DEVICES = ("auto", "cpu", "cuda")
THEMES = ("dark", "light")
#: Most recently opened files kept, most recent first.
MAX_RECENT = 10
#: Accepted range of fine-tuning steps per "Update DNN".
ADAPT_STEPS_RANGE = (1, 100_000)
#: Used when core.separation.adapt (which owns the real default) is not importable.
FALLBACK_ADAPT_STEPS = 40


class SettingsWarning(UserWarning):
    """A settings file, or a value in it, was unusable and has been replaced by a default."""


def default_adapt_steps() -> int:
    """core.separation.adapt.DEFAULT_ADAPT_STEPS when that module is there, else 40."""
    try:
        from ..separation.adapt import DEFAULT_ADAPT_STEPS
    except ImportError:
        return FALLBACK_ADAPT_STEPS
    return int(DEFAULT_ADAPT_STEPS)


@dataclass
class Settings:
    """The user's preferences. Unknown or ill-typed values are replaced by defaults on creation.

    export_format : "wav" or "flac"
    export_subtype : "pcm16", "pcm24" or "float32"
    device : "auto", "cpu" or "cuda" (where the network runs)
    adapt_steps : fine-tuning steps per "Update DNN", an int in ADAPT_STEPS_RANGE
    theme : "dark" or "light"
    recent_files : absolute paths, most recent first, at most MAX_RECENT, no duplicates
    export_folder, project_folder : the folders last exported into and last saved a project in
        ("" = none yet: the user's music and documents folders are offered)
    """

    export_format: str = "wav"
    export_subtype: str = "pcm24"
    device: str = "auto"
    adapt_steps: int = field(default_factory=default_adapt_steps)
    theme: str = "dark"
    recent_files: list[str] = field(default_factory=list)
    export_folder: str = ""
    project_folder: str = ""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            fixed = _VALIDATORS[f.name](value)
            if fixed is _INVALID:
                default = _default_of(f.name)
                warnings.warn(f"Setting {f.name}={value!r} is not valid; using {default!r}",
                              SettingsWarning, stacklevel=3)
                fixed = default
            setattr(self, f.name, fixed)

    def add_recent(self, path: str | os.PathLike) -> None:
        """Put ``path`` (made absolute) first in :attr:`recent_files`, dropping older duplicates."""
        entry = os.path.abspath(os.fspath(path))
        self.recent_files = [entry] + [p for p in self.recent_files if p != entry]
        del self.recent_files[MAX_RECENT:]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_INVALID = object()


def _choice(allowed: tuple[str, ...]):
    def check(value: Any) -> Any:
        return value if isinstance(value, str) and value in allowed else _INVALID
    return check


def _check_adapt_steps(value: Any) -> Any:
    low, high = ADAPT_STEPS_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return _INVALID
    return value


def _check_recent(value: Any) -> Any:
    """A list of path strings; bad entries and duplicates are dropped, the list is capped."""
    if not isinstance(value, (list, tuple)):
        return _INVALID
    kept: list[str] = []
    for item in value:
        if isinstance(item, str) and item and item not in kept:
            kept.append(item)
    return kept[:MAX_RECENT]


def _check_folder(value: Any) -> Any:
    return value if isinstance(value, str) else _INVALID


_VALIDATORS = {
    "export_format": _choice(EXPORT_FORMATS),
    "export_subtype": _choice(EXPORT_SUBTYPES),
    "device": _choice(DEVICES),
    "adapt_steps": _check_adapt_steps,
    "theme": _choice(THEMES),
    "recent_files": _check_recent,
    "export_folder": _check_folder,
    "project_folder": _check_folder,
}


def _default_of(name: str) -> Any:
    f = Settings.__dataclass_fields__[name]
    return f.default_factory() if callable(f.default_factory) else f.default


def settings_path(path: str | os.PathLike | None = None) -> Path:
    """The settings file: ``path`` if given, else in $ISOLDE_CONFIG_DIR, else the user config dir."""
    if path is not None:
        return Path(path)
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override).expanduser() / FILE_NAME
    from platformdirs import user_config_dir

    return Path(user_config_dir("isolde", appauthor=False)) / FILE_NAME


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Read the settings; never raises for a missing, unreadable or malformed file (warns instead)."""
    file = settings_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except (OSError, UnicodeDecodeError) as exc:
        warnings.warn(f"Cannot read settings file {file} ({exc}); using defaults",
                      SettingsWarning, stacklevel=2)
        return Settings()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        warnings.warn(f"Settings file {file} is not valid JSON ({exc.msg}, line {exc.lineno}); "
                      "using defaults", SettingsWarning, stacklevel=2)
        return Settings()
    if not isinstance(data, dict):
        warnings.warn(f"Settings file {file} does not hold a JSON object; using defaults",
                      SettingsWarning, stacklevel=2)
        return Settings()
    # Keys this version does not know (from a newer Isolde, say) are ignored.
    known = {f.name: data[f.name] for f in fields(Settings) if f.name in data}
    return Settings(**known)


def save_settings(settings: Settings, path: str | os.PathLike | None = None) -> Path:
    """Write the settings atomically (creating the folder); returns the file written.

    Raises :class:`core.errors.IsoldeError` if the file cannot be written.
    """
    from ..errors import IsoldeError
    from ..audio.fileio import write_text_atomic

    file = settings_path(path)
    # Re-validate: the dataclass is mutable, so a field may have been set to anything since.
    clean = Settings(**settings.to_dict())
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IsoldeError(f"Cannot create the settings folder {file.parent}: "
                          f"{exc.strerror or exc}") from exc
    write_text_atomic(file, json.dumps(clean.to_dict(), indent=2) + "\n")
    return file


__all__ = ["CONFIG_DIR_ENV", "DEVICES", "EXPORT_FORMATS", "EXPORT_SUBTYPES", "MAX_RECENT",
           "Settings", "SettingsWarning", "THEMES", "default_adapt_steps", "load_settings",
           "save_settings", "settings_path"]
