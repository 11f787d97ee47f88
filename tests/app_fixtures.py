"""Fixtures of the editor's tests: a shown main window on a tiny model with test-local settings.

Test modules load them with ``pytest_plugins = ["tests.app_fixtures"]``.
"""
from __future__ import annotations

import pytest


@pytest.fixture
def make_window(qtbot, tmp_path, tiny_model_file, monkeypatch):
    """Factory: ``make_window(**kwargs)`` -> a shown MainWindow with test-local settings."""
    from app.main_window import MainWindow

    monkeypatch.setenv("ISOLDE_RECOVERY_DIR", str(tmp_path / "recovery"))
    windows = []

    def make(**kwargs):
        kwargs.setdefault("model_path", tiny_model_file)
        kwargs.setdefault("settings_path", tmp_path / "settings.json")
        window = MainWindow(**kwargs)
        qtbot.addWidget(window)
        window.resize(1200, 800)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:  # stop jobs and audio before the widgets go
        window.close()
        if window.isVisible():  # it asks about unsaved corrections: drop them
            window.close_discarding()


@pytest.fixture
def window(make_window):
    return make_window()
