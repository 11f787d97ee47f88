"""Project files: a song's corrections, view and settings as JSON, adapted weights beside it.

``NAME.isolde`` is UTF-8 JSON::

    {"format": "isolde-project", "version": 1,
     "audio": {"path": "song.flac", "sha256": "..."},      # path relative to the project if it can
     be "corrections": {"times": [...], "f0_hz": [...]},      # seconds, Hz (0 = no voice)
     "view": {...}, "settings": {...},
     "model": {"base": "/path/model.safetensors" | null, "adapted": "NAME.adapted-TAG.safetensors" | null}}

The adapted model is ``NAME.adapted-TAG.safetensors`` plus its ``.json`` card, written by
:func:`core.separation.models.store.save_model` (no pickle anywhere); TAG is new at every save, so
that a save is all or nothing (see :func:`save_project`). Reading validates every field: a
malformed or hostile file raises :class:`~core.errors.ProjectError` with a one-line reason, and the
adapted model may only be a plain file name in the project's own folder.
"""
from __future__ import annotations

import glob
import json
import math
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio.fileio import write_text_atomic
from ..errors import ModelError, ProjectError
from ..separation.corrections import Corrections, range_problem
from .view_state import ViewState, ViewStateError

FORMAT = "isolde-project"
VERSION = 1
EXTENSION = ".isolde"
#: Refuse project files larger than this (bytes): a fully corrected hour-long song is ~10 MB.
MAX_PROJECT_BYTES = 64 * 1024 * 1024
#: Refuse more correction points than this (ten hours at one point per 10 ms).
MAX_POINTS = 3_600_000


@dataclass
class ProjectData:
    """A project as read from disk; paths are resolved, nothing is loaded yet."""

    audio_path: Path
    audio_sha256: str
    corrections: Corrections = field(default_factory=Corrections)
    view: ViewState = field(default_factory=ViewState)
    settings: dict = field(default_factory=dict)
    base_model_path: Path | None = None
    adapted_model_path: Path | None = None


def corrections_to_json(corrections: Corrections) -> dict:
    return {"times": [round(float(t), 6) for t in corrections.times],
            "f0_hz": [round(float(f), 4) for f in corrections.f0_hz]}


def corrections_from_json(data, source: str) -> Corrections:
    """Validate ``{"times": [...], "f0_hz": [...]}``; raise ProjectError naming ``source``."""
    if not isinstance(data, dict) or not isinstance(data.get("times"), list) \
            or not isinstance(data.get("f0_hz"), list):
        raise ProjectError(f"{source}: corrections must hold two lists, times and f0_hz")
    times, f0 = data["times"], data["f0_hz"]
    if len(times) != len(f0):
        raise ProjectError(f"{source}: corrections need one f0_hz per time")
    if len(times) > MAX_POINTS:
        raise ProjectError(f"{source}: too many correction points ({len(times)})")
    for value in (*times, *f0):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
            raise ProjectError(f"{source}: corrections must be finite numbers")
    times_a, f0_a = np.array(times, dtype=np.float64), np.array(f0, dtype=np.float64)
    if (times_a < -1.0).any() or (f0_a < 0).any():
        raise ProjectError(f"{source}: corrections hold negative times or negative F0")
    problem = range_problem(f0_a)
    if problem is not None:
        raise ProjectError(f"{source}: corrections: {problem}")
    return Corrections(times_a, f0_a)


