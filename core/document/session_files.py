"""A session's files: project save/open and the crash-recovery copy of its corrections.

Kept apart from :mod:`core.document.session` (the document itself); these functions only read and
commit session state, the formats live in :mod:`core.document.project` and
:mod:`core.document.recovery`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import CorrectionsError, ProjectError
from ..progress import CancelFlag, Job, Progress, scaled
from . import settings_access
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
    session.recovery_offered = None
    discard_recovery(session.audio_sha256, session.recovery_dir)
    return written


def _same_file(a: Path | None, b: Path | None) -> bool:
    return a is not None and b is not None and Path(a).resolve() == Path(b).resolve()


def _base_model_for(session, data) -> tuple[object | None, Path | None]:
    """The project's base model, loaded but not yet in use: (model, path), or (None, None) to
    keep the session's own (the same file, or the project's is not there any more)."""
    from ..separation.model_files import load_checked_model as load_model

    base = data.base_model_path
    if base is None or not base.is_file() or _same_file(base, session.model_path):
        return None, None
    return load_model(base, device="cpu"), base


def _adapted_model_for(data) -> tuple[object | None, str | None]:
    """The project's adapted model and, when it cannot be used, why (the project opens anyway
    with its corrections: the model can be adapted to them again)."""
    if data.adapted_model_path is None:
        return None, None
    if not data.adapted_model_path.is_file():
        return None, (f"The project's adapted model ({data.adapted_model_path.name}) is missing; "
                      "its corrections are restored, press Update DNN to adapt the model again")
    try:
        return load_adapted_model(data), None
    except ProjectError as exc:
        return None, (f"{exc}. The corrections are restored; press Update DNN to adapt the "
                      "model again")


def open_project_iter(session, path: str | Path, cancel: CancelFlag | None = None) -> Job[Path]:
    """Open a project: its song (checked by SHA-256), corrections, view and model, all or nothing.

    Everything is read and checked before the session changes; a failure leaves the song, the
    model and the corrections as they were. The user's own settings are left alone (a project
    records the settings it was made with, for reference only). When the project's adapted model
    is missing or damaged the project still opens, on the base model, and
    :attr:`Session.open_notice` says so. The separation is not stored in the project; run
    :meth:`Session.analyse_iter` afterwards.
    """
    path = Path(path)
    session.open_notice = None
    data = load_project(path)
    if not data.audio_path.is_file():
        raise ProjectError(f"The project's song is missing: {data.audio_path}")
    base_model, base_path = _base_model_for(session, data)
    adapted, notice = _adapted_model_for(data)

    def fits(audio) -> None:
        try:
            data.corrections.check_fits(audio.duration_seconds)
        except CorrectionsError as exc:
            raise ProjectError(f"{path.name}: {exc}") from None

    yield from scaled(session.open_iter(data.audio_path, expected_sha256=data.audio_sha256,
                                        cancel=cancel, validate=fits), 0.0, 0.9)
    if base_model is not None:
        session.use_base_model(base_model, base_path)
    with session._lock:
        session.history.reset(data.corrections)
        session.view = data.view
        if adapted is not None:
            session.model = adapted
        session.mark_saved(path)
        session.open_notice = notice
    for name in ("corrections", "view", "model"):
        session.events.emit(name)
    yield Progress("opening", 1.0, path.name)
    return path


def autosave(session) -> Path | None:
    """Write the recovery copy of the corrections (None when there is nothing to protect).

    A clean session removes its copy, except while the copy is being offered to the user
    (:func:`pending_recovery` until :func:`restore_recovery` or :func:`forget_recovery`).
    """
    if session.audio is None or session.audio_sha256 is None:
        return None
    if not session.is_dirty:
        if session.recovery_offered != session.audio_sha256:
            discard_recovery(session.audio_sha256, session.recovery_dir)
        return None
    return write_recovery(session.audio_sha256, session.audio.path or "", session.corrections,
                          session.view, session.recovery_dir)


def pending_recovery(session) -> Recovery | None:
    """A recovery copy for the open song that holds something the session does not.

    Once returned, the copy is kept on disk until the user answers (restore or forget). A copy
    that cannot be read is moved aside and reported with :class:`~core.errors.RecoveryError`.
    """
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
    session.recovery_offered = session.audio_sha256
    return found


def restore_recovery(session, recovery: Recovery) -> None:
    """Take the recovered corrections (one undoable step) and selection."""
    session.set_corrections(recovery.corrections)
    session.set_selection(*(recovery.view.selection or (None, None)))
    session.recovery_offered = None


def forget_recovery(session) -> None:
    session.recovery_offered = None
    if session.audio_sha256 is not None:
        discard_recovery(session.audio_sha256, session.recovery_dir)
