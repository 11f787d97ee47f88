"""Packaging files: the PyInstaller spec, the desktop entry, the AppStream metainfo, the icons.

Nothing is built here: the spec is executed with stand-ins for PyInstaller's build classes, which
checks that it is valid Python that PyInstaller could run and that it asks for the right things.
``packaging/smoke_test.sh`` builds the real app and starts it.
"""
import configparser
import shutil
import struct
import subprocess
import sys
import tomllib
import types
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "isolde.spec"
APP_ID = "io.github.isolde.Isolde"
DESKTOP = PACKAGING / f"{APP_ID}.desktop"
METAINFO = PACKAGING / f"{APP_ID}.metainfo.xml"
ICONS = ROOT / "resources" / "icons"


def _pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)


# --- the spec ------------------------------------------------------------------------------------
class _Recorder:
    """Stands in for one of PyInstaller's build classes and records how it was called."""

    calls: list

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        type(self).calls.append(self)


def _stub_classes():
    class Analysis(_Recorder):
        calls = []

        def __init__(self, scripts, **kwargs):
            super().__init__(scripts, **kwargs)
            # What PyInstaller's analysis would return: TOC tuples (destination, source, type),
            # with a test module and an unwanted Qt plugin for the spec's filters to drop.
            self.pure = [("core.cli", str(ROOT / "core" / "cli.py"), "PYMODULE"),
                         ("numpy.tests.test_x", "/x/test_x.py", "PYMODULE")]
            self.binaries = [(dest + "/" + Path(src).name, src, "BINARY")
                             for src, dest in kwargs["binaries"]]
            self.binaries.append(("PySide6/Qt/plugins/platforms/libqeglfs.so", "/x", "BINARY"))
            self.binaries.append(("PySide6/Qt/plugins/qmltooling/libq.so", "/x", "BINARY"))
            self.binaries += [(f"torch/{name}", "/x", "BINARY") for name in
                              ("test/Dict_test", "bin/protoc", "bin/torch_shm_manager",
                               "lib/libtorch_cpu.so")]
            self.datas = [(dest + "/" + Path(src).name, src, "DATA")
                          for src, dest in kwargs["datas"]]
            self.datas.append(("scipy/io/tests/data/x.mat", "/x", "DATA"))
            self.scripts = [("isolde_launcher", scripts[0], "PYSOURCE")]

    class PYZ(_Recorder):
        calls = []

    class EXE(_Recorder):
        calls = []

    class COLLECT(_Recorder):
        calls = []

    return {c.__name__: c for c in (Analysis, PYZ, EXE, COLLECT)}


@pytest.fixture
def spec_run(tmp_path, monkeypatch):
    """Execute the spec as PyInstaller would, with its build classes and hook helpers stubbed."""
    requested = {"collect_data_files": [], "collect_submodules": [], "copy_metadata": []}

    def helper(name):
        def record(package, *args, **kwargs):
            requested[name].append(package)
            return []
        return record

    hooks = types.ModuleType("PyInstaller.utils.hooks")
    for name in requested:
        setattr(hooks, name, helper(name))
    package = types.ModuleType("PyInstaller")
    utils = types.ModuleType("PyInstaller.utils")
    package.utils, utils.hooks = utils, hooks
    for name, module in (("PyInstaller", package), ("PyInstaller.utils", utils),
                         ("PyInstaller.utils.hooks", hooks)):
        monkeypatch.setitem(sys.modules, name, module)

    classes = _stub_classes()
    namespace = {"__name__": "__main__", "__file__": str(SPEC), "SPECPATH": str(PACKAGING),
                 "specnm": "isolde", "workpath": str(tmp_path / "build" / "isolde"),
                 "DISTPATH": str(tmp_path / "dist"), **classes}
    code = compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec")
    exec(code, namespace)
    return types.SimpleNamespace(ns=namespace, requested=requested, tmp=tmp_path,
                                 analysis=classes["Analysis"].calls[-1],
                                 exe=classes["EXE"].calls[-1],
                                 collect=classes["COLLECT"].calls[-1],
                                 pyz=classes["PYZ"].calls[-1])


def test_spec_builds_the_entry_point_of_pyproject(spec_run):
    module, function = _pyproject()["project"]["scripts"]["isolde"].split(":")
    assert (module, function) == ("core.cli", "main")
    (script,) = spec_run.analysis.args[0]
    launcher = Path(script)
    assert launcher.is_relative_to(spec_run.tmp / "build")  # generated in the work folder
    source = launcher.read_text(encoding="utf-8")
    compile(source, str(launcher), "exec")
    assert f"from {module} import {function}" in source and f"sys.exit({function}())" in source
    assert str(ROOT) in spec_run.analysis.kwargs["pathex"]
    assert spec_run.exe.kwargs["name"] == "isolde" and spec_run.collect.kwargs["name"] == "isolde"
    assert spec_run.exe.kwargs["exclude_binaries"] is True  # one folder, not one file


