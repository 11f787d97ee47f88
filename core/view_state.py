"""What the editor shows and how it edits, saved with a project so it reopens as it was left.

Times in seconds, pitches as MIDI note numbers (float; 60 = C4). Validation happens in
:meth:`ViewState.from_dict`, which a project or recovery file goes through.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

#: What playback can play.
LISTEN_MODES = ("mixture", "vocals", "accompaniment", "guide", "vocals+guide")
#: Backgrounds of the F0 editor: the mixture's log spectrogram or the network's F0 saliency.
BACKGROUNDS = ("spectrogram", "saliency")
#: Pitch range the editor can show (MIDI), a little wider than the F0 grid.
MIDI_LIMITS = (24.0, 96.0)


class ViewStateError(ValueError):
    """A view-state dictionary that does not describe a view state."""


def _range(value, name: str, lo: float = -math.inf, hi: float = math.inf):
    if value is None:
        return None
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise ViewStateError(f"{name} must be two numbers")
    a, b = float(value[0]), float(value[1])
    if not (math.isfinite(a) and math.isfinite(b)) or not lo <= a < b <= hi:
        raise ViewStateError(f"{name} must be two increasing finite numbers in [{lo}, {hi}]")
    return (a, b)


@dataclass
class ViewState:
    """time_range : visible (start, end) in s, None = whole song
    pitch_range : visible (low, high) MIDI note numbers in the F0 editor
    selection : selected (start, end) in s, or None; also the playback loop when looping
    snap_to_semitones : drawn F0 is rounded to the nearest semitone
    follow_playhead : the view pages along with playback
    loop : playback loops over the selection
    listen : one of :data:`LISTEN_MODES`
    show_accompaniment : the accompaniment waveform is shown under the vocal one
    background : one of :data:`BACKGROUNDS`
    """

    time_range: tuple[float, float] | None = None
    pitch_range: tuple[float, float] = (43.0, 84.0)
    selection: tuple[float, float] | None = None
    snap_to_semitones: bool = False
    follow_playhead: bool = True
    loop: bool = False
    listen: str = "mixture"
    show_accompaniment: bool = False
    background: str = "spectrogram"

    def to_dict(self) -> dict:
        d = asdict(self)
        for key in ("time_range", "pitch_range", "selection"):
            if d[key] is not None:
                d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, d) -> "ViewState":
        """Build from JSON data; unknown keys are ignored, wrong types raise :class:`ViewStateError`."""
        if not isinstance(d, dict):
            raise ViewStateError("view state must be an object")
        state = cls()
        if "time_range" in d:
            state.time_range = _range(d["time_range"], "time_range", 0.0)
        if "pitch_range" in d:
            state.pitch_range = _range(d["pitch_range"], "pitch_range", *MIDI_LIMITS) \
                or state.pitch_range
        if "selection" in d:
            state.selection = _range(d["selection"], "selection", 0.0)
        for key in ("snap_to_semitones", "follow_playhead", "loop", "show_accompaniment"):
            if key in d:
                if not isinstance(d[key], bool):
                    raise ViewStateError(f"{key} must be true or false")
                setattr(state, key, d[key])
        if "listen" in d:
            if d["listen"] not in LISTEN_MODES:
                raise ViewStateError(f"listen must be one of {', '.join(LISTEN_MODES)}")
            state.listen = d["listen"]
        if "background" in d:
            if d["background"] not in BACKGROUNDS:
                raise ViewStateError(f"background must be one of {', '.join(BACKGROUNDS)}")
            state.background = d["background"]
        return state
