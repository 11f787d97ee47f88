"""The corrected melody as notes with pitch bend, and as a Standard MIDI File.

Notes come from the F0 trajectory in three steps, each voiced run (a stretch without a voicing
gap) on its own:

1. A running median over ``vibrato_seconds`` (about one vibrato period) gives the pitch a note
   is sung at: the median of a whole period of a vibrato is its centre, and a step between two
   notes stays a step.
2. That centre is followed with hysteresis: the note changes once the centre is more than
   ``jump_semitones`` from the current note.
3. Segments shorter than ``min_seconds`` (the passing notes of a glide or a scoop) join the
   neighbour closest in pitch; whole runs shorter than ``min_seconds`` are dropped.

Each note keeps the sung pitch around it as pitch bend (semitones from the note, per frame), so
the MIDI file plays the vibrato and the glides while its notes stay readable in a piano roll.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio.fileio import atomic_path
from . import pitch

#: Pitch-bend range (semitones) written into the file (RPN 0) and used for the bends.
BEND_RANGE_SEMITONES = 2.0
#: A new pitch-bend message is written when the bend moves by more than this (semitones).
BEND_STEP_SEMITONES = 0.03


@dataclass(frozen=True)
class Note:
    """start, end : seconds; midi : note number 0-127; velocity : 1-127.

    bends : ((time s, semitones from ``midi``), ...) along the note, clipped to
        +-BEND_RANGE_SEMITONES; empty for a note sung exactly on pitch
    """

    start: float
    end: float
    midi: int
    velocity: int = 90
    bends: tuple = ()


def _running_median(values: np.ndarray, width: int) -> np.ndarray:
    """Centred running median, shape like ``values``; the window shrinks at the ends."""
    if width <= 1 or len(values) < 3:
        return values.copy()
    half = width // 2
    padded = np.pad(values, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return np.median(windows, axis=1)


def _segments(centre: np.ndarray, jump: float) -> list[list]:
    """[[start, stop, note], ...] over one run: the note changes when ``centre`` (MIDI per
    frame) is more than ``jump`` semitones away from it."""
    note = int(round(centre[0]))
    segments = [[0, 0, note]]
    for i, value in enumerate(centre):
        if abs(value - note) > jump:
            note = int(round(value))
            segments[-1][1] = i
            segments.append([i, i, note])
    segments[-1][1] = len(centre)
    return segments


def _merge_short(segments: list[list], min_frames: int) -> list[list]:
    """Join segments shorter than ``min_frames`` to the neighbour closest in pitch (shortest
    first), and neighbours that end up on the same note."""
    segments = [list(s) for s in segments]
    while len(segments) > 1:
        lengths = [b - a for a, b, _ in segments]
        k = int(np.argmin(lengths))
        if lengths[k] >= min_frames:
            break
        neighbours = [j for j in (k - 1, k + 1) if 0 <= j < len(segments)]
        j = min(neighbours, key=lambda j: (abs(segments[j][2] - segments[k][2]), -lengths[j]))
        a, b = min(segments[j][0], segments[k][0]), max(segments[j][1], segments[k][1])
        segments[min(j, k)] = [a, b, segments[j][2]]
        del segments[max(j, k)]
    merged = [segments[0]]
    for a, b, note in segments[1:]:
        if note == merged[-1][2]:
            merged[-1][1] = b
        else:
            merged.append([a, b, note])
    return merged


def _bends(times: np.ndarray, midi: np.ndarray, note: int) -> tuple:
    """(time, semitones) pairs where the bend moves by more than BEND_STEP_SEMITONES."""
    offsets = np.clip(midi - note, -BEND_RANGE_SEMITONES, BEND_RANGE_SEMITONES)
    if np.all(np.abs(offsets) < BEND_STEP_SEMITONES):
        return ()
    kept, last = [], None
    for t, offset in zip(times.tolist(), offsets.tolist()):
        if last is None or abs(offset - last) > BEND_STEP_SEMITONES:
            kept.append((t, offset))
            last = offset
    return tuple(kept)


def f0_to_notes(times: np.ndarray, f0_hz: np.ndarray, *, jump_semitones: float = 0.65,
                vibrato_seconds: float = 0.2, min_seconds: float = 0.1) -> list[Note]:
    """Segment a trajectory into notes with pitch bend (see the module docstring).

    times : frame times, shape (n,), seconds, evenly spaced
    f0_hz : shape (n,), Hz, 0 = no voice
    jump_semitones : how far the sung pitch must move from a note to start another
    vibrato_seconds : window of the running median that removes vibrato
    min_seconds : shortest note; shorter segments join a neighbour, shorter runs are dropped
    """
    times = np.asarray(times, dtype=np.float64)
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    if len(times) == 0:
        return []
    hop = float(np.median(np.diff(times))) if len(times) > 1 else 0.01
    min_frames = max(int(np.ceil(min_seconds / hop - 1e-6)), 1)
    width = max(int(round(vibrato_seconds / hop)) | 1, 1)
    voiced = f0_hz > 0
    edges = np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]]))
    notes = []
    for a, b in zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]):
        if (b - a) * hop < min_seconds:
            continue
        midi = pitch.hz_to_midi(f0_hz[a:b])
        centre = _running_median(midi, min(width, (b - a) | 1))
        for s, e, number in _merge_short(_segments(centre, jump_semitones), min_frames):
            number = int(np.clip(number, 0, 127))
            notes.append(Note(float(times[a + s]), float(times[a + e - 1] + hop), number,
                              bends=_bends(times[a + s:a + e], midi[s:e], number)))
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
    The pitch-bend range is set to BEND_RANGE_SEMITONES (RPN 0) at the start; each note's
    bends follow it, and the bend goes back to 0 before a note without them.
    """
    import mido

    path = Path(path)
    ticks_per_second = ticks_per_beat * tempo_bpm / 60.0
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0))
    track.append(mido.MetaMessage("track_name", name="Isolde melody", time=0))
    track.append(mido.Message("program_change", program=program, time=0))
    semitones, cents = int(BEND_RANGE_SEMITONES), int(round(100 * (BEND_RANGE_SEMITONES % 1)))
    for control, value in ((101, 0), (100, 0), (6, semitones), (38, cents), (101, 127),
                           (100, 127)):
        track.append(mido.Message("control_change", control=control, value=value, time=0))

    def tick(seconds: float) -> int:
        return int(round(seconds * ticks_per_second))

    def wheel(semitones_: float) -> int:
        return int(np.clip(round(semitones_ / BEND_RANGE_SEMITONES * 8192), -8192, 8191))

    # (tick, order, message): at one tick a note ends, then the bend moves, then the next starts.
    events = []
    bent = False
    for note in notes:
        on = tick(note.start)
        off = max(tick(note.end), on + 1)
        bends = list(note.bends)
        if bends or bent:
            first = bends[0][1] if bends and tick(bends[0][0]) <= on else 0.0
            events.append((on, 1, mido.Message("pitchwheel", pitch=wheel(first))))
        for t, offset in bends:
            at = tick(t)
            if on < at < off:
                events.append((at, 1, mido.Message("pitchwheel", pitch=wheel(offset))))
        bent = bool(bends)
        events.append((on, 2, mido.Message("note_on", note=note.midi, velocity=note.velocity)))
        events.append((off, 0, mido.Message("note_off", note=note.midi, velocity=0)))
    now = 0
    for at, _, message in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(message.copy(time=at - now))
        now = at
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi_file = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    midi_file.tracks.append(track)
    with atomic_path(path) as tmp:
        midi_file.save(str(tmp))
    return path
