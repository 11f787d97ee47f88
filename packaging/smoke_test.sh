#!/usr/bin/env bash
# Smoke launch of the frozen app: catches what the build left out (modules, data, Qt plugins).
#
#   packaging/smoke_test.sh [--no-build | --rebuild]
#
# Builds dist/isolde/ with packaging/build.sh when it is missing or older than the sources (unless
# --no-build), then, all headless:
#   1. checks that the bundle holds the files that are loaded by path at run time;
#   2. runs `isolde --version`, and `isolde COMMAND --help` for the sub-commands that the CLI
#      loads by name (train, evaluate, simulate);
#   3. runs `isolde separate` on a generated 5 s song and checks the four outputs (vocals.wav,
#      accompaniment.wav, f0.csv, beats.csv), and that madmom (not the librosa fallback) tracked
#      the beats;
#   4. starts the editor with QT_QPA_PLATFORM=offscreen on the demo song for GUI_SECONDS seconds
#      and checks that it comes up and stays up. Skipped, with a message, while app/ does not
#      exist in the checkout.
# Exit status 0 when every step passed, 1 otherwise. Settings go to a temporary folder.
# Environment: PYTHON (default .venv/bin/python; makes the song and, while the shipped model is
# missing, a small untrained one), GUI_SECONDS (default 8), SEPARATE_TIMEOUT (default 600).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
APP_DIR=$ROOT/dist/isolde
BIN=$APP_DIR/isolde
INTERNAL=$APP_DIR/_internal
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
GUI_SECONDS=${GUI_SECONDS:-8}
SEPARATE_TIMEOUT=${SEPARATE_TIMEOUT:-600}
MODE=${1:-}

failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
note() { echo "NOTE: $*"; }

# --- build when needed ---------------------------------------------------------------------------
stale_sources() {
    # Source files newer than the built binary (the first one found is enough).
    find core app resources packaging/isolde.spec pyproject.toml -type f \
        -not -path '*/__pycache__/*' -not -name '*.pyc' -newer "$BIN" 2>/dev/null | head -n 1
}
case "$MODE" in
    --no-build)
        [ -x "$BIN" ] || { echo "FAIL: $BIN does not exist (and --no-build was given)"; exit 1; } ;;
    --rebuild)
        packaging/build.sh || { echo "FAIL: the build failed"; exit 1; } ;;
    "")
        if [ ! -x "$BIN" ]; then
            echo "smoke_test: no build yet, building dist/isolde/"
            packaging/build.sh || { echo "FAIL: the build failed"; exit 1; }
        elif newer=$(stale_sources) && [ -n "$newer" ]; then
            echo "smoke_test: $newer is newer than the build, rebuilding dist/isolde/"
            packaging/build.sh || { echo "FAIL: the build failed"; exit 1; }
        fi ;;
    *)
        echo "usage: $0 [--no-build | --rebuild]" >&2; exit 2 ;;
esac

# Without the virtual environment (a build made elsewhere), python3 still makes the test song.
[ -x "$PYTHON" ] || PYTHON=python3

