"""Confidence in the F0 view: doubtful frames drawn dotted, N visits them longest first."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core.music import pitch
from core.separation.confidence import DOUBT_THRESHOLD, doubtful_stretches
from tests.app_helpers import open_and_analyse, write_song

pytest_plugins = ["tests.app_fixtures"]  # the window fixtures

#: Long enough for the untrained test model to doubt somewhere (3-7 stretches on 8 s for song
#: seeds 0-2; a 3-second song has none since the exemplars hear the accompaniment between the
#: voice's harmonics).
DOUBT_SONG_SECONDS = 8.0


def test_doubtful_stretches_are_joined_filtered_and_longest_first():
    times = np.arange(100) * 0.016
    confidence = np.ones(100)
    confidence[10:20] = 0.1   # 0.16 s
    confidence[22:24] = 0.1   # joins the one before across a 32 ms gap
    confidence[50:52] = 0.1   # 32 ms: too short to visit
    confidence[60:90] = 0.2   # 0.48 s: the longest
    stretches = doubtful_stretches(times, confidence)
    assert len(stretches) == 2
    assert stretches[0] == pytest.approx((times[60], times[89] + 0.016))
    assert stretches[1] == pytest.approx((times[10], times[23] + 0.016))


def test_next_doubt_shows_and_selects_each_stretch_and_corrections_remove_doubt(qtbot, window,
                                                                             tmp_path):
    open_and_analyse(qtbot, window, write_song(tmp_path / "song.wav", seconds=DOUBT_SONG_SECONDS))
    session = window.session
    stretches = session.doubtful_stretches()
    assert stretches, "the untrained test model should doubt somewhere"
    qtbot.keyClick(window, Qt.Key.Key_N)
    assert session.view.selection == pytest.approx(stretches[0])
    t0, t1 = window.time_axis.visible_range()
    assert t0 <= stretches[0][0] and t1 >= stretches[0][1]
    if len(stretches) > 1:
        qtbot.keyClick(window, Qt.Key.Key_N)
        assert session.view.selection == pytest.approx(stretches[1])
    # The dotted curve shows the voiced doubtful estimate, and nothing else.
    curves = window.f0_view._curves
    doubt = session.f0_confidence() < DOUBT_THRESHOLD
    shown = np.isfinite(curves["doubtful"])
    assert np.array_equal(shown, doubt & np.isfinite(curves["estimated"]))
    # What the user corrected is no longer in doubt.
    a, b = stretches[0]
    times = np.arange(a, b, 0.01)
    session.draw(times, pitch.midi_to_hz(np.full(len(times), 60.0)))
    corrected = (session.frame_times() >= a + 0.02) & (session.frame_times() <= b - 0.02)
    assert np.all(session.f0_confidence()[corrected] == 1.0)
    assert all(not (s[0] >= a + 0.02 and s[1] <= b - 0.02) for s in session.doubtful_stretches())


def _open_doubts_panel(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_D)
    assert window.doubts_dock.isVisible() and window.actions_.doubts.isChecked()
    return window.doubts


def test_doubts_panel_lists_shows_and_drops_corrected_stretches(qtbot, window, tmp_path,
                                                                monkeypatch):
    from app.doubts_panel import format_doubt

    open_and_analyse(qtbot, window, write_song(tmp_path / "song.wav", seconds=DOUBT_SONG_SECONDS))
    session = window.session
    panel = _open_doubts_panel(qtbot, window)
    stretches = session.doubtful_stretches()
    assert stretches and panel.stretches == stretches
    assert [panel.list.item(i).text() for i in range(panel.list.count())] == \
        [format_doubt(t0, t1) for t0, t1 in stretches]
    # A click on the last entry shows and selects that stretch, as N does.
    row = len(stretches) - 1
    rect = panel.list.visualItemRect(panel.list.item(row))
    qtbot.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    t0, t1 = stretches[row]
    assert session.view.selection == pytest.approx((t0, t1))
    shown = window.time_axis.visible_range()
    assert shown[0] <= t0 and shown[1] >= t1
    assert f"Doubt {row + 1} of {len(stretches)}" in window.statusBar().currentMessage()
    # Corrected, it leaves the list.
    times = np.arange(t0, t1, 0.01)
    session.draw(times, pitch.midi_to_hz(np.full(len(times), 60.0)), free=True)
    qtbot.waitUntil(lambda: panel.stretches == session.doubtful_stretches(), timeout=5000)
    assert (t0, t1) not in panel.stretches and panel.list.count() == len(panel.stretches)
    # Several entries: the one clicked is selected, and N goes on from there.
    fake = [(2.0, 2.5), (0.5, 1.2), (1.4, 1.6)]
    monkeypatch.setattr(session, "doubtful_stretches", lambda: fake)
    panel.refresh()
    rect = panel.list.visualItemRect(panel.list.item(1))
    qtbot.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert session.view.selection == pytest.approx(fake[1])
    qtbot.keyClick(window, Qt.Key.Key_N)
    assert session.view.selection == pytest.approx(fake[2])
    assert panel.list.currentRow() == 2
    qtbot.keyClick(window, Qt.Key.Key_D)
    assert not window.doubts_dock.isVisible()


def test_doubts_panel_lists_the_longest_only(qtbot, window, monkeypatch):
    from app.doubts_panel import MAX_SHOWN

    many = [(float(i), i + 0.5) for i in range(MAX_SHOWN + 150)]
    monkeypatch.setattr(window.session, "doubtful_stretches", lambda: many)
    panel = _open_doubts_panel(qtbot, window)
    assert panel.list.count() == MAX_SHOWN and panel.stretches == many[:MAX_SHOWN]
    assert f"{MAX_SHOWN} longest of {len(many)}" in panel.summary.text()
    assert panel.list.item(2).text() == "0:02.0   0.5 s"


def test_next_candidate_cycles_the_selection_and_undoes_in_one_step(qtbot, window, tmp_path):
    from tests.test_f0_candidates import with_two_sources

    open_and_analyse(qtbot, window, write_song(tmp_path / "song.wav"))
    session, action = window.session, window.actions_.next_candidate
    assert not action.isEnabled()  # nothing selected
    _, inside = with_two_sources(session, 1.0, 2.0)
    session.set_selection(1.0, 2.0)
    assert action.isEnabled() and action in window.actions_.second_toolbar.actions()
    for expected, hz in (("octave above", 400.0), ("octave below", 100.0)):
        qtbot.keyClick(window, Qt.Key.Key_C)
        assert window.statusBar().currentMessage() == f"F0 candidate: {expected}"
        np.testing.assert_allclose(session.effective_f0()[1][inside], hz)
    qtbot.keyClick(window, Qt.Key.Key_C)
    assert window.statusBar().currentMessage() == "F0 candidate: second source"
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    _, f0, corrected = session.effective_f0()
    assert not corrected.any() and np.allclose(f0[inside], 200.0)
    assert not session.can_undo
