"""Atomic file writing: a reader sees the old file or the whole new one, never half of one.

The new contents go to a temporary file beside the target, are flushed to the disk (``fsync``),
take the old file's permissions, and replace it in one rename; the folder is synced after the
rename so the new name survives a power cut. A symbolic link is followed: the file it points to
is replaced, the link itself stays.
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import Iterator

from ..errors import IsoldeError

#: Permissions of a new file (the old file's are kept when it is replaced).
NEW_FILE_MODE = 0o644


def resolve_target(path: str | os.PathLike) -> Path:
    """The file a write to ``path`` must replace: ``path`` itself, or what its symlinks point to."""
    target = Path(path)
    if target.is_symlink():
        return Path(os.path.realpath(target))
    return target


def fsync_file(path: str | os.PathLike) -> None:
    """Flush a written file's contents to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(folder: str | os.PathLike) -> None:
    """Flush a folder's entries (renames into it) to the disk, where the system allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the rename itself is still atomic
    finally:
        os.close(fd)


def _mode_for(target: Path) -> int:
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        return NEW_FILE_MODE


def write_error(target: Path, exc: OSError) -> IsoldeError:
    """The one-line error for a failed write of ``target``."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return IsoldeError(f"Disk full while writing {target}; nothing was written")
    return IsoldeError(f"Cannot write {target}: {exc.strerror or exc}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.

    The temporary file keeps ``path``'s extension (or ``suffix``) so that writers that pick a format
    from the name (soundfile) still do. On any error the temporary file is removed and ``path`` is
    left as it was.
    """
    target = resolve_target(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise IsoldeError(f"Output folder does not exist: {directory}")
    if not os.access(directory, os.W_OK):
        raise IsoldeError(f"Output folder is not writable: {directory}")
    if target.is_dir():
        raise IsoldeError(f"Cannot write {target}: a folder of that name is in the way")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.",
                                        suffix=suffix or target.suffix, dir=directory)
    except OSError as exc:
        raise write_error(target, exc) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        fsync_file(tmp)
        os.chmod(tmp, _mode_for(target))
        os.replace(tmp, target)
        fsync_folder(directory)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise write_error(target, exc) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write a binary file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
