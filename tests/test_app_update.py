"""Update DNN from the editor: end to end on a short clip, A/B, undo update, cancel."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core.document.session import adapt_available
from tests.app_helpers import open_and_analyse, open_and_correct, wait_job, write_song

pytest_plugins = ["tests.app_fixtures"]  # the window fixtures

needs_adapt = pytest.mark.skipif(not adapt_available(),
                                 reason="core.separation.adapt (Update DNN's fine-tuning) is "
                                        "not in this checkout")


@pytest.fixture
def corrected(qtbot, window, tmp_path):
    """An analysed 3 s song with one drawn and one deleted stretch."""
    open_and_correct(qtbot, window, write_song(tmp_path / "song.wav"),
                     drawn=(0.1, 0.4, 57.0, 57.0), deleted=(0.5, 0.95))
    assert len(window.session.corrections) > 40
    return window


@needs_adapt
def test_update_dnn_end_to_end(qtbot, corrected):
    w = corrected
    before_result, before_model = w.session.result, w.session.model
    before_vocal_curve = w.vocals_view.curve.getData()[1].copy()
    assert w.actions_.update_dnn.isEnabled()
    with wait_job(qtbot, w, "update") as blocker:
        w.actions_.update_dnn.trigger()
        assert w.progress.isVisible() and w.progress.cancel_button.isVisible()
        assert w.actions_.undo.isEnabled()  # the editor stays usable while it runs
    assert blocker.args[1] == "succeeded"
    s = w.session
    assert s.is_adapted and s.model is not before_model
    assert not np.allclose(s.result.vocals, before_result.vocals)  # the output changed
    assert not np.array_equal(w.vocals_view.curve.getData()[1], before_vocal_curve)
    assert s.previous.result is before_result
    assert "adapted" in w.model_label.text()
    assert w.actions_.ab.isEnabled() and w.actions_.undo_update.isEnabled()
    # A/B swaps the two results (and back); "undo update" returns to the base model.
    after = s.result
    w.actions_.ab.trigger()
    assert s.result is before_result and s.previous.result is after
    w.actions_.ab.trigger()
    assert s.result is after
    w.actions_.undo_update.trigger()
    assert s.result is before_result and s.model is before_model and s.previous is None
    assert not w.actions_.ab.isEnabled()


@needs_adapt
def test_cancel_update(qtbot, corrected):
    w = corrected
    w.session.settings.adapt_steps = 5000  # long enough to cancel in the middle
    before_result, before_model = w.session.result, w.session.model
    with wait_job(qtbot, w, "update") as blocker:
        w.update_dnn()
        qtbot.waitUntil(lambda: "adapting" in w.progress.label.text(), timeout=30000)
        qtbot.mouseClick(w.progress.cancel_button, Qt.MouseButton.LeftButton)
    assert blocker.args[1] == "cancelled"
    assert w.session.result is before_result and w.session.model is before_model
    assert not w.progress.isVisible()
    assert w.statusBar().currentMessage().startswith("Update DNN cancelled")


def test_update_button_explains_when_adapt_is_missing(qtbot, window, monkeypatch):
    import app.main_window

    monkeypatch.setattr(app.main_window, "adapt_available", lambda: False)
    window._update_actions()
    action = window.actions_.update_dnn
    assert not action.isEnabled() and "core.separation.adapt" in action.toolTip()


def test_update_without_corrections_says_what_to_do(qtbot, window, tmp_path):
    if not adapt_available():
        pytest.skip("core.separation.adapt (Update DNN's fine-tuning) is not in this checkout")
    from app import messages

    open_and_analyse(qtbot, window, write_song(tmp_path / "song.wav"))
    with wait_job(qtbot, window, "update") as blocker:
        window.update_dnn()
    assert blocker.args[1] == "failed"
    assert "Correct the F0 first" in messages.current_box().text()
