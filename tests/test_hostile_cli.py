"""Hostile input to ``isolde separate``: signals to a real child process, a real full file system,
pipes and devices, truncated and odd files. Every case: exit status 2 (130 for a signal) with one
line on stderr, no traceback, and the output folder holding the whole old result set or the
whole new one, never a mixture."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.audio.io import save_audio
from core.cli import RESULT_NAMES, main
from core.separation.output_set import STAGING_PREFIX
from tests.conftest import synth_song
from tests.full_disk import full_disk  # noqa: F401 - a fixture

REPO = Path(__file__).resolve().parents[1]
OLD = "old result\n"


def _song(path: Path, seconds: float = 2.0) -> Path:
    mixture, _, _ = synth_song(seconds=seconds)
    sf.write(path, mixture.T, 44100, subtype="PCM_16")
    return path


def _separate(capsys, *argv):
    code = main(["separate", *map(str, argv)])
    return code, capsys.readouterr().err


def _one_error_line(err: str, pattern: str) -> None:
    """One message line (progress bars aside), no traceback, no decoder noise."""
    pieces = re.split(r"[\r\n]|(?=isolde: )", err)
    lines = [p for p in pieces if p.strip() and not p.startswith("isolde ")]
    assert len(lines) == 1 and lines[0].startswith("isolde: "), err
    assert pattern.lower() in lines[0].lower(), err
    assert "Traceback" not in err


def _old_set(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in RESULT_NAMES:
        (out / name).write_text(OLD)


def _is_old(out: Path) -> list[bool]:
    return [(out / name).read_bytes() == OLD.encode() for name in RESULT_NAMES]


def _staging_left(out: Path) -> list[Path]:
    return [p for p in out.iterdir() if p.name.startswith(STAGING_PREFIX)] if out.exists() else []


# ---------------------------------------------------------------------- signals, real child
CHILD = """
import os, sys, time
sys.path.insert(0, {repo!r})
{patch}
from core.cli import main
sys.exit(main(sys.argv[1:]))
"""

SLOW_RENAMES = """
import os as _os
_real_replace = _os.replace
def _slow_replace(src, dst, *a, **k):
    if os.path.basename(str(dst)) in ("vocals.wav", "accompaniment.wav", "f0.csv", "confidence.csv",
                                   "beats.csv") \\
            and ".isolde-staging-" in str(src) and ".isolde-staging-" not in str(dst):
        print("MOVING", file=sys.stderr, flush=True)
        time.sleep(0.4)
    return _real_replace(src, dst, *a, **k)
_os.replace = _slow_replace
"""

STUCK_SEPARATING = """
import core.separation.separate
def _stuck(*a, **k):
    print("SEPARATING", file=sys.stderr, flush=True)
    for _ in range(1200):  # short sleeps: a signal that cuts one short cannot end the wait
        time.sleep(0.1)
    raise RuntimeError("no signal came")
    yield
core.separation.separate.separate_iter = _stuck
"""

STUCK_STAGING = """
import core.music.beats
def _stuck(*a, **k):
    print("STAGING", file=sys.stderr, flush=True)
    time.sleep(120)