WORK=$(mktemp -d "${TMPDIR:-/tmp}/isolde-smoke.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# Keep the user's settings out of it.
export ISOLDE_CONFIG_DIR=$WORK/config
export PYTHONWARNINGS=default::RuntimeWarning

# --- 1. files loaded by path at run time ---------------------------------------------------------
check_glob() {  # check_glob DESCRIPTION PATTERN...
    local what=$1; shift
    local found
    found=$(compgen -G "$1" | head -n 1)
    if [ -n "$found" ]; then pass "bundle has $what (${found#"$APP_DIR"/})"; else fail "bundle lacks $what ($1)"; fi
}
check_glob "the Qt offscreen platform plugin" "$INTERNAL/PySide6/Qt/plugins/platforms/libqoffscreen.so"
check_glob "the Qt xcb platform plugin" "$INTERNAL/PySide6/Qt/plugins/platforms/libqxcb.so"
check_glob "madmom's downbeat models" "$INTERNAL/madmom/models/downbeats/2016/downbeats_blstm_*.pkl"
check_glob "madmom's HMM extension" "$INTERNAL/madmom/ml/hmm*.so"
check_glob "madmom's metadata" "$INTERNAL/madmom-*.dist-info/METADATA"
check_glob "libsndfile" "$INTERNAL/_soundfile_data/libsndfile*"
check_glob "soxr's extension" "$INTERNAL/soxr/soxr_ext*.so"
check_glob "librosa's lazy-loader stubs" "$INTERNAL/librosa/__init__.pyi"
check_glob "the icon" "$INTERNAL/resources/icons/isolde.svg"

# --- 2. --version --------------------------------------------------------------------------------
if version=$("$BIN" --version 2>&1) && [[ $version == isolde\ * ]]; then
    pass "isolde --version: $version"
else
    fail "isolde --version printed: $version"
fi

# Sub-commands the CLI loads by name (importlib): each one in the checkout must be in the build.
for command in train evaluate simulate; do
    [ -f "core/training/$command.py" ] || continue
    if usage=$("$BIN" "$command" --help 2>&1) && [[ $usage == "usage: isolde $command"* ]]; then
        pass "isolde $command --help"
    else
        fail "isolde $command --help (is core/training/$command.py in the build?):"
        sed 's/^/    /' <<<"$usage" | tail -n 20
    fi
done

# --- 3. isolde separate on a generated song ------------------------------------------------------
SONG=$WORK/song.wav
# Standard library only: 5 s of stereo 44.1 kHz 16-bit; a 'voice' of 6 harmonics gliding through
# the notes of a scale with vibrato, over a bass note and noise clicks at 120 beats per minute.
"$PYTHON" - "$SONG" <<'PY' || fail "could not generate the test song"
import math, random, struct, sys, wave
rate, seconds = 44100, 5.0
n = int(rate * seconds)
rng = random.Random(0)
notes = [220.0 * 2 ** (k / 12) for k in (0, 2, 4, 5, 7, 9, 11, 12)]
phase, frames = 0.0, bytearray()
for i in range(n):
    t = i / rate
    f0 = notes[int(t * 2) % len(notes)] * (1 + 0.01 * math.sin(2 * math.pi * 5.5 * t))
    phase += 2 * math.pi * f0 / rate
    voice = 0.2 * sum(math.sin(h * phase) / h for h in range(1, 7)) if (t % 0.5) < 0.42 else 0.0
    beat = t % 0.5
    click = rng.uniform(-0.6, 0.6) * math.exp(-beat * 200) if beat < 0.02 else 0.0
    x = voice + 0.15 * math.sin(2 * math.pi * 55 * t) + click
    left, right = 0.45 * x, 0.4 * x
    frames += struct.pack("<hh", int(32767 * max(-1, min(1, left))),
                          int(32767 * max(-1, min(1, right))))
with wave.open(sys.argv[1], "wb") as out:
    out.setnchannels(2)
    out.setsampwidth(2)
    out.setframerate(rate)
    out.writeframes(bytes(frames))
PY

MODEL_ARGS=()
if [ ! -f "$INTERNAL/resources/models/isolde-f0-svs-sdr.safetensors" ]; then
    note "the shipped model resources/models/isolde-f0-svs-sdr.safetensors is not in the bundle;" \
         "using a small UNTRAINED model made for this test (--model), so the stems are not meaningful"
    "$PYTHON" - "$WORK/tiny.safetensors" <<'PY' || fail "could not create the stand-in model"
import sys
import torch
from core.separation.models import JointModel, ModelConfig
from core.separation.models.store import save_model
torch.manual_seed(0)
save_model(JointModel(ModelConfig(svs_channels=4, svs_max_channels=16, f0_channels=4,
                                  f0_max_channels=8)), sys.argv[1])
PY
    MODEL_ARGS=(--model "$WORK/tiny.safetensors")
fi

OUT=$WORK/out
start=$SECONDS
timeout "$SEPARATE_TIMEOUT" "$BIN" separate "$SONG" -o "$OUT" --device cpu "${MODEL_ARGS[@]}" \
    >"$WORK/separate.log" 2>&1
rc=$?
elapsed=$((SECONDS - start))
if [ $rc -eq 0 ]; then
    pass "isolde separate exited 0 in ${elapsed}s"
else
    fail "isolde separate exited $rc after ${elapsed}s; its output:"
    sed 's/^/    /' "$WORK/separate.log" | tail -n 40
fi
for name in vocals.wav accompaniment.wav f0.csv beats.csv; do
    if [ -s "$OUT/$name" ]; then pass "separate wrote $name ($(wc -c <"$OUT/$name") bytes)"
    else fail "separate did not write $name"; fi
done
if [ -s "$OUT/f0.csv" ] && [ "$(head -n 1 "$OUT/f0.csv")" != "time,f0" ]; then
    fail "f0.csv does not start with the header time,f0"
fi
if [ -s "$OUT/beats.csv" ]; then
    note "beats.csv holds $(($(wc -l <"$OUT/beats.csv") - 1)) beats for the 5 s song (120 BPM)"
fi
if grep -q "madmom is unavailable" "$WORK/separate.log"; then
    fail "the frozen app could not use madmom and fell back to librosa:"
    grep "madmom is unavailable" "$WORK/separate.log" | sed 's/^/    /'
fi
if grep -qE "Traceback|ModuleNotFoundError|ImportError" "$WORK/separate.log"; then
    fail "isolde separate printed an error:"
    sed 's/^/    /' "$WORK/separate.log" | tail -n 40
fi

# --- 4. the editor, headless ---------------------------------------------------------------------
if [ ! -f "$ROOT/app/main.py" ]; then
    note "GUI check SKIPPED: app/ (the editor) is not in this checkout yet, so the build has no" \
         "editor; run this script again once app/main.py exists"
else
    DEMO=$(compgen -G "$INTERNAL/resources/demo/demo_song.*" | head -n 1)
    if [ -z "$DEMO" ]; then
        DEMO=$(compgen -G "$INTERNAL/resources/demo/*.flac" | head -n 1)
    fi
    if [ -z "$DEMO" ]; then
        note "no demo song in the bundle (resources/demo/); the editor opens the generated song"
        DEMO=$SONG
    fi
    start=$SECONDS
    QT_QPA_PLATFORM=offscreen timeout --kill-after=10 "$GUI_SECONDS" \
        "$BIN" "$DEMO" "${MODEL_ARGS[@]}" >"$WORK/gui.log" 2>&1
    rc=$?
    elapsed=$((SECONDS - start))
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        if grep -qE "Traceback|ModuleNotFoundError|ImportError|madmom is unavailable" "$WORK/gui.log"; then
            fail "the editor stayed up for ${GUI_SECONDS}s but printed an error:"
            sed 's/^/    /' "$WORK/gui.log" | tail -n 40
        else
            pass "the editor started offscreen on ${DEMO##*/} and stayed up for ${GUI_SECONDS}s"
        fi
    elif grep -q "The editor is not available" "$WORK/gui.log"; then
        fail "the build has no editor although app/ exists (rebuild: $0 --rebuild):"
        sed 's/^/    /' "$WORK/gui.log" | tail -n 20
    else
        fail "the editor exited by itself with status $rc after ${elapsed}s; its output:"
        sed 's/^/    /' "$WORK/gui.log" | tail -n 40
    fi
fi

echo
if [ $failures -eq 0 ]; then
    echo "smoke_test: all checks passed"
    exit 0
fi
echo "smoke_test: $failures check(s) failed"
exit 1