def test_spec_collects_our_code_and_resources(spec_run):
    hidden = set(spec_run.analysis.kwargs["hiddenimports"])
    # Loaded by name (importlib) from the CLI, so the import analysis cannot see them.
    assert {"core.cli", "core.training.train", "core.separation.models.store",
            "core.document.settings"} <= hidden
    if (ROOT / "core" / "separation" / "adapt.py").exists():
        assert "core.separation.adapt" in hidden
    if (ROOT / "app" / "main.py").exists():
        assert "app.main" in hidden
    assert not any(name.startswith("tests") for name in hidden)
    datas = {(Path(src).relative_to(ROOT).as_posix(), dest)
             for src, dest in spec_run.analysis.kwargs["datas"] if Path(src).is_relative_to(ROOT)}
    assert ("resources/icons/isolde.svg", "resources/icons") in datas
    assert ("resources/icons/isolde-256.png", "resources/icons") in datas
    for folder in ("models", "demo"):
        for file in sorted((ROOT / "resources" / folder).glob("*")):
            if file.is_file() and not file.name.startswith("."):
                assert (f"resources/{folder}/{file.name}", f"resources/{folder}") in datas


def test_spec_collects_madmom_librosa_and_qt_platforms(spec_run):
    hidden = set(spec_run.analysis.kwargs["hiddenimports"])
    # madmom's Cython extensions and the modules its model pickles name.
    assert {"madmom.ml.hmm", "madmom.audio.comb_filters", "madmom.ml.nn.layers",
            "madmom.ml.nn.activations", "numpy.core.multiarray"} <= hidden
    assert "madmom.conftest" not in hidden
    for helper in ("collect_data_files", "copy_metadata"):
        assert "madmom" in spec_run.requested[helper]
    assert "librosa" in spec_run.requested["collect_data_files"]
    plugins = {dest + "/" + Path(src).name for src, dest in spec_run.analysis.kwargs["binaries"]}
    pyside = Path(__import__("PySide6").__file__).parent
    for name in ("libqoffscreen.so", "libqxcb.so"):
        if (pyside / "Qt" / "plugins" / "platforms" / name).exists():
            assert f"PySide6/Qt/plugins/platforms/{name}" in plugins


def test_spec_excludes_unused_qt_and_tests(spec_run):
    excludes = set(spec_run.analysis.kwargs["excludes"])
    assert {"PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtWebEngineCore", "PySide6.QtSql",
            "pytest", "tkinter"} <= excludes
    used = {"PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "PySide6.QtSvg",
            "PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets", "madmom", "librosa", "torch"}
    assert not used & excludes
    analysis = spec_run.analysis
    assert [name for name, *_ in analysis.pure] == ["core.cli"]
    kept = {dest for dest, *_ in analysis.binaries + analysis.datas}
    assert "PySide6/Qt/plugins/platforms/libqeglfs.so" not in kept
    assert "PySide6/Qt/plugins/qmltooling/libq.so" not in kept
    assert "scipy/io/tests/data/x.mat" not in kept
    assert not {"torch/test/Dict_test", "torch/bin/protoc"} & kept  # torch's C++ test programs
    assert {"torch/bin/torch_shm_manager", "torch/lib/libtorch_cpu.so"} <= kept
    assert "resources/icons/isolde.svg" in kept
    assert spec_run.pyz.args[0] is analysis.pure


# --- scripts -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["smoke_test.sh", "build.sh"])
def test_scripts_are_executable_bash(name):
    script = PACKAGING / name
    assert script.stat().st_mode & 0o111, f"{script} is not executable"
    assert script.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash\n")
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_smoke_script_checks_the_contract():
    text = (PACKAGING / "smoke_test.sh").read_text(encoding="utf-8")
    for needed in ("--version", "separate", "vocals.wav", "accompaniment.wav", "f0.csv",
                   "beats.csv", "QT_QPA_PLATFORM=offscreen", "save_model", "app/main.py"):
        assert needed in text


# --- desktop entry -------------------------------------------------------------------------------
def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_file_validates():
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate is not installed (Debian package desktop-file-utils)")
    result = subprocess.run([tool, str(DESKTOP)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_desktop_file_launches_isolde():
    entry = _desktop_entry()
    assert entry["Type"] == "Application" and entry["Name"] == "Isolde"
    assert entry["Exec"].split()[0] == "isolde"
    assert entry["Icon"] == APP_ID


# --- AppStream metainfo --------------------------------------------------------------------------
def test_metainfo_has_the_required_elements():
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    for tag in ("id", "name", "summary", "description", "launchable", "releases",
                "metadata_license", "project_license", "content_rating"):
        element = root.find(tag)
        assert element is not None, f"<{tag}> missing"
    assert root.findtext("id") == DESKTOP.name.removesuffix(".desktop") == APP_ID
    launchable = root.find("launchable")
    assert launchable.get("type") == "desktop-id" and launchable.text == DESKTOP.name
    assert root.find("content_rating").get("type", "").startswith("oars-")
    assert root.findtext("project_license") == _pyproject()["project"]["license"]["text"]
    versions = [r.get("version") for r in root.find("releases").findall("release")]
    assert _pyproject()["project"]["version"] in versions
    assert root.find("description").findall("p")


def test_metainfo_validates():
    tool = shutil.which("appstreamcli")
    if tool is None:
        pytest.skip("appstreamcli is not installed (Debian package appstream)")
    result = subprocess.run([tool, "validate", "--no-net", str(METAINFO)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# --- icons ---------------------------------------------------------------------------------------
def test_svg_icon_is_square_svg():
    root = ET.parse(ICONS / "isolde.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") == "0 0 256 256"


def test_png_icon_is_256_square():
    data = (ICONS / "isolde-256.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (256, 256)
