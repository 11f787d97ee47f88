"""A real, small file system for the disk-full tests (a 2 MB tmpfs), or a skip saying why.

Mounting needs the right to mount (root, in a container that allows it); elsewhere the tests
that use :func:`full_disk` are skipped with the reason.
"""
from __future__ import annotations

import subprocess

import pytest


@pytest.fixture
def full_disk(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot mount a small file system here: {exc}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True, timeout=30)
