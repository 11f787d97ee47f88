"""Files from the editor: export, project save -> open, crash recovery."""
from __future__ import annotations

import copy

import mido
import numpy as np
import pytest
import soundfile as sf
import torch

from app import file_commands, messages
from tests.app_helpers import drag, line, open_and_analyse, open_and_correct, wait_job, write_song

pytest_plugins = ["tests.app_fixtures"]  # the window fixtures


@pytest.fixture
def edited(qtbot, window, tmp_path):
    return open_and_correct(qtbot, window, write_song(tmp_path / "song.wav"),
                            drawn=(0.5, 1.2, 59.0, 61.0), deleted=(2.0, 2.4))


@pytest.mark.parametrize("fmt, subtype, expected", [("wav", "float32", "FLOAT"),
                                                    ("flac", "pcm24", "PCM_24")])
def test_export_writes_files_that_read_back(qtbot, edited, tmp_path, fmt, subtype, expected):
    out = tmp_path / "export"
    with wait_job(qtbot, edited, "export") as blocker:
        edited.export_to(out, audio_format=fmt, subtype=subtype)
    assert blocker.args[1] == "succeeded"
    audio = edited.session.audio
    for stem in ("vocals", "accompaniment"):
        path = out / f"song_{stem}.{fmt}"
        data, rate = sf.read(path, always_2d=True)
        assert rate == audio.sample_rate and data.T.shape == audio.samples.shape
        assert sf.info(str(path)).subtype == expected
    rows = np.loadtxt(out / "song_f0.csv", delimiter=",", skiprows=1)
    times, f0, _ = edited.session.effective_f0()
    assert np.allclose(rows[:, 0], times, atol=1e-5) and np.allclose(rows[:, 1], f0, atol=1e-2)
    notes = [m for m in mido.MidiFile(out / "song_melody.mid") if m.type == "note_on"]
    assert any(abs(m.note - 60) <= 1 for m in notes)
    assert "Exported 4 files" in edited.statusBar().currentMessage()


def test_project_save_then_open_restores_everything(qtbot, edited, make_window, tmp_path):
    w = edited
    w.session.set_selection(0.4, 1.3)
    w.session.set_view_options(snap_to_semitones=True, listen="vocals", loop=True)
    adapted = copy.deepcopy(w.session.base_model)
    with torch.no_grad():
        for p in adapted.parameters():
            p.mul_(1.01)
    w.session.model = adapted  # stands for the result of an update
    w.time_axis.set_range(0.5, 2.0)
    w.f0_view.box.setYRange(50, 70, padding=0)
    assert file_commands.save_project_to(w, tmp_path / "song.isolde") is not None
    saved = w.session.corrections

    other = make_window()
    with wait_job(qtbot, other, "analysis") as blocker:
        other.open_path(tmp_path / "song.isolde")
    assert blocker.args[1] == "succeeded"
    s = other.session
    assert np.allclose(s.corrections.times, saved.times) and np.allclose(s.corrections.f0_hz,
                                                                         saved.f0_hz)
    assert s.view.selection == (0.4, 1.3) and s.view.snap_to_semitones and s.view.loop
    assert other.actions_.listen["vocals"].isChecked() and other.actions_.snap.isChecked()
    assert other.time_axis.visible_range() == pytest.approx((0.5, 2.0), abs=0.01)
    assert other.f0_view.box.viewRange()[1] == pytest.approx([50, 70], abs=0.01)
    assert s.is_adapted and "adapted" in other.model_label.text()
    for name, value in adapted.state_dict().items():
        assert torch.allclose(value, s.model.state_dict()[name])
    assert not s.is_dirty and other.windowTitle() == "Isolde - song.wav"
    # The analysis ran with the restored (adapted) model.
    assert s.result is not None and s.model is not s.base_model


def test_a_hostile_project_is_a_message(qtbot, window, tmp_path):
    path = tmp_path / "evil.isolde"
    path.write_text('{"format": "isolde-project", "version": 1, "audio": {"path": "/etc/passwd",'
                    ' "sha256": "' + "0" * 64 + '"}, "model": {"adapted": "/etc/x.safetensors"}}')
    with wait_job(qtbot, window, "open") as blocker:
        window.open_path(path)
    assert blocker.args[1] == "failed"
    assert "beside the project" in messages.current_box().text()


def test_recovery_is_offered_after_a_crash(qtbot, make_window, tmp_path):
    song = write_song(tmp_path / "song.wav")
    crashed = make_window()
    open_and_analyse(qtbot, crashed, song)
    crashed.f0_view.box.setYRange(48, 72, padding=0)
    drag(qtbot, crashed.f0_view, line(0.5, 1.0, 60.0, 60.0))
    qtbot.waitUntil(lambda: any((tmp_path / "recovery").glob("*.json")), timeout=5000)
    lost = crashed.session.corrections
    crashed.session.events.disconnect(crashed.bridge._forward)  # dies without closing

    restarted = make_window()
    with wait_job(qtbot, restarted, "analysis"):
        restarted.open_path(song)
    box = messages.current_box()
    assert box is not None and "Restore" in box.text()
    box.button(box.StandardButton.Yes).click()
    assert np.allclose(restarted.session.corrections.times, lost.times)
    assert np.allclose(restarted.session.corrections.f0_hz, lost.f0_hz, atol=1e-3)
    restarted.session.undo()  # restoring is one undoable step
    assert restarted.session.corrections.is_empty


def test_saved_work_leaves_no_recovery(qtbot, edited, tmp_path):
    edited.autosave()
    assert any((tmp_path / "recovery").glob("*.json"))
    file_commands.save_project_to(edited, tmp_path / "p.isolde")
    assert not any((tmp_path / "recovery").glob("*.json"))


def test_load_model_opens_where_the_models_are(tmp_path):
    """The dialog starts in the shipped models' folder, then in the folder of the model in use."""
    from core.document.session import Session
    from core.separation.models.store import DEFAULT_MODEL, save_model
    from tests.conftest import tiny_model

    session = Session(settings={}, recovery_dir=tmp_path / "recovery")
    assert file_commands.model_folder(session) == str(DEFAULT_MODEL.parent)
    (tmp_path / "mine").mkdir()
    mine = save_model(tiny_model(), tmp_path / "mine" / "m.safetensors")
    session.load_model(mine)
    assert file_commands.model_folder(session) == str(tmp_path / "mine")
