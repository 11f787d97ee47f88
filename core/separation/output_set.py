"""A set of result files that appears all together or not at all (``isolde separate``'s results).

The files are written into a hidden staging folder inside the output folder, then moved into
place by :meth:`OutputSet.commit`: the files they replace are first set aside in the staging
folder, and any failure puts them back, so the output folder holds either the whole old set or
the whole new one. SIGINT and SIGTERM wait while the files move. Cheap checks (:meth:`check`)
run before any work; the output folder is only created when there is something to put in it.

Staging folders are named ``.isolde-staging-PID-XXXX``; one whose process is gone (killed with
SIGKILL, a power cut) is removed by the next run that writes into the same folder.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import Iterator

from ..audio.fileio import fsync_folder
from ..errors import IsoldeError

STAGING_PREFIX = ".isolde-staging-"
_STAGING_RE = re.compile(re.escape(STAGING_PREFIX) + r"(\d+)-.*")
#: Free space (bytes) wanted on top of the results' own size.
SPACE_MARGIN_BYTES = 16 * 1024 * 1024
#: Signals that wait while the files are moved into place.
DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(folder: Path) -> None:
    """Remove staging folders left in ``folder`` by runs whose process no longer exists."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        match = _STAGING_RE.fullmatch(entry.name)
        if match and entry.is_dir() and not entry.is_symlink() \
                and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


class OutputSet:
    """The files ``names`` in ``outdir``, written together; ``protect`` (inputs) are never replaced."""

    def __init__(self, outdir: str | os.PathLike, names: tuple[str, ...], *,
                 protect: tuple = ()) -> None:
        self.outdir = Path(outdir)
        self.names = tuple(names)
        self.protect = tuple(Path(p) for p in protect)
        self.staging: Path | None = None
        self._created_outdir = False

    def targets(self) -> list[Path]:
        return [self.outdir / name for name in self.names]

    def check(self, needed_bytes: int = 0) -> None:
        """Refuse now what would fail after the work: an output folder that is a file or cannot
        be written, a result name taken by a folder or by an input, too little free space."""
        if self.outdir.exists() and not self.outdir.is_dir():
            raise IsoldeError(f"The output folder is a file: {self.outdir}")
        base = _existing_ancestor(self.outdir)
        if not base.is_dir():
            raise IsoldeError(f"Cannot create output folder {self.outdir}: {base} is a file")
        if not os.access(base, os.W_OK | os.X_OK):
            if base == self.outdir.absolute():
                raise IsoldeError(f"Output folder is not writable: {self.outdir}")
            raise IsoldeError(f"Cannot create output folder {self.outdir}: {base} is not writable")
        if base != self.outdir.absolute():
            self._probe_creation(base)
        for target in self.targets():
            if any(_same(target, p) for p in self.protect):
                raise IsoldeError(f"Refusing to overwrite the input file {target}")
            if target.is_dir() and not target.is_symlink():
                raise IsoldeError(f"Cannot write {target}: a folder of that name is in the way")
        free = shutil.disk_usage(base).free
        if needed_bytes and free < needed_bytes + SPACE_MARGIN_BYTES:
            raise IsoldeError(f"Not enough free space in {base}: the results need about "
                              f"{(needed_bytes + SPACE_MARGIN_BYTES) / 1e6:.0f} MB, "
                              f"{free / 1e6:.0f} MB are free")

    def _probe_creation(self, base: Path) -> None:
        """Create the missing folders down to the output folder and remove them again."""
        created = []
        try:
            target = self.outdir.absolute()
            for folder in reversed([p for p in (target, *target.parents) if base in p.parents]):
                folder.mkdir()
                created.append(folder)
        except OSError as exc:
            raise IsoldeError(f"Cannot create output folder {self.outdir}: "
                              f"{exc.strerror or exc}") from None
        finally:
            for folder in reversed(created):
                with contextlib.suppress(OSError):
                    folder.rmdir()

    @contextlib.contextmanager
    def staged(self) -> Iterator[Path]:
        """Create the output folder (if needed) and a staging folder in it; yield the staging
        folder. Leaving the block, by success or failure, removes the staging folder, and on
        failure an output folder this run created and left empty."""
        try:
            if not self.outdir.exists():
                self.outdir.mkdir(parents=True)
                self._created_outdir = True
            remove_stale_staging(self.outdir)
            self.staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-",
                                                 dir=self.outdir))
        except OSError as exc:
            self._remove_created_outdir()
            raise self._error(exc) from None
        try:
            yield self.staging
        except BaseException:
            shutil.rmtree(self.staging, ignore_errors=True)
            self._remove_created_outdir()
            raise
        shutil.rmtree(self.staging, ignore_errors=True)

    def _remove_created_outdir(self) -> None:
        if self._created_outdir:
            with contextlib.suppress(OSError):
                self.outdir.rmdir()  # only when empty

    def _error(self, exc: OSError) -> IsoldeError:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return IsoldeError(f"Disk full: the results do not fit in {self.outdir}; "
                               "nothing was written")
        return IsoldeError(f"Cannot write results into {self.outdir}: {exc.strerror or exc}")

    def staged_error(self, exc: IsoldeError) -> IsoldeError:
        """The one-line error for a failure while writing into the staging folder (which the
        user never sees), naming the output folder instead."""
        cause = exc.__cause__
        if isinstance(cause, OSError):
            return self._error(cause)
        message = str(exc)
        if message.startswith("Disk full"):
            return IsoldeError(f"Disk full: the results do not fit in {self.outdir}; "
                               "nothing was written")
        if self.staging is not None:
            message = message.replace(str(self.staging), str(self.outdir))
        return type(exc)(message)

    def commit(self) -> bool:
        """Move every staged file into place, all or nothing; returns True when SIGINT, SIGTERM
        or SIGHUP arrived meanwhile (they were held until the set was complete)."""
        assert self.staging is not None, "commit() belongs inside staged()"
        for name in self.names:
            if not (self.staging / name).is_file():
                raise IsoldeError(f"Internal error: {name} was not written; nothing was changed")
        with _signals_held() as held:
            self._move_into_place()
        return bool(held)

    def _move_into_place(self) -> None:
        for target in self.targets():  # a folder may have appeared since check(): never move it
            if target.is_dir() and not target.is_symlink():
                raise IsoldeError(f"Cannot write {target}: a folder of that name is in the way; "
                                  "nothing was changed")
        backups = self.staging / ".previous"
        backups.mkdir()
        done: list[tuple[Path, Path | None]] = []  # (target, its old file set aside, or None)
        try:
            for name in self.names:
                target = self.outdir / name
                old = None
                if target.exists() or target.is_symlink():
                    old = backups / name
                    os.replace(target, old)
                done.append((target, old))
                os.replace(self.staging / name, target)
            fsync_folder(self.outdir)
        except OSError as exc:
            for target, old in reversed(done):
                with contextlib.suppress(OSError):
                    if old is not None:
                        os.replace(old, target)
                    elif target.exists():
                        target.unlink()
            raise self._error(exc) from None


@contextlib.contextmanager
def _signals_held() -> Iterator[list[int]]:
    """Hold SIGINT/SIGTERM/SIGHUP for the duration of the block; yields the list of those that
    arrived. Outside the main thread (where handlers cannot be set) nothing is held."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    previous = {}
    for sig in DEFERRED_SIGNALS:
        previous[sig] = signal.signal(sig, lambda number, _frame: held.append(number))
    try:
        yield held
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block SIGTERM and SIGHUP stop the work as Ctrl+C does (so that cleanup runs)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_number, _frame):
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
