"""Confidence in the F0 view: doubtful frames drawn dotted, N visits them longest first."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core.music import pitch
from core.separation.confidence import DOUBT_THRESHOLD, doubtful_stretches
from tests.app_helpers import open_and_analyse, write_song

pytest_plugins = ["tests.app_fixtures"]  # the window fixtures


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
    open_and_analyse(qtbot, window, write_song(tmp_path / "song.wav"))
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
