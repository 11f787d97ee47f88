"""Where the editor's file dialogs start, the export dialog, and the folders it remembers."""
from __future__ import annotations

import mido
import pytest
import soundfile as sf
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog

from app import file_commands
from core.document import settings_access
from tests.app_helpers import open_and_analyse, wait_job, write_song

pytest_plugins = ["tests.app_fixtures"]  # the window fixtures


@pytest.fixture
def user_dirs(tmp_path, monkeypatch):
    music, documents = tmp_path / "Music", tmp_path / "Documents"
    music.mkdir()
    documents.mkdir()
    monkeypatch.setenv("XDG_MUSIC_DIR", str(music))
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(documents))
    return music, documents


@pytest.fixture
def opened(qtbot, window, tmp_path, user_dirs):
    songs = tmp_path / "songs"
    songs.mkdir()
    open_and_analyse(qtbot, window, write_song(songs / "song.wav"))
    return window


def _export_with_dialog(qtbot, window, configure):
    window.choose_and_export()
    dialog = window.export_dialog
    configure(dialog)
    with wait_job(qtbot, window, "export") as blocker:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert blocker.args[1] == "succeeded", window.statusBar().currentMessage()
    return dialog


def test_export_dialog_defaults_to_music_then_remembers(qtbot, opened, tmp_path, user_dirs,
                                                         make_window):
    music, _ = user_dirs

    def flac_16_without_midi(dialog):
        assert dialog.folder.text() == str(music)
        assert dialog.audio_format.currentData() == "wav"  # the settings' default
        dialog.audio_format.setCurrentIndex(dialog.audio_format.findData("flac"))
        dialog.subtype.setCurrentIndex(dialog.subtype.findData("pcm16"))
        dialog.items["midi"].setChecked(False)

    _export_with_dialog(qtbot, opened, flac_16_without_midi)
    assert sf.info(str(music / "song_vocals.flac")).subtype == "PCM_16"
    assert (music / "song_accompaniment.flac").is_file() and (music / "song_f0.csv").is_file()
    assert not (music / "song_melody.mid").exists()

    elsewhere = tmp_path / "exports"
    elsewhere.mkdir()

    def remembered_then_elsewhere(dialog):
        assert dialog.audio_format.currentData() == "flac"  # the last choice
        assert dialog.subtype.currentData() == "pcm16"
        assert dialog.folder.text() == str(music)
        dialog.folder.setText(str(elsewhere))
        dialog.audio_format.setCurrentIndex(dialog.audio_format.findData("wav"))

    _export_with_dialog(qtbot, opened, remembered_then_elsewhere)
    assert (elsewhere / "song_vocals.wav").is_file()
    assert len(list(mido.MidiFile(elsewhere / "song_melody.mid"))) > 0

    again = make_window()  # persisted in the settings file
    again.choose_and_export()
    assert again.export_dialog.folder.text() == str(elsewhere)
    assert again.export_dialog.audio_format.currentData() == "wav"


def test_export_dialog_needs_an_existing_folder_and_an_item(qtbot, opened, tmp_path):
    opened.choose_and_export()
    dialog = opened.export_dialog
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok.isEnabled()
    dialog.folder.setText(str(tmp_path / "not-there"))
    assert not ok.isEnabled()
    dialog.folder.setText(str(tmp_path))
    for box in dialog.items.values():
        box.setChecked(False)
    assert not ok.isEnabled()
    dialog.items["f0"].setChecked(True)
    assert ok.isEnabled()
    dialog.reject()


def test_save_defaults_to_documents_then_remembers(qtbot, opened, tmp_path, user_dirs,
                                                   make_window):
    _, documents = user_dirs
    assert file_commands.project_suggestion(opened) == documents / "song.isolde"
    projects = tmp_path / "projects"
    projects.mkdir()
    assert file_commands.save_project_to(opened, projects / "take1.isolde") is not None
    assert file_commands.project_suggestion(opened) == projects / "take1.isolde"
    again = make_window()
    open_and_analyse(qtbot, again, opened.session.audio.path)
    assert file_commands.project_suggestion(again) == projects / "song.isolde"
    # A remembered folder that has gone: back to the documents folder.
    projects.rename(tmp_path / "moved")
    assert file_commands.project_suggestion(again) == documents / "song.isolde"
    assert settings_access.to_dict(again.session.settings).keys().isdisjoint(
        {"project_folder", "export_folder", "recent_files"})  # not a project's business


def test_open_dialog_shows_songs_and_projects_by_default(qtbot, window, user_dirs, monkeypatch):
    music, _ = user_dirs
    asked = {}

    def fake_dialog(parent, caption, folder, filters):
        asked.update(folder=folder, filters=filters.split(";;"))
        return "", ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake_dialog))
    window.choose_and_open()
    first = asked["filters"][0]
    assert "*.isolde" in first and "*.wav" in first and "*.mp3" in first
    assert asked["folder"] == str(music)  # nothing opened yet
