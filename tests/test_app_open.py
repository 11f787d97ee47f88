"""Opening songs in the editor: analysis in a worker, views early, errors as messages."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QTextBrowser

from app import messages
from core.errors import IsoldeError
from tests.app_helpers import open_and_analyse, wait_job, write_song

pytest_plugins = ["tests.app_fixtures"]  # the window fixtures


def test_open_runs_the_analysis_and_fills_every_view(qtbot, window, tmp_path):
    song = write_song(tmp_path / "song.wav", seconds=3.0)
    with wait_job(qtbot, window, "open") as opened:
        window.open_path(song)
    assert opened.args[1] == "succeeded"
    # The song is on screen while the analysis still runs.
    assert window.jobs.running_name == "analysis"
    assert len(window.mixture_view.curve.getData()[0]) > 100
    assert window.session.background is not None
    with wait_job(qtbot, window, "analysis") as analysed:
        pass
    assert analysed.args[1] == "succeeded"
    s = window.session
    assert len(window.vocals_view.curve.getData()[0]) > 100
    assert window.f0_view.image.image is not None
    beats_x = window.f0_view.beats.getData()[0]
    assert beats_x is not None and len(beats_x) >= 6  # two points per beat line
    assert len(window.f0_view.estimated.getData()[0]) == len(s.frame_times())
    assert window.length_label.text() == "0:03"
    assert window.device_label.text() in ("CPU",) or window.device_label.text().startswith("GPU")
    assert window.model_label.text() == "tiny"
    assert window.windowTitle() == "Isolde - song.wav"
    assert window.actions_.export.isEnabled()


def test_open_another_song_while_analysing(qtbot, window, tmp_path):
    first = write_song(tmp_path / "first.wav", seconds=3.0)
    second = write_song(tmp_path / "second.wav", seconds=2.0, seed=1)
    with wait_job(qtbot, window, "open"):
        window.open_path(first)
    # Cancels the first song's analysis (if still running), then opens and analyses the second.
    with qtbot.waitSignal(window.jobs.job_finished, timeout=60000,
                          check_params_cb=lambda name, outcome: (name, outcome)
                          == ("analysis", "succeeded")):
        window.open_path(second)
    assert window.session.audio.path.name == "second.wav"
    assert window.session.result.vocals.shape[1] == window.session.audio.n_samples


def test_a_broken_file_is_a_message_not_a_crash(qtbot, window, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF....WAVEfmt nonsense")
    with wait_job(qtbot, window, "open") as blocker:
        window.open_path(bad)
    assert blocker.args[1] == "failed"
    assert "Not a readable audio file" in messages.current_box().text()
    assert window.session.audio is None


def test_an_unexpected_exception_in_a_worker_reaches_the_user(qtbot, window, tmp_path,
                                                              monkeypatch):
    def broken(cancel=None):
        yield from ()
        raise RuntimeError("boom")

    monkeypatch.setattr(window.session, "analyse_iter", broken)
    with wait_job(qtbot, window, "analysis") as blocker:
        window.open_path(write_song(tmp_path / "song.wav", seconds=2.0))
    assert blocker.args[1] == "failed"
    assert "boom" in messages.current_box().text() and window.isVisible()


def test_missing_default_model_is_said_clearly(qtbot, make_window, tmp_path, monkeypatch):
    from core.separation.models import store

    monkeypatch.setattr(store, "DEFAULT_MODEL", tmp_path / "models" / "isolde-f0-svs.safetensors")
    w = make_window(model_path=None)
    qtbot.waitUntil(lambda: messages.current_box() is not None and messages.current_box().parent() is w)
    assert "missing" in messages.current_box().text()
    assert "missing" in w.statusBar().currentMessage()
    assert w.model_label.text() == "no model"
    with wait_job(qtbot, w, "open"):
        w.open_path(write_song(tmp_path / "song.wav", seconds=2.0))
    assert w.session.audio is not None and not w.jobs.running  # no analysis without a model
    assert len(w.mixture_view.curve.getData()[0]) > 100


def test_drop_a_file_on_the_window(qtbot, window, tmp_path):
    song = write_song(tmp_path / "dropped.wav", seconds=2.0)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(song))])
    event = QDropEvent(QPointF(100, 100), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with wait_job(qtbot, window, "analysis"):
        window.dropEvent(event)
    assert window.session.audio.path == song


def test_recent_files_menu(qtbot, make_window, tmp_path):
    window = make_window()
    song = write_song(tmp_path / "recent.wav", seconds=2.0)
    open_and_analyse(qtbot, window, song)
    actions = window.actions_.recent_menu.actions()
    assert [a.toolTip() for a in actions][:1] == [str(song)]
    again = make_window()  # settings were saved: a new window knows the file
    assert again.actions_.recent_menu.actions()[0].toolTip() == str(song)
    with wait_job(qtbot, again, "analysis"):
        again.actions_.recent_menu.actions()[0].trigger()
    assert again.session.audio.path == song


def test_command_line(qtbot, tmp_path, tiny_model_file, monkeypatch):
    from app import main as app_main

    assert app_main.main([str(tmp_path / "nope.wav")]) == 2
    monkeypatch.setattr(app_main, "DEMO_SONG", tmp_path / "missing_demo.flac")
    args = app_main.parse_args(["--model", str(tiny_model_file), "--settings",
                                str(tmp_path / "s.json")])
    w = app_main.build_window(args)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: messages.current_box() is not None and messages.current_box().parent() is w)
    assert "demo song is not installed" in messages.current_box().text()
    song = write_song(tmp_path / "cli.wav", seconds=2.0)
    args = app_main.parse_args([str(song), "--model", str(tiny_model_file), "--settings",
                                str(tmp_path / "s.json")])
    w2 = app_main.build_window(args)
    qtbot.addWidget(w2)
    with wait_job(qtbot, w2, "analysis"):
        pass
    assert w2.session.audio.path == song
    w.close()
    w2.close()


def test_settings_dialog_changes_and_saves_settings(qtbot, make_window, tmp_path):
    w = make_window()
    w.edit_settings()
    dialog = w.settings_dialog
    dialog.export_format.setCurrentIndex(dialog.export_format.findData("flac"))
    dialog.export_subtype.setCurrentIndex(dialog.export_subtype.findData("pcm16"))
    dialog.adapt_steps.setValue(7)
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    dialog.accept()
    s = w.session.settings
    assert (s.export_format, s.export_subtype, s.adapt_steps, s.device) == ("flac", "pcm16", 7, "cpu")
    assert make_window().session.settings.adapt_steps == 7  # persisted
    assert w.device_label.text() == "CPU"


def test_help_shows_shortcuts_and_versions(qtbot, window):
    import torch

    window.show_shortcuts()
    assert "Ctrl+Z" in window.help_dialog.findChild(QTextBrowser).toPlainText()
    window.show_about()
    text = window.help_dialog.findChild(QTextBrowser).toPlainText()
    assert torch.__version__ in text and "CUDA" in text and "architecture" in text


def test_session_errors_in_commands_do_not_escape(qtbot, window):
    # Commands that need a song do nothing harmful without one.
    window.shift_selection(1)
    window.clear_selection()
    window.playback.toggle()
    with pytest.raises(IsoldeError):
        window.session.model_input()
    assert np.isfinite(window.time_axis.duration)


def test_pyside_refcount_workaround_is_active_where_needed():
    import sys

    from app import qt_workarounds

    if qt_workarounds._affected():
        assert sys.getrefcount(None) > 2 ** 39 and sys.getrefcount(True) > 2 ** 39
