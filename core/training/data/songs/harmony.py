"""The plan of a synthetic song that every part follows: key, mode, tempo and chords."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

MODES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
}
# Chord progressions as scale degrees (0 = tonic), a chord per bar.
PROGRESSIONS = ((0, 4, 5, 3), (0, 5, 3, 4), (5, 3, 0, 4), (0, 3, 4, 0), (0, 3, 5, 4),
                (1, 4, 0, 0), (0, 6, 5, 4), (0, 5, 2, 6), (0, 2, 3, 4), (0, 0, 3, 4))


@dataclass
class Song:
    """Key, tempo and harmony shared by every part of one synthetic song."""

    tempo: float  # beats per minute
    root: int  # pitch class of the key, 0 = C
    mode: str
    scale: tuple  # pitch classes of the 7-note scale, relative to root
    melody_scale: tuple  # the notes the melodies use (the scale or a pentatonic subset)
    chords: list = field(default_factory=list)  # (start s, end s, [pitch classes], root pc)

    @property
    def beat(self) -> float:
        return 60.0 / self.tempo

    def melody_notes(self, low: float, high: float) -> np.ndarray:
        """MIDI numbers of the melody scale in [low, high]."""
        m = np.arange(int(math.ceil(low)), int(math.floor(high)) + 1)
        return m[np.isin((m - self.root) % 12, self.melody_scale)]


def make_song(rng: np.random.Generator, seconds: float) -> Song:
    mode = str(rng.choice(list(MODES), p=[0.42, 0.3, 0.1, 0.1, 0.08]))
    scale = MODES[mode]
    if rng.random() < 0.3:  # pentatonic melodies: drop the 4th and 7th (major) or 2nd and 6th
        keep = (0, 1, 2, 4, 5) if mode in ("major", "mixolydian") else (0, 2, 3, 4, 6)
        melody_scale = tuple(scale[i] for i in keep)
    else:
        melody_scale = scale
    song = Song(tempo=float(rng.uniform(70.0, 150.0)), root=int(rng.integers(12)), mode=mode,
                scale=scale, melody_scale=melody_scale)
    progression = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    bars_per_chord = float(rng.choice([0.5, 1.0, 1.0, 1.0, 2.0]))
    chord_len = 4.0 * song.beat * bars_per_chord
    t, i = 0.0, 0
    while t < seconds + chord_len:
        degree = progression[i % len(progression)]
        n_tones = 4 if rng.random() < 0.3 else 3  # sevenths now and then
        pcs = [(song.root + scale[(degree + 2 * j) % 7]) % 12 for j in range(n_tones)]
        song.chords.append((t, t + chord_len, pcs, pcs[0]))
        t += chord_len
        i += 1
    return song
