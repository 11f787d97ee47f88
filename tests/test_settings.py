"""User settings: defaults, round trip, damaged files, recent files, the config-dir override."""
import json
import os
import sys
import warnings

import pytest

from core.document import settings as settings_mod
from core.document.settings import (MAX_RECENT, Settings, SettingsWarning, default_adapt_steps,
                                    load_settings, save_settings, settings_path)


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    """Every test gets its own config folder, so none ever touches the real one."""
    folder = tmp_path / "config"
    monkeypatch.setenv(settings_mod.CONFIG_DIR_ENV, str(folder))
    return folder


def test_defaults_when_no_file(config_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = load_settings()
    assert (s.export_format, s.export_subtype, s.device, s.theme) == ("wav", "pcm24", "auto", "dark")
    assert s.adapt_steps == default_adapt_steps()
    assert s.recent_files == []
    assert not config_dir.exists()


def test_default_adapt_steps_follows_core_adapt():
    try:
        from core.separation.adapt import DEFAULT_ADAPT_STEPS
    except ImportError:
        assert default_adapt_steps() == 40
    else:
        assert default_adapt_steps() == DEFAULT_ADAPT_STEPS


def test_default_adapt_steps_without_core_adapt(monkeypatch):
    # None in sys.modules makes the import raise ImportError
    monkeypatch.setitem(sys.modules, "core.separation.adapt", None)
    assert default_adapt_steps() == 40


def test_export_subtypes_are_those_core_audio_writes():
    from core.audio.io import SUBTYPES

    assert set(settings_mod.EXPORT_SUBTYPES) <= set(SUBTYPES)


def test_round_trip(config_dir):
    s = Settings(export_format="flac", export_subtype="float32", device="cpu", adapt_steps=7,
                 theme="light")
    s.add_recent("/music/a.wav")
    s.add_recent("/music/b.flac")
    written = save_settings(s)
    assert written == config_dir / "settings.json"
    data = json.loads(written.read_text(encoding="utf-8"))
    assert data["export_format"] == "flac" and data["recent_files"] == ["/music/b.flac",
                                                                        "/music/a.wav"]
    assert load_settings() == s
    assert [p.name for p in config_dir.iterdir()] == ["settings.json"]  # no temporary left


def test_explicit_path_wins_over_env(tmp_path, config_dir):
    target = tmp_path / "elsewhere" / "prefs.json"
    save_settings(Settings(theme="light"), target)
    assert target.exists() and not config_dir.exists()
    assert load_settings(target).theme == "light"
    assert settings_path(target) == target


def test_env_override_and_platformdirs_default(tmp_path, monkeypatch):
    monkeypatch.setenv(settings_mod.CONFIG_DIR_ENV, str(tmp_path / "x"))
    assert settings_path() == tmp_path / "x" / "settings.json"
    monkeypatch.delenv(settings_mod.CONFIG_DIR_ENV)
    from platformdirs import user_config_dir

    assert settings_path() == settings_mod.Path(user_config_dir("isolde", appauthor=False),
                                                "settings.json")


@pytest.mark.parametrize("text", ["{not json", "", "[1, 2, 3]", "null", '"wav"', "\x00\x01"])
def test_malformed_file_gives_defaults_and_a_warning(config_dir, text):
    config_dir.mkdir()
    (config_dir / "settings.json").write_text(text, encoding="utf-8")
    with pytest.warns(SettingsWarning):
        s = load_settings()
    assert s == Settings()


def test_undecodable_file_gives_defaults(config_dir):
    config_dir.mkdir()
    (config_dir / "settings.json").write_bytes(b"\xff\xfe\xfa garbage")
    with pytest.warns(SettingsWarning):
        assert load_settings() == Settings()


def test_unreadable_path_gives_defaults(config_dir):
    (config_dir / "settings.json").mkdir(parents=True)  # a folder where the file should be
    with pytest.warns(SettingsWarning):
        assert load_settings() == Settings()


def test_bad_fields_fall_back_one_by_one(config_dir):
    config_dir.mkdir()
    (config_dir / "settings.json").write_text(json.dumps({
        "export_format": "mp3",          # unknown value
        "export_subtype": "float32",     # fine
        "device": 3,                     # wrong type
        "adapt_steps": True,             # a bool is not a step count
        "theme": "light",                # fine
        "recent_files": "/a.wav",        # not a list
        "from_a_newer_version": 1,       # ignored
    }), encoding="utf-8")
    with pytest.warns(SettingsWarning) as record:
        s = load_settings()
    assert len(record) == 4
    assert (s.export_format, s.export_subtype, s.device, s.theme) == ("wav", "float32", "auto",
                                                                      "light")
    assert s.adapt_steps == default_adapt_steps() and s.recent_files == []


@pytest.mark.parametrize("steps", [0, -5, 100_001, 2.5, "40", None])
def test_adapt_steps_out_of_range_or_type(steps):
    with pytest.warns(SettingsWarning):
        assert Settings(adapt_steps=steps).adapt_steps == default_adapt_steps()


def test_recent_files_entries_are_cleaned(config_dir):
    config_dir.mkdir()
    entries = ["/a.wav", 5, "", None, "/b.wav", "/a.wav"] + [f"/s{i}.wav" for i in range(20)]
    (config_dir / "settings.json").write_text(json.dumps({"recent_files": entries}),
                                              encoding="utf-8")
    s = load_settings()
    assert s.recent_files[:3] == ["/a.wav", "/b.wav", "/s0.wav"]
    assert len(s.recent_files) == MAX_RECENT


def test_add_recent_order_dedup_and_limit(tmp_path):
    s = Settings()
    for i in range(MAX_RECENT + 5):
        s.add_recent(tmp_path / f"song{i}.wav")
    assert len(s.recent_files) == MAX_RECENT
    assert s.recent_files[0] == str(tmp_path / f"song{MAX_RECENT + 4}.wav")
    assert s.recent_files[-1] == str(tmp_path / "song5.wav")
    s.add_recent(tmp_path / "song7.wav")  # re-opened: moves to the front, no duplicate
    assert s.recent_files[0] == str(tmp_path / "song7.wav")
    assert s.recent_files.count(str(tmp_path / "song7.wav")) == 1
    assert len(s.recent_files) == MAX_RECENT


def test_add_recent_makes_paths_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = Settings()
    s.add_recent("song.wav")
    assert s.recent_files == [os.path.join(str(tmp_path), "song.wav")]


def test_save_revalidates_mutated_fields(config_dir):
    s = Settings()
    s.theme = "neon"
    with pytest.warns(SettingsWarning):
        save_settings(s)
    assert json.loads((config_dir / "settings.json").read_text())["theme"] == "dark"


def test_save_replaces_the_file_whole(config_dir):
    save_settings(Settings(theme="light"))
    save_settings(Settings(theme="dark", device="cpu"))
    s = load_settings()
    assert (s.theme, s.device) == ("dark", "cpu")


def test_save_into_an_unwritable_place_is_a_user_error(tmp_path):
    from core.errors import IsoldeError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(IsoldeError):
        save_settings(Settings(), blocker / "sub" / "settings.json")


def test_settings_module_imports_no_qt():
    import subprocess

    code = ("import sys, core.document.settings as s; s.load_settings(); "
            "sys.exit(any(m.startswith(('PySide6', 'PyQt')) for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], env={**os.environ}).returncode == 0
