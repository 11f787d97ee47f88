"""Audio output with sounddevice: the stream's callback only copies samples and returns.

Sources are float32 arrays shaped (n_channels or 1, n_samples) at one sample rate; the callback
sums the current sources' next ``frames`` samples into the output (mono sources go to every
channel), wraps at the loop end and outputs silence past the end of the song. Everything else
(opening, starting and stopping the stream, preparing sources, the sine guide) happens outside the
callback; a GUI timer polls :attr:`Player.position` to move the playhead and notices the end.
sounddevice is imported on first use, so that merely importing the editor touches no audio device.
"""
from __future__ import annotations

import numpy as np

from core.errors import IsoldeError

#: Frames per callback: ~23 ms at 44.1 kHz, small enough for a responsive playhead.
BLOCK_FRAMES = 1024


class Player:
    """Plays a set of sources; position in samples, loop as (start, stop) samples or None."""

    def __init__(self) -> None:
        self._stream = None
        self._stream_format: tuple[int, int] | None = None
        # (sources, n_samples, loop): replaced as one tuple so the callback sees a consistent set.
        self._state: tuple[tuple[np.ndarray, ...], int, tuple[int, int] | None] = ((), 0, None)
        self.sample_rate = 44100
        self.channels = 2
        self.position = 0
        self.ended = False

    # ------------------------------------------------------------------ outside the callback
    def set_sources(self, sources: list[np.ndarray], sample_rate: int, channels: int) -> None:
        """Play ``sources`` (each (1 or ``channels``, n), summed); keeps position and loop.

        channels : output channels (1 or 2), fixed per song so that switching what is heard
            never changes the stream's format mid-play
        """
        sources = tuple(np.asarray(s, dtype=np.float32) for s in sources)
        n = min((s.shape[1] for s in sources), default=0)
        if channels not in (1, 2) or any(s.shape[0] not in (1, channels) for s in sources):
            raise ValueError("sources must have 1 or `channels` channels; downmix first")
        self.sample_rate, self.channels = int(sample_rate), int(channels)
        self._state = (sources, n, self._state[2])
        self.position = min(self.position, n)

    @property
    def n_samples(self) -> int:
        return self._state[1]

    def set_loop(self, loop_seconds: tuple[float, float] | None) -> None:
        loop = None
        if loop_seconds is not None:
            a = int(max(loop_seconds[0], 0.0) * self.sample_rate)
            b = int(min(loop_seconds[1] * self.sample_rate, self.n_samples))
            loop = (a, b) if b - a >= 64 else None
        sources, n, _ = self._state
        self._state = (sources, n, loop)

    def seek(self, seconds: float) -> None:
        self.position = int(min(max(seconds, 0.0) * self.sample_rate, self.n_samples))
        self.ended = False

    @property
    def time(self) -> float:
        return self.position / float(self.sample_rate)

    @property
    def playing(self) -> bool:
        return self._stream is not None and bool(self._stream.active)

    def play(self) -> None:
        """Start (or resume) output; raises IsoldeError when there is no usable audio device."""
        if self.n_samples == 0:
            return
        if self.position >= self.n_samples and self._state[2] is None:
            self.position = 0
        self.ended = False
        fmt = (self.sample_rate, self.channels)
        try:
            import sounddevice as sd
        except (OSError, ImportError) as exc:  # the PortAudio library itself is missing
            raise IsoldeError(f"Cannot play audio: PortAudio is not available ({exc})") from exc
        try:
            if self._stream is not None and self._stream_format != fmt:
                self.close()
            if self._stream is None:
                self._stream = sd.OutputStream(samplerate=self.sample_rate, channels=self.channels,
                                               dtype="float32", blocksize=BLOCK_FRAMES,
                                               callback=self._callback)
                self._stream_format = fmt
            if not self._stream.active:
                self._stream.start()
        except sd.PortAudioError as exc:
            self.close()
            raise IsoldeError(f"Cannot play audio: {exc}") from exc

    def pause(self) -> None:
        if self._stream is not None and self._stream.active:
            self._stream.stop()

    def close(self) -> None:
        stream, self._stream, self._stream_format = self._stream, None, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception:  # closing a broken stream must not take the editor down
                pass

    # ------------------------------------------------------------------ the callback
    def _callback(self, outdata: np.ndarray, frames: int, time_info, status) -> None:
        sources, n, loop = self._state
        pos = self.position
        if loop is not None and not loop[0] <= pos < loop[1]:
            pos = loop[0]
        end = loop[1] if loop is not None else n
        done = 0
        while done < frames:
            take = min(frames - done, end - pos)
            if take <= 0:
                if loop is None:
                    outdata[done:] = 0.0
                    self.ended = True
                    break
                pos = loop[0]
                continue
            block = outdata[done:done + take]
            if not sources:
                block[:] = 0.0
            for k, source in enumerate(sources):
                piece = source[:, pos:pos + take].T  # (take, 1 or C)
                if k == 0:
                    block[:] = piece
                else:
                    block += piece
            pos += take
            done += take
        self.position = pos
