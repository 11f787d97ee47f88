"""Screenshot of the editor for the README: the real app under Xvfb, a PNG of the main window.

    .venv/bin/python scripts/screenshot.py OUT.png [--song FILE] [--model FILE]
                                               [--corrections FILE.csv] [--seconds 20]

The song is the demo song when it is installed, otherwise a generated one
(core.training.data.songs.synthetic) whose true melody supplies a few corrections, so the picture
shows drawn and deleted F0 too. The model is the bundled one; when it is missing a full-size model with
random weights stands in (the F0 it estimates is then noise) and the script says so. Without a
display the script runs itself again under ``xvfb-run``; if that is not installed it falls back to
Qt's offscreen platform.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
UNDER_XVFB = "ISOLDE_SCREENSHOT_UNDER_XVFB"
WINDOW_SIZE = (1600, 940)


def ensure_display() -> None:
    """Re-run this script under xvfb-run when there is no display (exits with its status)."""
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get(UNDER_XVFB):
        return
    if shutil.which("xvfb-run") is None:
        print("screenshot: no display and no xvfb-run; using Qt's offscreen platform",
              file=sys.stderr)
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        return
    env = dict(os.environ, **{UNDER_XVFB: "1", "QT_QPA_PLATFORM": "xcb"})
    command = ["xvfb-run", "-a", "-s", f"-screen 0 {WINDOW_SIZE[0] + 80}x{WINDOW_SIZE[1] + 80}x24",
               sys.executable, *sys.argv]
    sys.exit(subprocess.call(command, env=env))


def generated_song(folder: Path, seconds: float):
    """(path, Corrections from the song's true F0: one drawn stretch, one deleted)."""
    import numpy as np
    import soundfile as sf

    from core.separation.corrections import Corrections
    from core.training.data.songs.synthetic import generate_track

    track = generate_track(np.random.default_rng(7), seconds=seconds)
    mixture = track.vocals + track.accompaniment
    stereo = np.stack([mixture, 0.95 * mixture]) * (0.8 / max(np.abs(mixture).max(), 1e-6))
    path = folder / "generated_song.flac"
    sf.write(path, stereo.T, track.sample_rate, subtype="PCM_16")
    inside = (track.f0_times >= 0.3 * seconds) & (track.f0_times <= 0.55 * seconds)
    corrections = Corrections().draw(track.f0_times[inside], track.f0_hz[inside])
    return path, corrections.erase(0.7 * seconds, 0.75 * seconds)


def produced_song(folder: Path, seconds: float, seed: int = 3):
    """(path, Corrections) of a produced-sounding song: a record-like accompaniment rendered by
    FluidSynth with a mix-bus chain (core.training.data.songs.rendered) under a synthetic voice
    through a vocal chain (EQ, compression, reverb; core.training.data.production), centre, at
    -3 dB against the accompaniment; one stretch of the voice's true F0 drawn as a correction."""
    import numpy as np
    import soundfile as sf

    from core.separation.corrections import Corrections
    from core.training.data.production import vocal_chain
    from core.training.data.songs.rendered import render_song
    from core.training.data.songs.synthetic import generate_track

    accompaniment, meta = render_song(seed, seed=0, seconds=seconds)
    rng = np.random.default_rng(seed)
    voice = generate_track(rng, seconds=seconds).vocals
    voice = vocal_chain(voice, 44100, rng, reverb_probability=1.0, delay_probability=0.0,
                        double_probability=0.0)
    voice *= 10 ** (-3 / 20) * np.sqrt(np.mean(accompaniment ** 2) / max(np.mean(voice ** 2), 1e-12))
    mix = accompaniment + voice[None, :]
    mix *= 0.9 / max(np.abs(mix).max(), 1e-6)
    path = folder / f"produced_{meta['style']}.flac"
    sf.write(path, mix.T, 44100, subtype="PCM_16")
    track = generate_track(np.random.default_rng(seed), seconds=seconds)  # the same voice's F0
    inside = (track.f0_times >= 0.3 * seconds) & (track.f0_times <= 0.4 * seconds)
    return path, Corrections().draw(track.f0_times[inside], track.f0_hz[inside])


def fallback_model(folder: Path) -> Path:
    import torch

    from core.separation.models import JointModel
    from core.separation.models.store import save_model
    from core.training.train import TrainConfig

    torch.manual_seed(0)
    return save_model(JointModel(TrainConfig().model_config()).eval(),
                      folder / "random-full-size.safetensors")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="PNG file to write")
    parser.add_argument("--song", default=None, help="song to show (default: the demo song)")
    parser.add_argument("--model", default=None, help="model file (default: the bundled one)")
    parser.add_argument("--corrections", default=None, metavar="FILE.csv",
                        help="corrections to show (header time,f0), e.g. from a saved session")
    parser.add_argument("--produced", action="store_true",
                        help="show a produced-sounding generated song (FluidSynth accompaniment "
                             "with a mix bus, a voice through a vocal chain) instead")
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="length of the generated song when there is no demo song")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after (s)")
    args = parser.parse_args()
    ensure_display()

    from PySide6.QtWidgets import QApplication

    from app.main import DEMO_SONG
    from core.separation.models.store import DEFAULT_MODEL

    folder = Path(tempfile.mkdtemp(prefix="isolde-screenshot-"))
    os.environ["ISOLDE_RECOVERY_DIR"] = str(folder / "recovery")
    from core.separation.corrections import Corrections

    corrections = Corrections.load_csv(args.corrections) if args.corrections else None
    song = Path(args.song) if args.song else DEMO_SONG
    if args.produced:
        song, corrections = produced_song(folder, args.seconds)
    elif not song.is_file():
        song, corrections = generated_song(folder, args.seconds)
    model = Path(args.model) if args.model else DEFAULT_MODEL
    if not model.is_file():
        print(f"screenshot: {model} is missing; a random full-size model stands in (its F0 "
              "is noise)", file=sys.stderr)
        model = fallback_model(folder)

    app = QApplication.instance() or QApplication([sys.argv[0]])
    from app.main_window import MainWindow

    window = MainWindow(model_path=model, settings_path=folder / "settings.json")
    window.resize(*WINDOW_SIZE)
    window.show()
    finished = []
    window.jobs.job_finished.connect(lambda name, outcome: finished.append((name, outcome)))
    window.open_path(song)
    deadline = time.monotonic() + args.timeout
    while not any(name == "analysis" for name, _ in finished) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    if ("analysis", "succeeded") not in finished:
        print(f"screenshot: the analysis did not finish: {finished}", file=sys.stderr)
        return 1
    if corrections is not None:
        window.session.set_corrections(corrections)
    duration = window.session.duration
    window.time_axis.set_range(0.0, min(duration, 15.0))
    window.session.set_selection(0.3 * duration, 0.45 * duration)
    window.playback.seek(0.35 * duration)
    for _ in range(30):  # let every view paint
        app.processEvents()
        time.sleep(0.02)
    if not window.grab().save(str(args.output)):
        print(f"screenshot: cannot write {args.output}", file=sys.stderr)
        return 1
    print(f"screenshot: wrote {args.output} ({song.name}, model {model.name})", file=sys.stderr)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
