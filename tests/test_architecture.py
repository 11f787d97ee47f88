"""The engine is a library: importing any of ``core`` pulls in neither Qt nor madmom. Its layout
shows its architecture: parts that import only downwards, no import cycles, a small top level."""
import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import core

ROOT = Path(__file__).resolve().parents[1]


def test_core_never_imports_qt():
    modules = sorted(m.name for m in pkgutil.walk_packages(core.__path__, "core."))
    assert "core.separation.separate" in modules
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


def module_names(root: Path, package: str) -> dict[Path, str]:
    """Every module of the package under ``root`` (a source folder), by file: dotted names."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[path] = ".".join([package, *parts])
    return names


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Which modules of the package each of its modules imports, read from the source with ast.

    Every ``import`` and ``from ... import`` counts, at the top of a file or inside a function
    (a lazy import still closes a cycle), relative ones resolved against the importing module.
    ``from PACKAGE import name`` counts the submodule ``name`` when there is one, else the
    package itself. Importing a submodule does not count its parent packages' ``__init__``.
    """
    names = module_names(root, package)
    modules = set(names.values())

    def known(dotted: str) -> str | None:
        while dotted and dotted not in modules:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    graph = {name: set() for name in modules}
    for path, name in names.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base_parts = here.split(".")
                    base_parts = base_parts[:len(base_parts) - (node.level - 1)]
                    base = ".".join(base_parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            for target in targets:
                if target == package or target.startswith(package + "."):
                    resolved = known(target)
                    if resolved is not None and resolved != name:
                        graph[name].add(resolved)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_cycle_finder_finds_cycles(tmp_path):
    """A lazy relative import, a ``from . import`` and an absolute import close cycles here."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub.b import thing\n")
    (pkg / "sub" / "b.py").write_text("def thing():\n    from ..a import x\n")
    (pkg / "c.py").write_text("from . import d\n")
    (pkg / "d.py").write_text("import pkg.c\n")
    (pkg / "e.py").write_text("from .sub import b\n")
    graph = import_graph(pkg, "pkg")
    assert graph["pkg.e"] == {"pkg.sub.b"}
    assert import_cycles(graph) == [["pkg.a", "pkg.sub.b"], ["pkg.c", "pkg.d"]]
    (pkg / "d.py").write_text("import numpy\n")
    assert import_cycles(import_graph(pkg, "pkg")) == [["pkg.a", "pkg.sub.b"]]


def test_core_has_no_import_cycles():
    graph = import_graph(ROOT / "core", "core")
    assert "core.cli" in graph and graph["core.cli"]
    assert import_cycles(graph) == []


#: core's parts from the bottom up: a module imports only from its own part or from a lower layer
#: (so ``document`` and ``training``, side by side, never import each other).
LAYERS = (("errors", "progress"), ("child_process",), ("audio",), ("music",), ("separation",),
          ("document", "training"), ("cli",))


def upward_imports(graph: dict[str, set[str]], layers) -> list[str]:
    """The imports of a part (``PACKAGE.PART...``) from a part beside or above it in ``layers``."""
    layer_of = {part: i for i, parts in enumerate(layers) for part in parts}
    wrong = []
    for module, imported in sorted(graph.items()):
        if module.count(".") == 0:
            continue
        part = module.split(".")[1]
        for other in sorted(imported):
            if other.count(".") == 0:  # the package itself: its version
                continue
            other_part = other.split(".")[1]
            if other_part != part and layer_of[other_part] >= layer_of[part]:
                wrong.append(f"{module} imports {other}")
    return wrong


def test_the_layer_check_finds_upward_and_sideways_imports():
    graph = {"pkg": set(), "pkg.low.a": set(), "pkg.mid.b": {"pkg.low.a", "pkg.side.c"},
             "pkg.side.c": {"pkg.low.a"}, "pkg.top": {"pkg.mid.b", "pkg"}}
    layers = (("low",), ("mid", "side"), ("top",))
    assert upward_imports(graph, layers) == ["pkg.mid.b imports pkg.side.c"]
    graph["pkg.low.a"] = {"pkg.top"}
    assert upward_imports(graph, layers) == ["pkg.low.a imports pkg.top",
                                             "pkg.mid.b imports pkg.side.c"]


def test_core_parts_import_only_downwards():
    parts = sorted(p.stem for p in (ROOT / "core").iterdir()
                   if p.name not in ("__init__.py", "__pycache__"))
    assert sorted(part for layer in LAYERS for part in layer) == parts
    assert upward_imports(import_graph(ROOT / "core", "core"), LAYERS) == []


def test_core_top_level_has_at_most_a_dozen_entries():
    entries = [p.name for p in (ROOT / "core").iterdir() if p.name != "__pycache__"]
    assert len(entries) <= 12, sorted(entries)
