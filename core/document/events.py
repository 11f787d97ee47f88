"""A tiny observer list: the session's change events, without Qt.

Views subscribe with ``hub.connect(callback)``; the document calls ``hub.emit(name)`` once per
change. Callbacks run in the thread that made the change: a long job that commits its result from
a worker thread emits there, so a Qt client forwards events through a queued signal (see
``app/session_bridge.py``).
"""
from __future__ import annotations

import threading
from typing import Callable

Callback = Callable[[str], None]

#: The events a :class:`~core.document.session.Session` emits, and what changed when it does.
EVENT_NAMES = {
    "audio": "a song was opened (everything derived from the previous one is gone)",
    "analysis": "the log spectrogram on the F0 grid (the editor's background) is ready",
    "separation": "a new separation result: estimated F0, vocal and accompaniment",
    "stems": "the stems changed in place where the corrections changed (core.document.preview)",
    "beats": "the beat grid is ready",
    "corrections": "the corrections changed (edit, undo, redo, restore, load)",
    "model": "the model changed (loaded, adapted, reset, A/B swapped)",
    "view": "view state changed (selection, snapping, listening mode...)",
}


class EventHub:
    """Callbacks called with the event name, in the order they were connected."""

    def __init__(self) -> None:
        self._callbacks: list[Callback] = []
        self._lock = threading.Lock()

    def connect(self, callback: Callback) -> None:
        with self._lock:
            if callback not in self._callbacks:
                self._callbacks.append(callback)

    def disconnect(self, callback: Callback) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def emit(self, name: str) -> None:
        if name not in EVENT_NAMES:
            raise ValueError(f"unknown session event {name!r}")
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback(name)
