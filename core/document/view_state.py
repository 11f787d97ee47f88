"""What the editor shows and how it edits, saved with a project so it reopens as it was left.

Times in seconds, pitches as MIDI note numbers (float; 60 = C4). Validation happens in
:meth:`ViewState.from_dict`, which a project or recovery file goes through.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

#: What playback can play.
LISTEN_MODES = ("mixture", "vocals", "accompaniment", "guide", "vocals+guide")
#: Backgrounds of the F0 editor: the mixture's log spectrogram or the network's F0 saliency.
BACKGROUNDS = ("spectrogram", "saliency")
#: Pitch range the editor can show (MIDI), a little wider than the F0 grid.
MIDI_LIMITS = (24.0, 96.0)
#: Colour maps of the F0 editor's background (the editor maps each name to a palette).
COLORMAPS = ("grey", "green", "viridis", "cividis")
#: Values of the background picture (about 0-1.5) the picture levels can take.
LEVEL_LIMITS = (0.0, 2.0)
#: Playback levels (dB) the mixer can set.
GAIN_LIMITS_DB = (-60.0, 12.0)
#: The stems playback can mix, each with its own level.
MIXER_SOURCES = ("mixture", "vocals", "accompaniment", "guide")


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


#: Playback levels (dB) of a new session.
DEFAULT_GAINS_DB = {"mixture": 0.0, "vocals": 0.0, "accompaniment": 0.0, "guide": -12.0}


def _gains(value) -> dict:
    """Mixer levels: a mapping from some of MIXER_SOURCES to dB; the others keep their default."""
    if not isinstance(value, dict):
        raise ViewStateError("gains_db must be an object")
    gains = dict(DEFAULT_GAINS_DB)
    lo, hi = GAIN_LIMITS_DB
    for name, db in value.items():
        if name not in MIXER_SOURCES:
            raise ViewStateError(f"gains_db: unknown source {name!r}")
        if isinstance(db, bool) or not isinstance(db, (int, float)) or not lo <= db <= hi:
            raise ViewStateError(f"gains_db.{name} must be a number of dB in [{lo:g}, {hi:g}]")
        gains[name] = float(db)
    return gains


@dataclass
class ViewState:
    """time_range : visible (start, end) in s, None = whole song
    pitch_range : visible (low, high) MIDI note numbers in the F0 editor
    selection : selected (start, end) in s, or None; also the playback loop when looping
    snap_to_semitones : drawn F0 is rounded to the nearest semitone
    magnetic_pen : drawn F0 snaps to the nearest ridge of the picture within a semitone
    follow_playhead : the view pages along with playback
    loop : playback loops over the selection
    listen : one of :data:`LISTEN_MODES`
    show_accompaniment : the accompaniment waveform is shown under the vocal one
    background : one of :data:`BACKGROUNDS`
    snap_to_beats : drawn, deleted and selected stretches start and end on the nearest beats
    colormap : one of :data:`COLORMAPS`
    picture_levels : background values (floor, ceiling) shown as the colour map's ends, within
        :data:`LEVEL_LIMITS`; None = chosen from the picture itself (see
        core.document.picture_levels)
    gains_db : playback level in dB per :data:`MIXER_SOURCES` entry, within
        :data:`GAIN_LIMITS_DB` (the sine guide 12 dB down by default, under the voice)
    """

    time_range: tuple[float, float] | None = None
    pitch_range: tuple[float, float] = (43.0, 84.0)
    selection: tuple[float, float] | None = None
    snap_to_semitones: bool = False
    magnetic_pen: bool = True
    follow_playhead: bool = True
    loop: bool = False
    listen: str = "mixture"
    show_accompaniment: bool = False
    background: str = "spectrogram"
    snap_to_beats: bool = False
    colormap: str = "grey"
    picture_levels: tuple[float, float] | None = None
    gains_db: dict = field(default_factory=lambda: dict(DEFAULT_GAINS_DB))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["gains_db"] = dict(self.gains_db)
        for key in ("time_range", "pitch_range", "selection", "picture_levels"):
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
        if "picture_levels" in d:
            state.picture_levels = _range(d["picture_levels"], "picture_levels", *LEVEL_LIMITS)
        if "gains_db" in d:
            state.gains_db = _gains(d["gains_db"])
        if "colormap" in d:
            if d["colormap"] not in COLORMAPS:
                raise ViewStateError(f"colormap must be one of {', '.join(COLORMAPS)}")
            state.colormap = d["colormap"]
        for key in ("snap_to_semitones", "follow_playhead", "loop", "show_accompaniment",
                    "snap_to_beats", "magnetic_pen"):
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
