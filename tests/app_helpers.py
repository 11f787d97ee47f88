"""Helpers for the editor's tests: songs, waiting for jobs, real mouse drags.

The window fixtures are in :mod:`tests.app_fixtures` (loaded with ``pytest_plugins``).

Mouse events are sent to the plot's viewport as QMouseEvents with the held buttons set (QTest's
mouseMove carries no buttons), spaced 15 ms apart because pyqtgraph drops moves closer than its
``mouseRateLimit`` (100 per second).
"""
from __future__ import annotations

import numpy as np
import soundfile as sf
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from tests.conftest import synth_song

#: Generous: the machine may be busy; a tiny model on a 3 s song takes ~1 s.
JOB_TIMEOUT_MS = 60000


def write_song(path, seconds: float = 3.0, sample_rate: int = 44100, seed: int = 0):
    mixture, _, _ = synth_song(seconds=seconds, sample_rate=sample_rate, seed=seed)
    sf.write(path, mixture.T, sample_rate, subtype="PCM_16")
    return path


def wait_job(qtbot, window, name: str, timeout: int = JOB_TIMEOUT_MS):
    """A context manager waiting for the job ``name`` to end; ``.args`` = (name, outcome)."""
    return qtbot.waitSignal(window.jobs.job_finished, timeout=timeout,
                            check_params_cb=lambda job_name, outcome: job_name == name)


def open_and_analyse(qtbot, window, path) -> None:
    with wait_job(qtbot, window, "analysis") as blocker:
        window.open_path(path)
    assert blocker.args[1] == "succeeded", window.statusBar().currentMessage()


def _send(widget, kind, pos, button, buttons, modifiers) -> None:
    local = QPointF(pos)
    event = QMouseEvent(kind, local, QPointF(widget.mapToGlobal(pos)), button, buttons, modifiers)
    QApplication.sendEvent(widget, event)


def drag(qtbot, view, points, *, button=Qt.MouseButton.LeftButton,
         modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """Press at the first (seconds, MIDI) point of ``view``, move through the rest, release."""
    viewport = view.viewport()
    pixels = [view.view_to_widget(t, midi) for t, midi in points]
    none = Qt.MouseButton.NoButton
    _send(viewport, QMouseEvent.Type.MouseMove, pixels[0], none, none, modifiers)
    _send(viewport, QMouseEvent.Type.MouseButtonPress, pixels[0], button, button, modifiers)
    for pixel in pixels[1:]:
        qtbot.wait(15)
        _send(viewport, QMouseEvent.Type.MouseMove, pixel, none, button, modifiers)
    qtbot.wait(15)
    _send(viewport, QMouseEvent.Type.MouseButtonRelease, pixels[-1], button, none, modifiers)


def click(qtbot, view, point, *, button=Qt.MouseButton.LeftButton) -> None:
    """A click without movement at (seconds, y) of a view (y in the view's units)."""
    pixel = view.box.mapViewToScene(QPointF(*point))
    pixel = view.mapFromScene(pixel)
    viewport = view.viewport()
    none = Qt.MouseButton.NoButton
    _send(viewport, QMouseEvent.Type.MouseMove, pixel, none, none, Qt.KeyboardModifier.NoModifier)
    _send(viewport, QMouseEvent.Type.MouseButtonPress, pixel, button, button,
          Qt.KeyboardModifier.NoModifier)
    _send(viewport, QMouseEvent.Type.MouseButtonRelease, pixel, button, none,
          Qt.KeyboardModifier.NoModifier)


def line(t0: float, t1: float, midi0: float, midi1: float, n: int = 8) -> list[tuple[float, float]]:
    return list(zip(np.linspace(t0, t1, n), np.linspace(midi0, midi1, n)))


def open_and_correct(qtbot, window, path, drawn: tuple[float, float, float, float],
                     deleted: tuple[float, float]):
    """Open and analyse ``path``, draw the F0 along ``drawn`` = (t0, t1, midi0, midi1) and delete
    it over ``deleted`` = (t0, t1), both with the mouse; returns the window."""
    open_and_analyse(qtbot, window, path)
    window.f0_view.box.setYRange(48, 72, padding=0)
    drag(qtbot, window.f0_view, line(*drawn))
    drag(qtbot, window.f0_view, line(*deleted, 60.0, 60.0), button=Qt.MouseButton.RightButton)
    return window
