"""The engine is a library: importing any of ``core`` pulls in neither Qt nor madmom."""
import pkgutil
import subprocess
import sys
from pathlib import Path

import core

ROOT = Path(__file__).resolve().parents[1]


def test_core_never_imports_qt():
    modules = sorted(m.name for m in pkgutil.walk_packages(core.__path__, "core."))
    assert "core.separate" in modules
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module(name)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph', 'madmom'))\n"
            "print(','.join(bad))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"core imported: {proc.stdout.strip()}"


def test_no_qt_import_statements_in_core():
    for path in (ROOT / "core").rglob("*.py"):
        text = path.read_text()
        for forbidden in ("import PySide6", "from PySide6", "import pyqtgraph", "from pyqtgraph"):
            assert forbidden not in text, f"{path} imports Qt"
