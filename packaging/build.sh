#!/usr/bin/env bash
# Build the self-contained Linux app folder dist/isolde/ with PyInstaller (packaging/isolde.spec).
#
#   packaging/build.sh [--clean] [extra PyInstaller options...]
#
# Uses the project's virtual environment (.venv/, made by `make test` or `make run`), installs
# PyInstaller into it when missing, and runs at low CPU priority (nice) so that it can share the
# machine. Work files go to build/, the app to dist/isolde/ (both ignored by git).
# Environment: PYTHON (default .venv/bin/python), NICE (default 19; empty for none).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
NICE=${NICE-19}
PYINSTALLER_SPEC=${PYINSTALLER_SPEC:-pyinstaller>=6.10}

if [ ! -x "$PYTHON" ]; then
    echo "build.sh: $PYTHON not found; run 'make test' (or 'make run') first to create .venv/" >&2
    exit 2
fi

if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
    echo "build.sh: installing PyInstaller into $("$PYTHON" -c 'import sys; print(sys.prefix)')"
    "$PYTHON" -m pip install -q "$PYINSTALLER_SPEC"
fi

run=("$PYTHON" -m PyInstaller --noconfirm --log-level WARN
     --distpath "$ROOT/dist" --workpath "$ROOT/build" "$@" "$ROOT/packaging/isolde.spec")
if [ -n "$NICE" ] && command -v nice >/dev/null; then
    run=(nice -n "$NICE" "${run[@]}")
fi

echo "build.sh: PyInstaller $("$PYTHON" -c 'import PyInstaller; print(PyInstaller.__version__)'), building dist/isolde/"
start=$SECONDS
"${run[@]}"
elapsed=$((SECONDS - start))

if [ ! -x dist/isolde/isolde ]; then
    echo "build.sh: the build did not produce dist/isolde/isolde" >&2
    exit 1
fi
size=$(du -sh dist/isolde | cut -f1)
echo "build.sh: built dist/isolde/ in ${elapsed}s ($size)"
