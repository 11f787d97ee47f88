"""The corrected melody as notes and as a Standard MIDI File.

Notes come from the F0 trajectory: a note ends at a voicing gap or where the pitch leaves the
note's running pitch by more than ``jump_semitones`` for ``hold_frames`` frames in a row (so
vibrato and short scoops stay inside one note). Each note's pitch is the median of its frames,
rounded to the nearest semitone.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import pitch
from .fileio import atomic_path


@dataclass(frozen=True)
class Note:
    """start, end : seconds; midi : note number 0-127; velocity : 1-127."""

    start: float
    end: float
    midi: int
    velocity: int = 90


def _split_run(midi: np.ndarray, jump: float, hold: int) -> list[tuple[int, int]]:
    """Split one voiced run (MIDI per frame) at sustained pitch jumps: [(start, stop), ...]."""
    segments, start, centre, away = [], 0, midi[0], 0
    for i in range(1, len(midi)):
        if abs(midi[i] - centre) > jump:
            away += 1
            if away >= hold:
                cut = i - hold + 1
                segments.append((start, cut))
                start, away = cut, 0
                centre = float(np.median(midi[cut:i + 1]))
                continue
        else:
            away = 0
        # The centre follows the note slowly (glides), not the vibrato.
        centre = float(np.median(midi[start:i + 1])) if i - start < 8 else 0.9 * centre + 0.1 * midi[i]
    segments.append((start, len(midi)))
    return segments


def f0_to_notes(times: np.ndarray, f0_hz: np.ndarray, *, jump_semitones: float = 0.7,
                hold_frames: int = 3, min_seconds: float = 0.06) -> list[Note]:
    """Segment a trajectory into notes.

    times : frame times, shape (n,), seconds, evenly spaced
    f0_hz : shape (n,), Hz, 0 = no voice
    min_seconds : shorter notes are dropped
    """
    times = np.asarray(times, dtype=np.float64)
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    if len(times) == 0:
        return []
    hop = float(np.median(np.diff(times))) if len(times) > 1 else 0.01
    voiced = f0_hz > 0
    edges = np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]]))
    notes = []
    for a, b in zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]):
        midi = pitch.hz_to_midi(f0_hz[a:b])
        for s, e in _split_run(midi, jump_semitones, hold_frames):
            start, end = times[a + s], times[a + e - 1] + hop
            if end - start < min_seconds:
                continue
            number = int(np.clip(round(float(np.median(midi[s:e]))), 0, 127))
            notes.append(Note(float(start), float(end), number))
    return notes


def tempo_from_beats(beat_times: np.ndarray | None, default: float = 120.0) -> float:
    """Beats per minute from a beat grid (median interval), ``default`` when there is none."""
    if beat_times is None or len(beat_times) < 3:
        return default
    bpm = 60.0 / float(np.median(np.diff(beat_times)))
    return bpm if 30.0 <= bpm <= 300.0 else default


def write_midi(path: str | os.PathLike, notes: list[Note], *, tempo_bpm: float = 120.0,
               ticks_per_beat: int = 480, program: int = 52) -> Path:
    """Write a one-track Standard MIDI File (type 1) atomically; note times kept in seconds.

    program : General MIDI program (0-based; 52 = "Choir Aahs").
    """
    import mido

    path = Path(path)
    ticks_per_second = ticks_per_beat * tempo_bpm / 60.0
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0))
    track.append(mido.MetaMessage("track_name", name="Isolde melody", time=0))
    track.append(mido.Message("program_change", program=program, time=0))
    events = []
    for note in notes:
        on = int(round(note.start * ticks_per_second))
        off = max(int(round(note.end * ticks_per_second)), on + 1)
        events.append((on, 1, mido.Message("note_on", note=note.midi, velocity=note.velocity)))
        events.append((off, 0, mido.Message("note_off", note=note.midi, velocity=0)))
    now = 0
    for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):  # offs before ons
        track.append(message.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi_file = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    midi_file.tracks.append(track)
    with atomic_path(path) as tmp:
        midi_file.save(str(tmp))
    return path