core.music.beats.write_beats_csv = _stuck
"""


def _child(patch: str, *argv) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    # As from a terminal: a test run started in the background (``make test &``) ignores SIGINT,
    # and a child would inherit that.
    return subprocess.Popen([sys.executable, "-c", CHILD.format(repo=str(REPO), patch=patch),
                             "separate", *map(str, argv)], stderr=subprocess.PIPE, text=True,
                            env=env, cwd=str(REPO),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for(proc: subprocess.Popen, marker: str, timeout: float = 240.0) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    proc.kill()
    raise AssertionError(f"{marker} never came: {''.join(seen)}")


def _finish(proc: subprocess.Popen) -> tuple[int, str]:
    rest = proc.stderr.read()
    return proc.wait(timeout=120), rest


def test_sigint_while_results_move_in_gives_the_whole_new_set(tmp_path, tiny_model_file):
    song, out = _song(tmp_path / "song.wav"), tmp_path / "out"
    _old_set(out)
    proc = _child(SLOW_RENAMES, song, "-o", out, "--model", tiny_model_file, "--device", "cpu")
    _wait_for(proc, "MOVING")
    proc.send_signal(signal.SIGINT)
    code, err = _finish(proc)
    assert code == 130, err
    assert "all five were written" in err and "Traceback" not in err
    assert not any(_is_old(out)), "a mixture of old and new results"
    assert sf.info(out / "vocals.wav").frames == 88200
    assert (out / "f0.csv").read_text().startswith("time,f0")
    assert _staging_left(out) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_separation_changes_nothing(tmp_path, tiny_model_file, sig):
    song, out = _song(tmp_path / "song.wav"), tmp_path / "out"
    _old_set(out)
    fresh = tmp_path / "fresh"  # never existed: must not exist afterwards either
    for target in (out, fresh):
        proc = _child(STUCK_SEPARATING, song, "-o", target, "--model", tiny_model_file)
        _wait_for(proc, "SEPARATING")
        proc.send_signal(sig)
        code, err = _finish(proc)
        assert code == 130, err
        assert "nothing was written" in err and "Traceback" not in err
    assert all(_is_old(out)) and sorted(p.name for p in out.iterdir()) == sorted(RESULT_NAMES)
    assert not fresh.exists()


def test_sigkill_while_staging_is_cleaned_up_by_the_next_run(tmp_path, capsys, tiny_model_file):
    song, out = _song(tmp_path / "song.wav"), tmp_path / "out"
    _old_set(out)
    proc = _child(STUCK_STAGING, song, "-o", out, "--model", tiny_model_file)
    _wait_for(proc, "STAGING")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert len(_staging_left(out)) == 1  # what SIGKILL leaves...
    assert all(_is_old(out))
    code, err = _separate(capsys, song, "-o", out, "--model", tiny_model_file)
    assert code == 0, err
    assert _staging_left(out) == []  # ...the next run removes
    assert not any(_is_old(out))


# ---------------------------------------------------------------------- the output set
def test_a_folder_named_like_a_result_is_refused_before_any_work(tmp_path, capsys,
                                                                  tiny_model_file, monkeypatch):
    import core.separation.separate

    song, out = _song(tmp_path / "song.wav"), tmp_path / "out"
    _old_set(out)
    (out / "f0.csv").unlink()
    (out / "f0.csv").mkdir()
    monkeypatch.setattr(core.separation.separate, "separate_iter",
                        lambda *a, **k: pytest.fail("separated before the cheap checks"))
    code, err = _separate(capsys, song, "-o", out, "--model", tiny_model_file)
    assert code == 2
    _one_error_line(err, "in the way")
    assert all((out / name).read_text() == OLD for name in RESULT_NAMES if name != "f0.csv")
    assert (out / "f0.csv").is_dir() and _staging_left(out) == []


def test_the_input_as_one_of_the_results_is_refused(tmp_path, capsys, tiny_model_file):
    out = tmp_path / "out"
    out.mkdir()
    song = _song(out / "vocals.wav")
    before = song.read_bytes()
    code, err = _separate(capsys, song, "-o", out, "--model", tiny_model_file)
    assert code == 2
    _one_error_line(err, "input file")
    assert song.read_bytes() == before and sorted(p.name for p in out.iterdir()) == ["vocals.wav"]


def test_a_failed_check_leaves_no_empty_output_folder(tmp_path, capsys, tiny_model_file):
    bad = tmp_path / "silence.wav"
    sf.write(bad, np.zeros((44100, 1), np.float32), 44100)
    out = tmp_path / "a" / "b" / "out"
    code, err = _separate(capsys, bad, "-o", out, "--model", tiny_model_file)
    assert code == 2 and "silence" in err
    assert not (tmp_path / "a").exists()
    folder_model = tmp_path / "model_folder.safetensors"
    folder_model.mkdir()
    code, err = _separate(capsys, _song(tmp_path / "s.wav"), "-o", out, "--model", folder_model)
    assert code == 2
    _one_error_line(err, "folder")
    assert not (tmp_path / "a").exists()


def test_full_disk_is_refused_before_the_work(tmp_path, capsys, tiny_model_file, full_disk,
                                              monkeypatch):
    import core.separation.separate

    song = _song(tmp_path / "song.wav")
    out = full_disk / "out"
    monkeypatch.setattr(core.separation.separate, "separate_iter",
                        lambda *a, **k: pytest.fail("separated although the results cannot fit"))
    code, err = _separate(capsys, song, "-o", out, "--model", tiny_model_file)
    assert code == 2
    _one_error_line(err, "free space")
    assert not out.exists()


def test_disk_filling_up_while_writing_loses_nothing(tmp_path, capsys, tiny_model_file,
                                                    full_disk, monkeypatch):
    """The space check passes (others take the space during the work): the write itself fails."""
    import core.separation.output_set

    song = _song(tmp_path / "song.wav", seconds=6.0)
    out = full_disk / "out"
    _old_set(out)
    monkeypatch.setattr(core.separation.output_set, "SPACE_MARGIN_BYTES", -10 ** 12)
    code, err = _separate(capsys, song, "-o", out, "--model", tiny_model_file)
    assert code == 2
    _one_error_line(err, "disk full")
    assert str(out) in err and STAGING_PREFIX not in err
    assert all(_is_old(out)) and _staging_left(out) == []


# ---------------------------------------------------------------------- inputs
def test_a_fifo_as_input_is_refused_without_hanging(tmp_path, tiny_model_file):
    fifo = tmp_path / "song.wav"
    os.mkfifo(fifo)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "core.cli", "separate", str(fifo), "-o",
                           str(tmp_path / "out"), "--model", str(tiny_model_file)],
                          capture_output=True, text=True, timeout=120, env=env, cwd=str(REPO))
    assert done.returncode == 2
    _one_error_line(done.stderr, "pipe or device")


def test_one_sample_input(tmp_path, capsys, tiny_model_file):
    song = tmp_path / "one.wav"
    sf.write(song, np.array([[0.5]], np.float32), 44100)
    code, err = _separate(capsys, song, "-o", tmp_path / "out", "--model", tiny_model_file)
    assert code == 2
    _one_error_line(err, "too short")


def _cut(path: Path, keep: float) -> Path:
    data = path.read_bytes()
    cut = path.with_name("cut_" + path.name)
    cut.write_bytes(data[:int(len(data) * keep)])
    return cut


@pytest.mark.parametrize("ext", [".wav", ".ogg", ".mp3", ".flac"])
@pytest.mark.parametrize("keep", [0.5, 0.97])
def test_truncated_files_are_refused_with_one_quiet_line(tmp_path, capfd, tiny_model_file, ext,
                                                         keep):
    mixture, _, _ = synth_song(seconds=4.0)
    whole = save_audio(tmp_path / f"song{ext}", mixture, 44100)
    cut = _cut(whole, keep)
    out = tmp_path / "out"
    capfd.readouterr()
    code = main(["separate", str(cut), "-o", str(out), "--model", str(tiny_model_file)])
    err = capfd.readouterr().err  # the file descriptor: C decoders' noise would show here
    assert code == 2
    assert "truncated" in err.lower() or ("flac" in ext and "damaged" in err.lower()), err
    _one_error_line(err, str(cut))
    assert "does not exist" not in err.lower()
    assert not out.exists()


def test_whole_files_still_open(tmp_path, capsys, tiny_model_file):
    mixture, _, _ = synth_song(seconds=2.0)
    for ext in (".wav", ".ogg", ".mp3", ".flac"):
        song = save_audio(tmp_path / f"song{ext}", mixture, 44100)
        code, err = _separate(capsys, song, "-o", tmp_path / f"out{ext}", "--model",
                              tiny_model_file)
        assert code == 0, (ext, err)


@pytest.mark.parametrize("content, pattern", [
    ("time,f0\n0.5,1000000000\n", "outside the range"),
    ("time,f0\n0.5,20\n", "outside the range"),
    ("time,f0\n0.5,1e400\n", "finite"),
])
def test_corrections_outside_the_f0_range(tmp_path, capsys, tiny_model_file, content, pattern):
    song = _song(tmp_path / "song.wav")
    csv_file = tmp_path / "c.csv"
    csv_file.write_text(content)
    code, err = _separate(capsys, song, "-o", tmp_path / "out", "--model", tiny_model_file,
                          "--corrections", csv_file, "--adapt-steps", "0")
    assert code == 2
    _one_error_line(err, pattern)
    assert not (tmp_path / "out").exists()


def test_corrections_from_a_device_or_too_large(tmp_path, capsys, tiny_model_file):
    song = _song(tmp_path / "song.wav")
    code, err = _separate(capsys, song, "-o", tmp_path / "out", "--model", tiny_model_file,
                          "--corrections", "/dev/zero")
    assert code == 2
    _one_error_line(err, "pipe or device")
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as f:  # sparse: 65 MB on paper, nothing on the disk
        f.write(b"time,f0\n")
        f.truncate(65 * 1024 * 1024)
    code, err = _separate(capsys, song, "-o", tmp_path / "out", "--model", tiny_model_file,
                          "--corrections", huge)
    assert code == 2
    _one_error_line(err, "implausibly large")


def test_corrections_with_a_byte_order_mark_are_read(tmp_path, capsys, tiny_model_file):
    song = _song(tmp_path / "song.wav")
    csv_file = tmp_path / "excel.csv"
    csv_file.write_bytes("time,f0\r\n0.50,220\r\n0.52,221\r\n".encode("utf-8-sig"))
    out = tmp_path / "out"
    code, err = _separate(capsys, song, "-o", out, "--model", tiny_model_file,
                          "--corrections", csv_file, "--adapt-steps", "0")
    assert code == 0, err
    rows = [line.split(",") for line in (out / "f0.csv").read_text().splitlines()[1:]]
    near = [float(f) for t, f in rows if abs(float(t) - 0.512) < 0.009]
    assert near and all(abs(f - 220.5) < 1.0 for f in near)


# ---------------------------------------------------------------------- model files
@pytest.mark.parametrize("change, pattern", [
    (lambda card: card.update(config=[1, 2]), "configuration"),
    (lambda card: card.update(config="f0_to_svs"), "configuration"),
    (lambda card: card.update(config=None), "configuration"),
    (lambda card: card["config"].update(svs_channels=10 ** 9), "implausibly large"),
    (lambda card: card.pop("sha256"), "sha-256"),
    (lambda card: card["config"].update(svs_depth={"a": 1}), "not a number"),
])
def test_hostile_model_cards(tmp_path, capsys, tiny_model_file, change, pattern, monkeypatch):
    import json

    import core.separation.separate

    card_file = tiny_model_file.with_suffix(".json")
    card = json.loads(card_file.read_text())
    change(card)
    card_file.write_text(json.dumps(card))
    monkeypatch.setattr(core.separation.separate, "separate_iter",
                        lambda *a, **k: pytest.fail("separated with a bad model"))
    code, err = _separate(capsys, _song(tmp_path / "song.wav"), "-o", tmp_path / "out",
                          "--model", tiny_model_file)
    assert code == 2
    _one_error_line(err, pattern)
    assert not (tmp_path / "out").exists()


def test_a_model_card_nested_too_deep(tmp_path, capsys, tiny_model_file):
    tiny_model_file.with_suffix(".json").write_text("[" * 100000 + "]" * 100000)
    code, err = _separate(capsys, _song(tmp_path / "song.wav"), "-o", tmp_path / "out",
                          "--model", tiny_model_file)
    assert code == 2
    _one_error_line(err, "not valid json")


def test_a_failure_half_way_through_the_moves_puts_the_old_set_back(tmp_path, capsys,
                                                                     tiny_model_file,
                                                                     monkeypatch):
    """The third rename fails (as a rename on a flaky network share can): the two results
    already moved go away again and the old ones come back."""
    import core.separation.output_set

    song, out = _song(tmp_path / "song.wav"), tmp_path / "out"
    _old_set(out)
    real_replace, calls = os.replace, []

    def flaky(src, dst):
        if Path(dst).parent == out:
            calls.append(dst)
            if len(calls) == 3:
                raise OSError(5, "Input/output error")
        return real_replace(src, dst)

    monkeypatch.setattr(core.separation.output_set.os, "replace", flaky)
    code, err = _separate(capsys, song, "-o", out, "--model", tiny_model_file)
    assert code == 2
    _one_error_line(err, "Input/output error")
    assert all(_is_old(out)) and sorted(p.name for p in out.iterdir()) == sorted(RESULT_NAMES)


def test_a_folder_appearing_during_the_work_is_never_moved(tmp_path, capsys, tiny_model_file,
                                                           monkeypatch):
    import core.music.beats

    song, out = _song(tmp_path / "song.wav"), tmp_path / "out"
    _old_set(out)
    real_write = core.music.beats.write_beats_csv

    def write_then_make_a_folder(path, beats):
        real_write(path, beats)
        (out / "beats.csv").unlink()
        (out / "beats.csv").mkdir()
        (out / "beats.csv" / "keep.txt").write_text("mine")

    monkeypatch.setattr(core.music.beats, "write_beats_csv", write_then_make_a_folder)
    code, err = _separate(capsys, song, "-o", out, "--model", tiny_model_file)
    assert code == 2
    _one_error_line(err, "in the way")
    assert (out / "beats.csv" / "keep.txt").read_text() == "mine"
    assert all((out / n).read_text() == OLD for n in RESULT_NAMES if n != "beats.csv")
