"""A session's files: project save/open and the crash-recovery copy of its corrections.

Kept apart from :mod:`core.session` (the document itself); these functions only read and commit
session state, the formats live in :mod:`core.project` and :mod:`core.recovery`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import settings_access
from .errors import CorrectionsError, ProjectError
from .progress import CancelFlag, Job, Progress, scaled
from .project import load_adapted_model, load_project, save_project
from .recovery import Recovery, discard_recovery, read_recovery, write_recovery


def save_session_project(session, path: str | Path) -> Path:
    """Write the session as a project (plus its adapted model); clears its recovery copy."""
    if session.audio is None or session.audio.path is None:
        raise ProjectError("Open a song before saving a project")
    written = save_project(
        path, audio_path=session.audio.path, audio_sha256=session.audio_sha256,
        corrections=session.corrections, view=session.view,
        settings=settings_access.to_dict(session.settings), base_model_path=session.model_path,
        adapted_model=session.model if session.is_adapted else None)
    session.mark_saved(written)
    discard_recovery(session.audio_sha256, session.recovery_dir)
    return written


def _same_file(a: Path | None, b: Path | None) -> bool:
    return a is not None and b is not None and Path(a).resolve() == Path(b).resolve()


def open_project_iter(session, path: str | Path, cancel: CancelFlag | None = None) -> Job[Path]:
    """Open a project: its song (checked by SHA-256), corrections, view, settings and model.

    The separation is not stored in the project; run :meth:`Session.analyse_iter` afterwards.
    """
    path = Path(path)
    data = load_project(path)
    if not data.audio_path.is_file():
        raise ProjectError(f"The project's song is missing: {data.audio_path}")
    if data.base_model_path is not None and data.base_model_path.is_file() \
            and not _same_file(data.base_model_path, session.model_path):
        session.load_model(data.base_model_path)
    yield from scaled(session.open_iter(data.audio_path, expected_sha256=data.audio_sha256,
                                        cancel=cancel), 0.0, 0.9)
    try:
        data.corrections.check_fits(session.duration)
    except CorrectionsError as exc:
        raise ProjectError(f"{path.name}: {exc}") from None
    adapted = load_adapted_model(data)
    with session._lock:
        session.history.reset(data.corrections)
        session.view = data.view
        session.settings = settings_access.updated(session.settings, data.settings)
        if adapted is not None:
            session.model = adapted
        session.mark_saved(path)
    for name in ("corrections", "view", "model"):
        session.events.emit(name)
    yield Progress("opening", 1.0, path.name)
    return path


def autosave(session) -> Path | None:
    """Write the recovery copy of the corrections (None when there is nothing to protect)."""
    if session.audio is None or session.audio_sha256 is None:
        return None
    if not session.is_dirty:
        discard_recovery(session.audio_sha256, session.recovery_dir)
        return None
    return write_recovery(session.audio_sha256, session.audio.path or "", session.corrections,
                          session.view, session.recovery_dir)


def pending_recovery(session) -> Recovery | None:
    """A recovery copy for the open song that holds something the session does not."""
    if session.audio_sha256 is None:
        return None
    found = read_recovery(session.audio_sha256, session.recovery_dir)
    if found is None:
        return None
    current, saved = session.corrections, found.corrections
    # The file holds rounded numbers (microseconds, 1e-4 Hz): compare with that tolerance.
    if saved.times.shape == current.times.shape and np.allclose(saved.times, current.times,
                                                                atol=2e-6) \
            and np.allclose(saved.f0_hz, current.f0_hz, atol=2e-4):
        return None
    return found


def restore_recovery(session, recovery: Recovery) -> None:
    """Take the recovered corrections (one undoable step) and selection."""
    session.set_corrections(recovery.corrections)
    session.set_selection(*(recovery.view.selection or (None, None)))


def forget_recovery(session) -> None:
    if session.audio_sha256 is not None:
        discard_recovery(session.audio_sha256, session.recovery_dir)
