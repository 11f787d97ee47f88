"""The F0 editor with real mouse drags and key presses on the real widgets."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core.music import pitch
from tests.app_helpers import click, drag, line, open_and_analyse, write_song

pytest_plugins = ["tests.app_fixtures"]  # the window fixtures


@pytest.fixture
def editor(qtbot, window, tmp_path):
    open_and_analyse(qtbot, window, write_song(tmp_path / "song.wav"))
    window.time_axis.set_range(0.0, 3.0)
    window.f0_view.box.setYRange(48, 72, padding=0)
    # These tests check where the pen itself lands; the magnet (which moves it onto the song's
    # ridges) has its own tests in test_magnetic_pen.py.
    window.session.set_view_options(magnetic_pen=False)
    qtbot.wait(20)
    return window


def _points_in(corrections, t0, t1):
    inside = (corrections.times >= t0) & (corrections.times <= t1)
    return corrections.times[inside], corrections.f0_hz[inside]


def test_left_drag_draws_the_f0_under_the_mouse(qtbot, editor):
    drag(qtbot, editor.f0_view, line(0.5, 1.5, 60.0, 60.0))
    times, f0 = _points_in(editor.session.corrections, 0.0, 3.0)
    assert len(times) > 50
    assert times.min() == pytest.approx(0.5, abs=0.03) and times.max() == pytest.approx(1.5, abs=0.03)
    midi = pitch.hz_to_midi(f0)
    assert np.all(np.abs(midi - 60.0) < 0.3)  # a pixel is ~0.05 semitone here
    assert np.all(np.diff(times) < 0.011)      # no holes between mouse positions
    # The view shows it: the corrected curve holds C4 around 1 s.
    x, y = editor.f0_view.corrected.getData()
    assert np.nanmax(np.abs(y[(x > 0.6) & (x < 1.4)] - 60.0)) < 0.3


def test_a_glide_follows_the_mouse(qtbot, editor):
    drag(qtbot, editor.f0_view, line(1.0, 2.0, 57.0, 64.0, n=12))
    times, f0 = _points_in(editor.session.corrections, 1.0, 2.0)
    expected = 57.0 + 7.0 * (times - 1.0)
    assert np.max(np.abs(pitch.hz_to_midi(f0) - expected)) < 0.4


def test_right_drag_deletes(qtbot, editor):
    drag(qtbot, editor.f0_view, line(1.0, 2.0, 60.0, 60.0), button=Qt.MouseButton.RightButton)
    times, f0 = _points_in(editor.session.corrections, 0.0, 3.0)
    assert times.min() == pytest.approx(1.0, abs=0.03) and times.max() == pytest.approx(2.0, abs=0.03)
    assert np.all(f0 == 0.0)
    ft, effective, corrected = editor.session.effective_f0()
    middle = (ft > 1.1) & (ft < 1.9)
    assert corrected[middle].all() and np.all(effective[middle] == 0.0)


def test_undo_redo_with_the_keyboard(qtbot, editor):
    drag(qtbot, editor.f0_view, line(0.5, 1.0, 60.0, 60.0))
    first = editor.session.corrections
    drag(qtbot, editor.f0_view, line(2.0, 2.5, 62.0, 62.0), button=Qt.MouseButton.RightButton)
    second = editor.session.corrections
    assert len(second) > len(first)
    qtbot.keyClick(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert editor.session.corrections is first  # one drag = one undo step
    qtbot.keyClick(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert editor.session.corrections.is_empty
    assert not editor.actions_.undo.isEnabled()
    qtbot.keyClick(editor, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(editor, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert editor.session.corrections is second


def test_snap_to_semitones(qtbot, editor):
    qtbot.keyClick(editor, Qt.Key.Key_S)
    assert editor.session.view.snap_to_semitones and editor.actions_.snap.isChecked()
    drag(qtbot, editor.f0_view, line(0.5, 1.0, 60.3, 61.4))
    midi = pitch.hz_to_midi(editor.session.corrections.f0_hz)
    assert np.allclose(midi, np.round(midi), atol=1e-6) and set(np.round(midi)) <= {60.0, 61.0}


def test_select_then_octave_up_and_down(qtbot, editor):
    drag(qtbot, editor.f0_view, line(0.5, 1.0, 55.0, 55.0))
    editor.set_tool("select")
    drag(qtbot, editor.f0_view, line(0.3, 1.2, 70.0, 70.0))
    assert editor.session.view.selection == pytest.approx((0.3, 1.2), abs=0.03)
    assert editor.mixture_view.selection.isVisible()
    qtbot.keyClick(editor, Qt.Key.Key_PageUp)
    times, f0 = _points_in(editor.session.corrections, 0.5, 1.0)
    assert np.allclose(pitch.hz_to_midi(f0[(times > 0.55) & (times < 0.95)]), 67.0, atol=0.3)
    qtbot.keyClick(editor, Qt.Key.Key_PageDown)
    times, f0 = _points_in(editor.session.corrections, 0.5, 1.0)
    assert np.allclose(pitch.hz_to_midi(f0[(times > 0.55) & (times < 0.95)]), 55.0, atol=0.3)
    # The uncorrected rest of the selection now holds the estimate (same voicing as before).
    ft, effective, corrected = editor.session.effective_f0()
    assert corrected[(ft > 0.35) & (ft < 1.15)].all()


def test_shift_drag_selects_with_the_pen(qtbot, editor):
    drag(qtbot, editor.f0_view, line(1.0, 2.0, 60.0, 60.0),
         modifiers=Qt.KeyboardModifier.ShiftModifier)
    assert editor.session.corrections.is_empty
    assert editor.session.view.selection == pytest.approx((1.0, 2.0), abs=0.03)


def test_click_seeks_and_wheel_zooms(qtbot, editor):
    click(qtbot, editor.mixture_view, (1.5, 0.0))
    assert editor.playback.player.time == pytest.approx(1.5, abs=0.02)
    assert editor.f0_view.playhead.value() == pytest.approx(1.5, abs=0.02)
    before = editor.time_axis.visible_range()
    editor.time_axis.zoom(0.5)
    t0, t1 = editor.time_axis.visible_range()
    assert t1 - t0 == pytest.approx((before[1] - before[0]) / 2, rel=0.05)
    # every view follows the shared axis
    assert editor.vocals_view.box.viewRange()[0] == pytest.approx([t0, t1], abs=1e-3)
