"""Each stroke is heard at once: the editor re-separates what it changed, off the GUI thread."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from tests.app_helpers import drag, line, open_and_analyse, write_song

pytest_plugins = ["tests.app_fixtures"]  # the window fixtures


def heard(qtbot, w) -> None:
    """Wait until the stems were made with the current corrections (the preview is done)."""
    s = w.session
    qtbot.waitUntil(lambda: not w.preview.busy and s.result.meta.get("corrections") is s.corrections,
                    timeout=20000)
    qtbot.wait(50)  # the "stems" event reaches the views through the event loop


def test_a_stroke_changes_the_vocals_there_and_nowhere_else(qtbot, window, tmp_path):
    w = window
    open_and_analyse(qtbot, w, write_song(tmp_path / "song.wav", seconds=6.0))
    s = w.session
    before = s.result.vocals.copy()
    curve_before = w.vocals_view.curve.getData()[1].copy()
    w.f0_view.box.setYRange(48, 72, padding=0)
    drag(qtbot, w.f0_view, line(3.0, 3.6, 55.0, 55.0))
    heard(qtbot, w)
    rate = s.audio.sample_rate
    changed = np.flatnonzero(np.any(s.result.vocals != before, axis=0))
    assert changed.size > 0
    assert changed[0] > 1.0 * rate and changed[-1] < 5.6 * rate  # around the stroke only
    np.testing.assert_allclose(s.result.vocals + s.result.accompaniment, s.audio.samples,
                               atol=1e-6)
    assert not np.array_equal(w.vocals_view.curve.getData()[1], curve_before)

    # Deleting the voice there is heard too (how much it turns the vocal down:
    # tests/test_corrections.py), and undo brings the stroke's vocals back.
    with_stroke = s.result.vocals.copy()
    drag(qtbot, w.f0_view, line(3.0, 3.6, 60.0, 60.0), button=Qt.MouseButton.RightButton)
    heard(qtbot, w)
    inside = slice(int(3.1 * rate), int(3.5 * rate))
    change = float(np.sum((s.result.vocals[:, inside] - with_stroke[:, inside]) ** 2))
    assert change > 0.1 * float(np.sum(with_stroke[:, inside] ** 2))
    w.actions_.undo.trigger()
    heard(qtbot, w)
    np.testing.assert_allclose(s.result.vocals, with_stroke, atol=1e-6)
