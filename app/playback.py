"""Audio output with sounddevice: the stream's callback only copies samples and returns.

Sources are float32 arrays shaped (n_channels or 1, n_samples) at one sample rate, each with a
linear gain; the callback sums the current sources' next ``frames`` samples into the output (mono
sources go to every channel), wraps at the loop end and outputs silence past the end of the song.
Changing the sources or their gains while playing crossfades from the old mix to the new one over
:data:`FADE_FRAMES` frames, so switching what is heard neither clicks nor drops out. Everything else
(opening, starting and stopping the stream, preparing sources, the sine guide) happens outside the
callback; a GUI timer polls :attr:`Player.position` to move the playhead and notices the end.
sounddevice is imported on first use, so that merely importing the editor touches no audio device.
"""
from __future__ import annotations

import numpy as np

from core.errors import IsoldeError

#: Frames per callback: ~23 ms at 44.1 kHz, small enough for a responsive playhead.
BLOCK_FRAMES = 1024
#: Length of the crossfade when the sources or gains change: ~12 ms at 44.1 kHz.
FADE_FRAMES = 512


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    """The same samples in memory (views of one buffer count as the same)."""
    return a is b or (a.shape == b.shape
                      and a.__array_interface__["data"][0] == b.__array_interface__["data"][0])


def _mix(sources, gains, pos: int, take: int, out: np.ndarray) -> None:
    """out (take, C) = the sum of each source's samples pos..pos+take times its gain."""
    if not sources:
        out[:] = 0.0
    for k, (source, gain) in enumerate(zip(sources, gains)):
        piece = source[:, pos:pos + take].T  # (take, 1 or C)
        if piece.shape[0] < take:  # a source shorter than the others: silence after its end
            piece = np.pad(piece, ((0, take - piece.shape[0]), (0, 0)))
        if k == 0:
            out[:] = piece if gain == 1.0 else piece * gain
        else:
            out += piece if gain == 1.0 else piece * gain


class Player:
    """Plays a set of sources; position in samples, loop as (start, stop) samples or None."""

    def __init__(self) -> None:
        self._stream = None
        self._stream_format: tuple[int, int] | None = None
        # (sources, n_samples, loop, gains): replaced as one tuple so the callback sees a
        # consistent set.
        self._state: tuple = ((), 0, None, ())
        # (sources, gains, frames faded so far) of the mix being faded out, or None.
        self._fade: tuple | None = None
        self._fade_always = False
        self.sample_rate = 44100
        self.channels = 2
        self.position = 0
        self.ended = False

    # ------------------------------------------------------------------ outside the callback
    def set_sources(self, sources: list[np.ndarray], sample_rate: int, channels: int,
                    gains: list[float] | None = None) -> None:
        """Play ``sources`` (each (1 or ``channels``, n), times its gain, summed); keeps position
        and loop. A change of sources or gains crossfades (see the module docstring).

        channels : output channels (1 or 2), fixed per song so that switching what is heard
            never changes the stream's format mid-play
        gains : linear gain per source (default 1.0 each)
        """
        sources = tuple(np.asarray(s, dtype=np.float32) for s in sources)
        gains = tuple(float(g) for g in (gains if gains is not None else [1.0] * len(sources)))
        if len(gains) != len(sources):
            raise ValueError("one gain per source")
        n = min((s.shape[1] for s in sources), default=0)
        if channels not in (1, 2) or any(s.shape[0] not in (1, channels) for s in sources):
            raise ValueError("sources must have 1 or `channels` channels; downmix first")
        old_sources, old_n, loop, old_gains = self._state
        same = (len(old_sources) == len(sources) and old_gains == gains
                and all(_same_array(a, b) for a, b in zip(old_sources, sources)))
        if same and n == old_n and int(sample_rate) == self.sample_rate:
            return
        if self.fading and old_sources and n == old_n and int(sample_rate) == self.sample_rate:
            self._fade = (old_sources, old_gains, 0)
        else:  # silent, or another song: nothing to fade from (and nothing old kept alive)
            self._fade = None
        self.sample_rate, self.channels = int(sample_rate), int(channels)
        self._state = (sources, n, loop, gains)
        # Only clamp: the callback advances the position concurrently, and writing back a value
        # read before its last block would replay that block.
        if self.position > n:
            self.position = n

    @property
    def fading(self) -> bool:
        """Whether a change of sources crossfades: while playing (tests set it on to drive the
        callback by hand)."""
        return self._fade_always or self.playing

    @property
    def gains(self) -> tuple[float, ...]:
        """The linear gain of each current source."""
        return self._state[3]

    @property
    def n_samples(self) -> int:
        return self._state[1]

    def set_loop(self, loop_seconds: tuple[float, float] | None) -> None:
        loop = None
        if loop_seconds is not None:
            a = int(max(loop_seconds[0], 0.0) * self.sample_rate)
            b = int(min(loop_seconds[1] * self.sample_rate, self.n_samples))
            loop = (a, b) if b - a >= 64 else None
        sources, n, _, gains = self._state
        self._state = (sources, n, loop, gains)

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
        sources, n, loop, gains = self._state
        fade = started = self._fade
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
            _mix(sources, gains, pos, take, block)
            if fade is not None:
                fade = self._crossfade(fade, pos, block)
            pos += take
            done += take
        self.position = pos
        if started is not None and self._fade is started:  # no newer change came meanwhile
            self._fade = fade

    @staticmethod
    def _crossfade(fade: tuple, pos: int, block: np.ndarray) -> tuple | None:
        """Blend the old mix into the start of ``block`` (new mix at ``pos``); the fade's state
        after it, None once complete."""
        old_sources, old_gains, faded = fade
        take = min(len(block), FADE_FRAMES - faded)
        if take <= 0:
            return None
        old = np.empty((take, block.shape[1]), dtype=np.float32)
        _mix(old_sources, old_gains, pos, take, old)
        ramp = ((faded + np.arange(1, take + 1)) / FADE_FRAMES).astype(np.float32)[:, None]
        block[:take] = old + (block[:take] - old) * ramp
        faded += take
        return None if faded >= FADE_FRAMES else (old_sources, old_gains, faded)
