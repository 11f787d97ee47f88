"""``isolde [SONG | PROJECT.isolde]``: start the editor.

Without an argument the demo song (resources/demo/demo_song.flac) opens; if it is not installed
the window opens empty and says so.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.models.store import RESOURCES

DEMO_SONG = RESOURCES / "demo" / "demo_song.flac"


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
    window = build_window(args)
    install_error_hook(window)
    window.show()
    return int(app.exec())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
