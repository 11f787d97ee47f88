"""Start-up: a splash screen is up before the heavy imports, then the window replaces it."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent("""
    import sys, time
    from app import main as app_main
    assert "torch" not in sys.modules, "importing the editor's entry point loaded PyTorch"
    from PySide6.QtWidgets import QApplication
    app = QApplication(["isolde"])
    splash = app_main.show_splash(app)
    assert splash.isVisible() and "torch" not in sys.modules
    assert "app.main_window" not in sys.modules
    messages = []
    app_main.say = (lambda say: lambda s, a, text: (messages.append(text), say(s, a, text)))(
        app_main.say)
    args = app_main.parse_args(["--model", sys.argv[1], "--settings", sys.argv[2]])
    app_main.DEMO_SONG = app_main.RESOURCES / "no-such-demo.flac"
    window = app_main.load_window(args, splash, app)
    assert "torch" in sys.modules and window.isVisible(), "no window"
    app.processEvents()
    assert not splash.isVisible(), "the splash stayed up"
    print("MESSAGES", messages)
    window.close()
""")


def test_splash_first_then_the_window(tmp_path, tiny_model_file):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1",
               ISOLDE_RECOVERY_DIR=str(tmp_path / "recovery"))
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tiny_model_file),
                           str(tmp_path / "settings.json")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Loading PyTorch..." in done.stdout and "Loading the model..." in done.stdout


def test_the_demo_song_path_is_the_bundled_one():
    from app.main import RESOURCES
    from core.separation.models.store import RESOURCES as MODEL_RESOURCES

    assert RESOURCES == MODEL_RESOURCES
