"""Crash recovery: the latest corrections of each song, kept in the user's state folder.

The editor writes a recovery file shortly after every edit (debounced by the client); the file is
keyed by the audio's SHA-256, so reopening the same song (under any name) finds it. Saving the
project removes it; if the editor dies before that, the next open offers to restore it.

Folder: ``$ISOLDE_RECOVERY_DIR`` if set (tests use it), else ``<user state dir>/isolde/recovery``.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..audio.fileio import write_text_atomic
from ..errors import ProjectError, RecoveryError
from ..separation.corrections import Corrections
from .project import corrections_from_json, corrections_to_json
from .view_state import ViewState, ViewStateError

ENV_VAR = "ISOLDE_RECOVERY_DIR"
FORMAT = "isolde-recovery"


@dataclass
class Recovery:
    """What a recovery file holds. saved_at : seconds since the epoch."""

    audio_path: str
    corrections: Corrections
    view: ViewState
    saved_at: float


def recovery_dir() -> Path:
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    import platformdirs

    return Path(platformdirs.user_state_dir("isolde", appauthor=False)) / "recovery"


def recovery_file(audio_sha256: str, directory: str | os.PathLike | None = None) -> Path:
    if len(audio_sha256) != 64 or not all(c in "0123456789abcdef" for c in audio_sha256):
        raise ValueError("expected a hex SHA-256 digest")
    return Path(directory or recovery_dir()) / f"{audio_sha256}.json"


def write_recovery(audio_sha256: str, audio_path: str | os.PathLike, corrections: Corrections,
                   view: ViewState, directory: str | os.PathLike | None = None) -> Path:
    """Write (atomically) the recovery file of a song; creates the folder if needed."""
    target = recovery_file(audio_sha256, directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    document = {"format": FORMAT, "audio_path": str(audio_path), "saved_at": time.time(),
                "corrections": corrections_to_json(corrections), "view": view.to_dict()}
    write_text_atomic(target, json.dumps(document) + "\n")
    return target


def read_recovery(audio_sha256: str, directory: str | os.PathLike | None = None) -> Recovery | None:
    """The song's recovery, or None if there is none.

    One that cannot be read is renamed ``SHA.damaged-TIME.json`` (out of the way of the next
    autosave, kept for the user) and :class:`RecoveryError` says where it went.
    """
    target = recovery_file(audio_sha256, directory)
    if not target.is_file():
        return None
    try:
        document = json.loads(target.read_text(encoding="utf-8"))
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ProjectError("not a recovery file")
        corrections = corrections_from_json(document.get("corrections"), target.name)
        view = ViewState.from_dict(document.get("view", {}))
        saved_at = float(document.get("saved_at", 0.0))
        audio_path = str(document.get("audio_path", ""))
    except (OSError, UnicodeDecodeError, ValueError, TypeError, OverflowError, RecursionError,
            ProjectError, ViewStateError) as exc:
        kept = set_aside(target)
        raise RecoveryError(f"The unsaved corrections Isolde kept for this song cannot be read "
                            f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                            f"the file was kept as {kept}") from None
    return Recovery(audio_path, corrections, view, saved_at)


def set_aside(target: Path) -> Path:
    """Rename a damaged recovery file so that it is neither offered nor overwritten again."""
    kept = target.with_name(f"{target.stem}.damaged-{time.strftime('%Y%m%d-%H%M%S')}.json")
    n = 1
    while kept.exists():
        kept = target.with_name(f"{target.stem}.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{n}.json")
        n += 1
    try:
        os.replace(target, kept)
    except OSError:
        return target
    return kept


def discard_recovery(audio_sha256: str, directory: str | os.PathLike | None = None) -> None:
    recovery_file(audio_sha256, directory).unlink(missing_ok=True)
