"""Playback in the editor: what is heard, the playhead timer, looping, the sine guide.

Listening modes (``session.view.listen``): mixture, vocals, accompaniment, the sine guide that
follows the F0 the user sees, or vocals + guide. Each is played at its level in
``session.view.gains_db`` (the mixer; the guide 12 dB down by default). The guide is rendered in
a worker whenever the F0 changes (debounced), never in the GUI thread or the audio callback.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from core.audio.io import to_mono
from core.document.session import Session
from core.document.view_state import GAIN_LIMITS_DB
from core.errors import IsoldeError
from core.music.guide import sine_guide_iter

from .playback import Player
from .workers import JobThread

#: Playhead refresh interval (ms): ~30 Hz.
TICK_MS = 33
#: Wait this long (ms) after the last edit before re-rendering the guide.
GUIDE_DEBOUNCE_MS = 300


def db_to_gain(db: float) -> float:
    """Linear amplitude of a level in dB (0 dB = 1; the mixer's lowest level is silence)."""
    return 0.0 if db <= GAIN_LIMITS_DB[0] else float(10.0 ** (db / 20.0))


def playable(samples: np.ndarray) -> np.ndarray:
    """Mono or stereo as is; more channels are averaged to mono (played on both speakers)."""
    return samples if samples.shape[0] <= 2 else to_mono(samples)[None, :]


class PlaybackController(QObject):
    """Owns the :class:`Player`; the window connects buttons and shortcuts to it.

    position_changed(seconds) : at ~30 Hz while playing, and after a seek
    playing_changed(bool)     : playback started or stopped
    error(str)                : a message for the user (no audio device...)
    """

    position_changed = Signal(float)
    playing_changed = Signal(bool)
    error = Signal(str)

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.player = Player()
        self.guide: np.ndarray | None = None
        self._guide_stale = True
        self._guide_job: JobThread | None = None
        self._timer = QTimer(self, interval=TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._guide_timer = QTimer(self, singleShot=True, interval=GUIDE_DEBOUNCE_MS)
        self._guide_timer.timeout.connect(self._render_guide)

    # ------------------------------------------------------------------ session events
    def on_session(self, name: str) -> None:
        if name == "audio":
            self.stop()
            self.guide, self._guide_stale = None, True
            self.player.seek(0.0)
            self.update_sources()
        elif name in ("separation", "corrections"):
            self._guide_stale = True
            if self._needs_guide():
                self._guide_timer.start()
            if name == "separation":
                self.update_sources()
        elif name in ("view", "stems"):
            self.update_sources()

    def _needs_guide(self) -> bool:
        return "guide" in self.session.view.listen

    def update_sources(self) -> None:
        """Point the player at what the listening mode asks for (instant; no copy of the song)."""
        session = self.session
        if session.audio is None:
            return
        mode, result = session.view.listen, session.result
        gains_db = session.view.gains_db
        named = []  # (mixer source name, samples)
        if mode in ("vocals", "vocals+guide") and result is not None:
            named.append(("vocals", playable(result.vocals)))
        elif mode == "accompaniment" and result is not None:
            named.append(("accompaniment", playable(result.accompaniment)))
        elif mode in ("mixture",) or (mode != "guide" and result is None):
            named.append(("mixture", playable(session.audio.samples)))
        if "guide" in mode:
            if self.guide is not None and len(self.guide) == session.audio.n_samples:
                named.append(("guide", self.guide[None, :]))
            if self._guide_stale:
                self._guide_timer.start()
        if not named:  # guide alone, not rendered yet: silence of the right length
            named.append(("guide", self._silence(session.audio.n_samples)))
        channels = playable(session.audio.samples).shape[0]
        self.player.set_sources([samples for _, samples in named], session.audio.sample_rate,
                                channels, [db_to_gain(gains_db[name]) for name, _ in named])
        loop = session.view.selection if session.view.loop else None
        self.player.set_loop(loop)

    def _silence(self, n: int) -> np.ndarray:
        """Zeros (1, n), kept so that asking for them again is no change for the player."""
        if getattr(self, "_zeros", None) is None or self._zeros.shape[1] != n:
            self._zeros = np.zeros((1, n), dtype=np.float32)
        return self._zeros

    def _render_guide(self) -> None:
        if self.session.audio is None or not self._guide_stale:
            return
        if self._guide_job is not None and self._guide_job.isRunning():
            self._guide_timer.start()  # try again once the running render is done
            return
        times, f0, _ = self.session.effective_f0()
        audio = self.session.audio
        self._guide_stale = False
        job = JobThread("guide", lambda cancel: sine_guide_iter(times, f0, audio.n_samples,
                                                                 audio.sample_rate), self)
        job.succeeded.connect(self._guide_ready)
        self._guide_job = job
        job.start()

    def _guide_ready(self, guide) -> None:
        if self.session.audio is not None and len(guide) == self.session.audio.n_samples:
            self.guide = guide
            self.update_sources()

    # ------------------------------------------------------------------ transport
    def play(self) -> None:
        if self.session.audio is None:
            return
        try:
            self.player.play()
        except IsoldeError as exc:
            self.error.emit(str(exc))
            return
        self._timer.start()
        self.playing_changed.emit(True)

    def pause(self) -> None:
        self.player.pause()
        self._timer.stop()
        self.position_changed.emit(self.player.time)
        self.playing_changed.emit(False)

    def stop(self) -> None:
        if self.player.playing:
            self.pause()

    def toggle(self) -> None:
        self.pause() if self.player.playing else self.play()

    def seek(self, seconds: float) -> None:
        self.player.seek(seconds)
        self.position_changed.emit(self.player.time)

    def _tick(self) -> None:
        if self.player.ended:
            self.pause()
            return
        self.position_changed.emit(self.player.time)

    def shutdown(self) -> None:
        self._timer.stop()
        self._guide_timer.stop()
        self.player.close()
        if self._guide_job is not None:
            self._guide_job.wait(2000)
