"""``isolde [SONG | PROJECT.isolde]``: start the editor.

Without an argument the demo song (resources/demo/demo_song.flac) opens; if it is not installed
the window opens empty and says so.

Start-up shows a splash screen first, before the heavy imports (PyTorch alone takes seconds on
a busy machine), and says what it loads; the window replaces it once built. This module itself
imports neither PyTorch nor Qt, so the splash appears as soon as Qt is up.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

#: The folder of the bundled model and demo song (the same as
#: core.separation.models.store.RESOURCES, without importing PyTorch for it).
RESOURCES = Path(__file__).resolve().parents[1] / "resources"
DEMO_SONG = RESOURCES / "demo" / "demo_song.flac"
#: Size of the splash screen (pixels).
SPLASH_SIZE = (420, 160)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="isolde", description="Isolde's editor")
    parser.add_argument("path", nargs="?", help="a song (WAV, FLAC, OGG, MP3) or a .isolde project")
    parser.add_argument("--model", default=None, help="model file (.safetensors with its card)")
    parser.add_argument("--settings", default=None, help="settings file (default: the user's)")
    return parser.parse_args(argv)


def build_window(args: argparse.Namespace):
    """Create the main window and start opening what ``args`` asks for."""
    from . import messages
    from .main_window import MainWindow

    window = MainWindow(model_path=args.model, settings_path=args.settings)
    if args.path is not None:
        window.open_path(args.path)
    elif DEMO_SONG.is_file():
        window.open_path(DEMO_SONG)
    else:
        text = (f"The demo song is not installed ({DEMO_SONG}). Open a song with File > Open "
                "or drop one on the window.")
        window.statusBar().showMessage(text)
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, lambda: messages.show_info(window, text))
    return window


def show_splash(app):
    """Show a splash screen at once (painted before returning); returns it."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
    from PySide6.QtWidgets import QSplashScreen

    import core

    pixmap = QPixmap(*SPLASH_SIZE)
    pixmap.fill(QColor("#1b1d22"))
    painter = QPainter(pixmap)
    painter.setPen(QColor("#e0e0e0"))
    font = QFont()
    font.setPointSize(22)
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(pixmap.rect().adjusted(0, 24, 0, 0),
                     Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, "Isolde")
    font.setPointSize(10)
    font.setBold(False)
    painter.setFont(font)
    painter.drawText(pixmap.rect().adjusted(0, 70, 0, 0),
                     Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                     f"singing-voice separation {core.__version__}")
    painter.end()
    splash = QSplashScreen(pixmap)
    splash.show()
    say(splash, app, "Starting...")
    return splash


def say(splash, app, text: str) -> None:
    """Show ``text`` on the splash and paint it now (the next step blocks the event loop)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor

    splash.showMessage(text, Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignHCenter,
                       QColor("#a0a0a0"))
    splash.repaint()
    app.processEvents()


def load_window(args: argparse.Namespace, splash, app):
    """The heavy part of start-up, under the splash: imports, the model, the window (shown)."""
    say(splash, app, "Loading PyTorch...")
    import torch  # noqa: F401 - the slow import, named on the splash

    say(splash, app, "Loading the editor...")
    from . import main_window  # noqa: F401

    say(splash, app, "Loading the model...")
    window = build_window(args)
    window.show()
    splash.finish(window)
    return window


def install_error_hook(window) -> None:
    """Unexpected exceptions in the GUI thread reach the user as a message (and stderr)."""
    previous = sys.excepthook

    def hook(kind, value, traceback) -> None:
        previous(kind, value, traceback)
        if not issubclass(kind, KeyboardInterrupt):
            window.show_error(f"Unexpected error: {kind.__name__}: {value}")

    sys.excepthook = hook


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.path is not None and not Path(args.path).exists():
        print(f"isolde: error: No such file: {args.path}", file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "isolde"])
    app.setApplicationName("Isolde")
    splash = show_splash(app)
    window = load_window(args, splash, app)
    install_error_hook(window)
    return int(app.exec())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
