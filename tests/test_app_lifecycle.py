"""The editor's file lifecycle under stress: the recovery question, damaged recovery copies,
quitting or opening another song with unsaved corrections, projects missing their weights."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from app import messages
from app.main_window import AUTOSAVE_DELAY_MS
from core.document.recovery import recovery_file
from tests.app_helpers import open_and_analyse, wait_job, write_song

pytest_plugins = ["tests.app_fixtures"]  # the window fixtures

Buttons = messages.QMessageBox.StandardButton


def _recovery_files(tmp_path):
    return sorted((tmp_path / "recovery").glob("*.json"))


def _box_text() -> str:
    box = messages.current_box()
    return box.text() if box is not None and box.isVisible() else ""


def _answer(button) -> None:
    box = messages.current_box()
    assert box is not None and box.isVisible()
    box.button(button).click()


def _edited_window(qtbot, make_window, song):
    window = make_window()
    open_and_analyse(qtbot, window, song)
    window.session.draw([0.5, 0.6, 0.7], [220.0, 220.0, 220.0])
    return window


def test_the_recovery_copy_survives_the_restore_question(qtbot, make_window, tmp_path):
    song = write_song(tmp_path / "song.wav")
    crashed = _edited_window(qtbot, make_window, song)
    crashed.autosave()
    assert len(_recovery_files(tmp_path)) == 1
    crashed.session.events.disconnect(crashed.bridge._forward)  # dies without closing

    restarted = make_window()
    with wait_job(qtbot, restarted, "analysis"):
        restarted.open_path(song)
    assert "Restore" in _box_text()
    qtbot.wait(AUTOSAVE_DELAY_MS * 2)  # autosave ticks while the question is open
    assert len(_recovery_files(tmp_path)) == 1, "deleted while the user was being asked"
    restarted.close()  # closed without answering: the edits must still be recoverable
    assert not restarted.isVisible() and len(_recovery_files(tmp_path)) == 1

    again = make_window()
    with wait_job(qtbot, again, "analysis"):
        again.open_path(song)
    assert "Restore" in _box_text()
    _answer(Buttons.Yes)
    assert np.allclose(again.session.corrections.f0_hz, 220.0, atol=1e-3)


def test_a_damaged_recovery_copy_is_reported_and_kept(qtbot, make_window, tmp_path):
    from core.separation.models.store import sha256_of

    song = write_song(tmp_path / "song.wav")
    target = recovery_file(sha256_of(song), tmp_path / "recovery")
    target.parent.mkdir(exist_ok=True)
    target.write_text('{"format": "isolde-recovery", "corrections": "broken"}')
    other = make_window()
    with wait_job(qtbot, other, "analysis"):
        other.open_path(song)
    assert "kept as" in _box_text()
    kept = [p for p in target.parent.iterdir() if "damaged" in p.name]
    assert len(kept) == 1 and "broken" in kept[0].read_text()


def test_quitting_with_unsaved_corrections_asks(qtbot, make_window, tmp_path):
    song = write_song(tmp_path / "song.wav")
    window = _edited_window(qtbot, make_window, song)
    window.close()
    assert window.isVisible() and "not saved" in _box_text()
    _answer(Buttons.Cancel)
    assert window.isVisible() and window.session.is_dirty
    window.close()
    _answer(Buttons.Discard)
    assert not window.isVisible()
    assert _recovery_files(tmp_path) == []  # a normal quit: nothing to recover

    fresh = make_window()
    with wait_job(qtbot, fresh, "analysis"):
        fresh.open_path(song)
    assert "Restore" not in _box_text()


def test_quitting_and_saving_writes_the_project(qtbot, make_window, tmp_path):
    song = write_song(tmp_path / "song.wav")
    window = _edited_window(qtbot, make_window, song)
    project = window.session.save_project(tmp_path / "p.isolde")
    window.session.draw([1.5, 1.6], [330.0, 330.0])
    window.close()
    _answer(Buttons.Save)
    assert not window.isVisible()
    saved = json.loads(project.read_text())["corrections"]["f0_hz"]
    assert 330.0 in saved and _recovery_files(tmp_path) == []


def test_opening_another_song_with_unsaved_corrections_asks(qtbot, make_window, tmp_path):
    song = write_song(tmp_path / "song.wav")
    other = write_song(tmp_path / "other.wav", seed=4)
    window = _edited_window(qtbot, make_window, song)
    window.open_path(other)
    assert "not saved" in _box_text() and not window.jobs.running
    _answer(Buttons.Cancel)
    assert window.session.audio.path == song and window.session.is_dirty
    window.open_path(other)
    with wait_job(qtbot, window, "analysis"):
        _answer(Buttons.Discard)
    assert window.session.audio.path == other and _recovery_files(tmp_path) == []


def test_a_project_without_its_weights_opens_and_says_so(qtbot, make_window, tmp_path):
    song = write_song(tmp_path / "song.wav")
    window = _edited_window(qtbot, make_window, song)
    session = window.session
    session.model = copy.deepcopy(session.base_model)
    with torch.no_grad():
        for p in session.model.parameters():
            p.add_(0.01)
    project = session.save_project(tmp_path / "p.isolde")
    for weights in tmp_path.glob("p.adapted-*.safetensors"):
        weights.unlink()
    other = make_window()
    with wait_job(qtbot, other, "analysis") as blocker:
        other.open_path(project)
    assert blocker.args[1] == "succeeded"
    assert "missing" in _box_text() and "Update DNN" in _box_text()
    assert np.allclose(other.session.corrections.f0_hz, 220.0, atol=1e-3)
    assert not other.session.is_adapted


@pytest.mark.parametrize("octaves", [6])
def test_shifting_up_past_the_range_keeps_the_project_openable(qtbot, make_window, tmp_path,
                                                              octaves):
    song = write_song(tmp_path / "song.wav")
    window = _edited_window(qtbot, make_window, song)
    window.session.set_selection(0.4, 0.8)
    for _ in range(octaves):
        window.shift_selection(1)
    project = window.session.save_project(tmp_path / "high.isolde")
    other = make_window()
    with wait_job(qtbot, other, "analysis") as blocker:
        other.open_path(project)
    assert blocker.args[1] == "succeeded"
    assert np.allclose(other.session.corrections.f0_hz, window.session.corrections.f0_hz,
                       atol=1e-3)


def test_importing_corrections_outside_the_range_is_a_dialog(qtbot, make_window, tmp_path,
                                                             monkeypatch):
    from app import file_commands

    song = write_song(tmp_path / "song.wav")
    window = make_window()
    open_and_analyse(qtbot, window, song)
    bad = tmp_path / "bad.csv"
    bad.write_text("time,f0\n0.5,1e9\n")
    monkeypatch.setattr(file_commands.QFileDialog, "getOpenFileName",
                        lambda *a, **k: (str(bad), ""))
    window.import_corrections()
    assert "outside the range" in _box_text()
    assert window.session.corrections.is_empty
    good = tmp_path / "excel.csv"
    good.write_bytes("time,f0\r\n0.5,220\r\n0.52,221\r\n".encode("utf-8-sig"))
    monkeypatch.setattr(file_commands.QFileDialog, "getOpenFileName",
                        lambda *a, **k: (str(good), ""))
    window.import_corrections()
    assert np.allclose(window.session.corrections.f0_hz, [220.0, 221.0])


def test_a_recovery_copy_that_does_not_fit_the_song_is_a_dialog(qtbot, make_window, tmp_path):
    from core.separation.corrections import Corrections
    from core.document.recovery import write_recovery
    from core.document.view_state import ViewState

    from core.separation.models.store import sha256_of

    song = write_song(tmp_path / "song.wav")
    copy_path = write_recovery(sha256_of(song), song,
                               Corrections([50.0, 50.1], [220.0, 220.0]), ViewState(),
                               tmp_path / "recovery")
    other = make_window()
    with wait_job(qtbot, other, "analysis"):
        other.open_path(song)
    assert "Restore" in _box_text()
    _answer(Buttons.Yes)
    assert "cannot be restored" in _box_text() and "outside the song" in _box_text()
    assert other.session.corrections.is_empty and copy_path.exists()