def _finite(value: int | float) -> bool:
    """Whether a JSON number is finite and fits a float (an integer of 400 digits does not)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def adapted_model_file(project_path: str | os.PathLike, tag: str | None = None) -> Path:
    """Where a project's adapted weights live: ``NAME.adapted-TAG.safetensors`` beside it.

    Every save writes them under a new tag, so the project file's rename is the one step that
    switches a project from its old weights to its new ones (see :func:`save_project`).
    """
    project_path = Path(project_path)
    tag = tag if tag is not None else secrets.token_hex(8)
    return project_path.with_name(f"{project_path.stem}.adapted-{tag}.safetensors")


def _adapted_files(project_path: Path) -> list[Path]:
    """Adapted weights (and their cards) ever written for this project by :func:`save_project`."""
    pattern = re.compile(re.escape(project_path.stem) + r"\.adapted(-[0-9a-f]{16})?\.(safetensors|json)")
    return [p for p in project_path.parent.glob(f"{glob.escape(project_path.stem)}.adapted*")
            if pattern.fullmatch(p.name)]


def _relative_or_absolute(path: Path, folder: Path) -> str:
    try:
        return os.path.relpath(path.resolve(), folder.resolve())
    except ValueError:  # another drive on Windows
        return str(path.resolve())


def save_project(path: str | os.PathLike, *, audio_path: str | os.PathLike, audio_sha256: str,
                 corrections: Corrections, view: ViewState, settings: dict | None = None,
                 base_model_path: str | os.PathLike | None = None,
                 adapted_model=None) -> Path:
    """Write the project (and the adapted model, if any) all or nothing; returns its path.

    New adapted weights go to files of their own; the project file, replaced in one rename,
    is what makes them the project's. Until that rename the old project (with its old weights)
    is intact; after it, the weights no project refers to any more are removed.
    """
    from ..separation.models.store import card_path, save_model

    path = Path(path)
    if path.suffix.lower() != EXTENSION:
        path = path.with_name(path.name + EXTENSION)
    problem = range_problem(corrections.f0_hz)
    if problem is not None:
        raise ProjectError(f"Not saved: {problem}")
    adapted_name, written = None, []
    try:
        if adapted_model is not None:
            # Full precision: the adapted weights are the user's work, fp16 would round it.
            target = adapted_model_file(path)
            written = [target, card_path(target)]
            _save_weights(save_model, adapted_model, target, Path(audio_path).name)
            adapted_name = target.name
        document = {
            "format": FORMAT, "version": VERSION,
            "audio": {"path": _relative_or_absolute(Path(audio_path), path.parent),
                      "sha256": audio_sha256},
            "corrections": corrections_to_json(corrections),
            "view": view.to_dict(),
            "settings": dict(settings or {}),
            "model": {"base": str(Path(base_model_path).resolve()) if base_model_path else None,
                      "adapted": adapted_name},
        }
        write_text_atomic(path, json.dumps(document, indent=1) + "\n")
    except BaseException:
        for leftover in written:
            leftover.unlink(missing_ok=True)
        raise
    for old in _adapted_files(path):
        if old.name not in {p.name for p in written}:
            old.unlink(missing_ok=True)
    return path


def _save_weights(save_model, model, target: Path, song_name: str) -> None:
    """Write adapted weights; a failure of the writer (safetensors reports the disk filling up
    as its own error) becomes one line."""
    from safetensors import SafetensorError

    try:
        save_model(model, target, half=False, notes={"adapted_for": song_name})
    except SafetensorError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "write error"
        if "os error 28" in reason or "No space left" in reason:
            raise ProjectError(f"Disk full while writing {target}; the project was not saved") \
                from None
        raise ProjectError(f"Cannot write {target}: {reason}") from None


def _read_json(path: Path) -> dict:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ProjectError(f"No such project file: {path}") from None
    except OSError as exc:
        raise ProjectError(f"Cannot read project file {path}: {exc.strerror or exc}") from None
    if path.is_dir():
        raise ProjectError(f"Expected a project file, got a folder: {path}")
    if not path.is_file():
        raise ProjectError(f"Expected a project file, got a pipe or device: {path}")
    if size > MAX_PROJECT_BYTES:
        raise ProjectError(f"Project file is implausibly large ({size} bytes): {path}")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise ProjectError(f"Not an Isolde project (invalid JSON): {path}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ProjectError(f"Not an Isolde project: {path}")
    if document.get("version") != VERSION:
        raise ProjectError(f"Unsupported project version {document.get('version')!r}: {path}")
    return document


def _resolve_audio(entry, folder: Path, source: str) -> tuple[Path, str]:
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) \
            or not isinstance(entry.get("sha256"), str):
        raise ProjectError(f"{source}: 'audio' must give a path and a sha256")
    sha = entry["sha256"].lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise ProjectError(f"{source}: the audio's sha256 is not a SHA-256 digest")
    if not entry["path"] or "\x00" in entry["path"]:
        raise ProjectError(f"{source}: the audio path is empty or invalid")
    audio = Path(entry["path"])
    return (audio if audio.is_absolute() else folder / audio), sha


def _resolve_models(entry, project: Path, source: str) -> tuple[Path | None, Path | None]:
    if entry is None:
        return None, None
    if not isinstance(entry, dict):
        raise ProjectError(f"{source}: 'model' must be an object")
    base, adapted = entry.get("base"), entry.get("adapted")
    if base is not None and (not isinstance(base, str) or not base or "\x00" in base):
        raise ProjectError(f"{source}: the base model path is invalid")
    if adapted is not None:
        # Only a plain name beside the project: a project cannot point the loader elsewhere.
        if not isinstance(adapted, str) or Path(adapted).name != adapted \
                or adapted in ("", ".", "..") or not adapted.endswith(".safetensors"):
            raise ProjectError(f"{source}: the adapted model must be a .safetensors file "
                               "beside the project")
    return (Path(base) if base else None), (project.parent / adapted if adapted else None)


def load_project(path: str | os.PathLike) -> ProjectData:
    """Read and validate a project file (the audio and models are checked, not loaded).

    A missing adapted model is not an error here: the project's corrections are still good
    (see :func:`core.document.session_files.open_project_iter`).
    """
    path = Path(path)
    try:
        return _load_project(path)
    except OverflowError:  # a JSON integer too large for a float, wherever it is
        raise ProjectError(f"{path.name}: holds a number too large to use") from None


def _load_project(path: Path) -> ProjectData:
    document = _read_json(path)
    source = path.name
    audio_path, sha = _resolve_audio(document.get("audio"), path.parent, source)
    corrections = corrections_from_json(document.get("corrections", {"times": [], "f0_hz": []}),
                                        source)
    try:
        view = ViewState.from_dict(document.get("view", {}))
    except ViewStateError as exc:
        raise ProjectError(f"{source}: view: {exc}") from None
    settings = document.get("settings", {})
    if not isinstance(settings, dict):
        raise ProjectError(f"{source}: 'settings' must be an object")
    base, adapted = _resolve_models(document.get("model"), path, source)
    return ProjectData(audio_path, sha, corrections, view, settings, base, adapted)


def load_adapted_model(data: ProjectData, device="cpu"):
    """The project's adapted model, or None; a bad model file becomes a ProjectError."""
    if data.adapted_model_path is None:
        return None
    from ..separation.model_files import load_checked_model as load_model

    try:
        return load_model(data.adapted_model_path, device=device)
    except ModelError as exc:
        raise ProjectError(f"The project's adapted model cannot be used: {exc}") from None
