"""Redraw time per frame while dragging the F0 pen on a long song (printed, never asserted).

    .venv/bin/python benchmarks/editor_drag.py [--minutes 5] [--moves 200]

Opens a generated song in the real main window (offscreen unless a display is set), analyses it
with a small model (the analysis is not what is measured), puts corrections over a fifth of the
song, then drags the pen across the F0 editor. One frame is what a mouse move costs in the GUI
thread: the move event (pen stroke -> session edit -> curves rebuilt) plus a synchronous repaint
of the editor. Measured at three zooms: 10 s, 60 s and the whole song visible.
pyqtgraph drops mouse moves closer than 10 ms apart; the limit is lifted here so that every
move is measured. Target: < 16 ms per frame (60 frames per second).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TARGET_MS = 16.0


def small_model(folder: Path) -> Path:
    import torch

    from core.separation.models import JointModel, ModelConfig
    from core.separation.models.store import save_model

    torch.manual_seed(0)
    config = ModelConfig(svs_channels=4, svs_max_channels=16, f0_channels=4, f0_max_channels=8)
    return save_model(JointModel(config).eval(), folder / "small.safetensors")


def send(widget, kind, pos, button, buttons) -> None:
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def drag_frames(window, t0: float, t1: float, moves: int) -> np.ndarray:
    """Drag the pen from t0 to t1 (s) in ``moves`` steps; returns ms per frame."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QMouseEvent

    view, left, none = window.f0_view, Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    viewport = view.viewport()
    midi = 57.0 + 5.0 * np.sin(np.linspace(0, 6 * np.pi, moves + 1))
    points = [view.view_to_widget(t, m) for t, m in zip(np.linspace(t0, t1, moves + 1), midi)]
    send(viewport, QMouseEvent.Type.MouseButtonPress, points[0], left, left)
    frames = []
    for point in points[1:]:
        start = time.perf_counter()
        send(viewport, QMouseEvent.Type.MouseMove, point, none, left)
        viewport.repaint()
        frames.append(time.perf_counter() - start)
    send(viewport, QMouseEvent.Type.MouseButtonRelease, points[-1], left, none)
    return 1000 * np.array(frames[5:])  # the first moves include the drag threshold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--moves", type=int, default=200)
    args = parser.parse_args()

    import pyqtgraph as pg
    import soundfile as sf
    from PySide6.QtWidgets import QApplication

    from update_dnn_speed import make_corrections, make_song

    folder = Path(tempfile.mkdtemp(prefix="isolde-bench-"))
    os.environ["ISOLDE_RECOVERY_DIR"] = str(folder / "recovery")
    stereo, f0 = make_song(args.minutes)
    song = folder / "song.flac"
    sf.write(song, stereo.T, 44100, subtype="PCM_16")
    app = QApplication.instance() or QApplication([])
    pg.setConfigOption("mouseRateLimit", 0)
    from app.main_window import MainWindow

    window = MainWindow(model_path=small_model(folder), settings_path=folder / "settings.json")
    window.resize(1600, 900)
    window.show()
    done = []
    window.jobs.job_finished.connect(lambda name, outcome: done.append(name))
    window.open_path(song)
    while "analysis" not in done:
        app.processEvents()
        time.sleep(0.005)
    window.session.set_corrections(make_corrections(f0, 0.2))
    window.f0_view.box.setYRange(45, 75, padding=0)
    duration = window.session.duration
    print(f"{args.minutes:g}-minute song, {len(window.session.corrections)} correction points, "
          f"{len(window.session.frame_times())} frames, window 1600x900, "
          f"Qt platform {app.platformName()}")
    for span in (10.0, 60.0, duration):
        middle = 0.5 * duration
        window.time_axis.set_range(middle - span / 2, middle + span / 2)
        app.processEvents()
        ms = drag_frames(window, middle - 0.4 * span, middle + 0.4 * span, args.moves)
        print(f"  {span:5.0f} s visible: median {np.median(ms):5.1f} ms, 95th percentile "
              f"{np.percentile(ms, 95):5.1f} ms, worst {ms.max():5.1f} ms per frame "
              f"(target < {TARGET_MS:g} ms: {'met' if np.percentile(ms, 95) < TARGET_MS else 'missed'})")
        window.session.undo()
    window.close()


if __name__ == "__main__":
    main()
