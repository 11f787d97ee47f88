"""MIDI export: notes segmented from a sung trajectory, vibrato and glides kept as pitch bend."""
from __future__ import annotations

import mido
import numpy as np

from core.music import pitch
from core.music.midi import BEND_RANGE_SEMITONES, f0_to_notes, write_midi

HOP = 0.016  # the analysis hop


def _trajectory(midi_per_frame):
    midi = np.asarray(midi_per_frame, dtype=np.float64)
    return np.arange(len(midi)) * HOP, np.where(midi > 0, pitch.midi_to_hz(midi), 0.0)


def test_wide_vibrato_is_one_note_with_pitch_bend(tmp_path):
    times = np.arange(0, 2.0, HOP)
    vibrato = 0.9 * np.sin(2 * np.pi * 5.5 * times)  # +-0.9 semitone: a wide operatic vibrato
    t, f0 = _trajectory(62.0 + vibrato)
    notes = f0_to_notes(t, f0)
    assert [n.midi for n in notes] == [62]
    assert notes[0].start == 0.0 and abs(notes[0].end - 2.0) < 0.02
    bend_values = np.array([b for _, b in notes[0].bends])
    assert bend_values.max() > 0.8 and bend_values.min() < -0.8

    path = write_midi(tmp_path / "vibrato.mid", notes, tempo_bpm=120)
    messages = list(mido.MidiFile(path))
    assert [m.note for m in messages if m.type == "note_on"] == [62]
    wheels = [m.pitch for m in messages if m.type == "pitchwheel"]
    assert len(wheels) > 20  # about 11 vibrato cycles, each up and down
    semitones = np.array(wheels) / 8192 * BEND_RANGE_SEMITONES
    assert abs(semitones.max() - 0.9) < 0.1 and abs(semitones.min() + 0.9) < 0.1
    rpn = [(m.control, m.value) for m in messages if m.type == "control_change"]
    assert rpn[:3] == [(101, 0), (100, 0), (6, 2)]  # bend range = 2 semitones


def test_steps_make_notes_and_scoops_do_not(tmp_path):
    times = np.arange(0, 3.0, HOP)
    midi = np.select([times < 1.0, times < 2.0], [60.0, 64.0], 67.0)
    midi += 0.5 * np.sin(2 * np.pi * 6.0 * times)
    scoop = (times >= 1.0) & (times < 1.08)  # a fast scoop up into the second note
    midi[scoop] = np.linspace(61.0, 64.0, scoop.sum())
    notes = f0_to_notes(*_trajectory(midi))
    assert [n.midi for n in notes] == [60, 64, 67]
    assert abs(notes[0].end - 1.0) < 0.05 and abs(notes[1].end - 2.0) < 0.05
    assert all(n.end - n.start >= 0.1 for n in notes)


def test_a_slow_glide_gives_notes_no_shorter_than_the_minimum():
    times = np.arange(0, 1.5, HOP)
    midi = np.interp(times, [0.0, 0.3, 1.2, 1.5], [55.0, 55.0, 67.0, 67.0])
    notes = f0_to_notes(*_trajectory(midi), min_seconds=0.15)
    assert notes[0].midi == 55 and notes[-1].midi == 67
    assert all(n.end - n.start >= 0.15 - 1e-9 for n in notes)
    assert len(notes) <= 1.5 / 0.15
    for n in notes:  # the bends carry the glide between the notes
        assert all(abs(b) <= BEND_RANGE_SEMITONES for _, b in n.bends)


def test_blips_are_dropped_and_gaps_split():
    midi = np.zeros(200)
    midi[10:13] = 70.0   # 48 ms: a blip
    midi[40:100] = 60.0
    midi[110:170] = 60.0  # after a 160 ms breath
    notes = f0_to_notes(*_trajectory(midi))
    assert [n.midi for n in notes] == [60, 60]
    assert all(n.bends == () for n in notes)  # sung on pitch: no bend


def test_a_bent_note_is_followed_by_a_reset_bend(tmp_path):
    times = np.arange(0, 1.0, HOP)
    midi = np.where(times < 0.45, 60.0 + 0.5 * np.sin(2 * np.pi * 5 * times), 0.0)
    midi[(times > 0.6)] = 65.0
    notes = f0_to_notes(*_trajectory(midi))
    assert [n.midi for n in notes] == [60, 65] and notes[1].bends == ()
    path = write_midi(tmp_path / "reset.mid", notes)
    track = mido.MidiFile(path).tracks[0]
    before_second_on = []
    for m in track:
        if m.type == "note_on" and m.note == 65:
            break
        before_second_on.append(m)
    last_wheel = [m for m in before_second_on if m.type == "pitchwheel"][-1]
    assert last_wheel.pitch == 0
