"""The magnetic pen: a rough stroke lands on the voice's ridge; Alt draws freely."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.conftest import synth_song
from core.audio import spectral
from core.audio.io import Audio
from core.document import f0_edits
from core.document.background import spectrogram_on_f0_grid
from core.music import pitch
from core.separation.separate import model_input
from tests.app_helpers import drag, line, open_and_analyse, write_song

pytest_plugins = ["tests.app_fixtures"]  # the window fixtures


def _cents(a, b):
    return 1200 * np.log2(np.asarray(a) / np.asarray(b))


def test_snap_to_ridge_follows_a_gliding_note_and_keeps_what_it_cannot_snap():
    n_frames = 100
    picture = np.zeros((pitch.N_F0_BINS, n_frames), dtype=np.float32)
    times = spectral.frame_times(n_frames)
    true_bins = 100.0 + 2.0 * np.sin(np.linspace(0, 6, n_frames))  # vibrato of +-40 cents
    for frame, b in enumerate(true_bins):
        for h in range(1, 5):  # a harmonic series on the F0 grid
            row = b + 12 * pitch.BINS_PER_SEMITONE * np.log2(h)
            rows = np.arange(pitch.N_F0_BINS)
            picture[:, frame] += np.exp(-0.5 * (rows - row) ** 2) / h
    true_hz = pitch.f0_bin_to_hz(true_bins)
    drawn = true_hz * 2 ** (0.7 / 12)  # 70 cents sharp, straight through the vibrato
    snapped = f0_edits.snap_to_ridge(times, drawn, picture)
    assert np.abs(_cents(snapped, true_hz)).max() < 8
    # Two semitones off is out of the magnet's reach: the drawn pitch stays.
    far = true_hz * 2 ** (2.5 / 12)
    np.testing.assert_allclose(f0_edits.snap_to_ridge(times, far, picture), far)
    # Nothing to snap to (silence), and "no voice" points, stay as drawn.
    np.testing.assert_allclose(f0_edits.snap_to_ridge(times, drawn, 0 * picture), drawn)
    zeros = np.zeros(n_frames)
    np.testing.assert_array_equal(f0_edits.snap_to_ridge(times, zeros, picture), zeros)


def test_snap_to_ridge_on_a_real_picture_of_a_song():
    mixture, _, f0 = synth_song(seconds=3.0)
    background = spectrogram_on_f0_grid(model_input(Audio(mixture, 44100)))
    times = np.arange(0.05, 0.4, 0.01)
    true = np.interp(times, np.arange(len(f0)) * 0.01, f0)
    drawn = true * 2 ** (0.6 / 12)
    snapped = f0_edits.snap_to_ridge(times, drawn, background)
    assert np.abs(_cents(snapped, true)).max() < 15 < np.abs(_cents(drawn, true)).min()


@pytest.mark.parametrize("alt", [False, True])
def test_pen_in_the_editor_is_magnetic_unless_alt(qtbot, window, tmp_path, alt):
    w = window
    open_and_analyse(qtbot, w, write_song(tmp_path / "song.wav"))
    assert w.session.view.magnetic_pen and w.actions_.magnet.isChecked()
    w.f0_view.box.setYRange(48, 72, padding=0)
    # The test song's voice sings A3 (MIDI 57) from 0 to 0.42 s: draw about half a semitone
    # above it (the small offscreen view rounds the pen's pitch to a few cents).
    modifiers = Qt.KeyboardModifier.AltModifier if alt else Qt.KeyboardModifier.NoModifier
    drag(qtbot, w.f0_view, line(0.05, 0.35, 57.5, 57.5), modifiers=modifiers)
    times, f0, corrected = w.session.effective_f0()
    inside = corrected & (times > 0.1) & (times < 0.3)
    midi = pitch.hz_to_midi(f0[inside])
    assert inside.sum() >= 8
    if alt:  # exactly the straight line drawn
        assert np.ptp(midi) < 0.01 and np.abs(midi - 57.0).min() > 0.3
    else:  # on the voice's A3, with its vibrato
        assert np.abs(midi - 57.0).max() < 0.25 and np.ptp(midi) > 0.05
    w.actions_.magnet.trigger()
    assert not w.session.view.magnetic_pen
