"""MIR-1K: real singing with its accompaniment on separate channels and a hand-labelled F0.

Two layouts are read:

- the original release: ``Wavfile/<clip>.wav`` (stereo 16 kHz), ``PitchLabel/<clip>.pv``;
- a flat copy: ``audio/<clip>.flac``, ``pitch/<clip>.pv``.

In both, the left channel is the accompaniment and the right the singing voice. ``.pv`` files hold
one MIDI note number per line (0 = unvoiced) for frames centred at ``0.02 * (i + 1)`` seconds.
Clip names are ``<singer>_<song>_<part>``; the singer is the group kept whole in a split.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from ...errors import IsoldeError
from ...music.pitch import midi_to_hz
from .base import Dataset, Track

#: Singers held out for validation by default (whole singers, both voices registers).
VALIDATION_SINGERS = ("abjones", "amy", "leon")
PV_HOP_SECONDS = 0.02


def _find_layout(root: Path) -> tuple[Path, Path, str]:
    for audio_dir, pitch_dir, ext in (("audio", "pitch", ".flac"), ("Wavfile", "PitchLabel", ".wav")):
        if (root / audio_dir).is_dir() and (root / pitch_dir).is_dir():
            return root / audio_dir, root / pitch_dir, ext
    raise IsoldeError(f"Not a MIR-1K folder (expected audio/ + pitch/ or Wavfile/ + PitchLabel/): {root}")


def read_pv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A ``.pv`` file -> (times in s, F0 in Hz) with 0 = unvoiced."""
    values = np.loadtxt(path, dtype=np.float64, ndmin=1)
    times = PV_HOP_SECONDS * (np.arange(len(values)) + 1)
    return times, midi_to_hz(values)


class MIR1KDataset(Dataset):
    """All MIR-1K clips under ``root`` (either layout), sorted by name."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.audio_dir, self.pitch_dir, ext = _find_layout(self.root)
        files = sorted(p for p in self.audio_dir.glob(f"*{ext}")
                       if (self.pitch_dir / f"{p.stem}.pv").exists())
        if not files:
            raise IsoldeError(f"No MIR-1K clips with pitch labels under {self.root}")
        self.files = files
        self.names = [p.stem for p in files]
        self.groups = [name.split("_")[0] for name in self.names]

    def load(self, index: int) -> Track:
        path = self.files[index]
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
        if data.shape[1] < 2:
            raise IsoldeError(f"MIR-1K clip is not stereo: {path}")
        times, f0 = read_pv(self.pitch_dir / f"{path.stem}.pv")
        return Track(name=path.stem, group=self.groups[index], vocals=data[:, 1].copy(),
                     accompaniment=data[:, 0].copy(), sample_rate=int(rate),
                     f0_times=times, f0_hz=f0)

    def default_split(self):
        """(train, validation) with :data:`VALIDATION_SINGERS` held out."""
        return self.split(list(VALIDATION_SINGERS))


class MIR1KSongs(Dataset):
    """MIR-1K's clips joined back into the songs they were cut from (``<singer>_<song>``: the
    parts of one song in order, end to end, each F0 label moved to its part's place).

    MIR-1K's clips last 3-12 s, too short for protocols that spend 5-30 s of corrections on a
    song (``isolde simulate --budgets``); its songs last 13-108 s. Parts missing from the copy
    at hand are skipped, so a song may jump where a part is missing, as an edit of it would.
    """

    def __init__(self, root: str | Path):
        self.clips = MIR1KDataset(root)
        parts: dict[str, list[int]] = {}
        for index, name in enumerate(self.clips.names):
            song = name.rsplit("_", 1)[0]
            parts.setdefault(song, []).append(index)
        self.names = list(parts)
        self.parts = [parts[name] for name in self.names]
        self.groups = [name.split("_")[0] for name in self.names]

    def load(self, index: int) -> Track:
        tracks = [self.clips.load(i) for i in self.parts[index]]
        rate = tracks[0].sample_rate
        if any(t.sample_rate != rate for t in tracks):
            raise IsoldeError(f"The parts of MIR-1K song {self.names[index]} differ in sample rate")
        starts = np.cumsum([0.0] + [t.duration_seconds for t in tracks[:-1]])
        times = [t.f0_times[t.f0_times < t.duration_seconds] + start
                 for t, start in zip(tracks, starts)]
        f0 = [t.f0_hz[t.f0_times < t.duration_seconds] for t in tracks]
        return Track(name=self.names[index], group=self.groups[index],
                     vocals=np.concatenate([t.vocals for t in tracks]),
                     accompaniment=np.concatenate([t.accompaniment for t in tracks]),
                     sample_rate=rate, f0_times=np.concatenate(times), f0_hz=np.concatenate(f0),
                     meta={"clips": [t.name for t in tracks]})

    def default_split(self):
        """(train, validation) with :data:`VALIDATION_SINGERS` held out."""
        return self.split(list(VALIDATION_SINGERS))
