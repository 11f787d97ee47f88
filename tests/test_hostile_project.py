"""Hostile and unlucky project, recovery and atomic-write cases, without Qt: a save killed half
way (a real SIGKILL to a real child), projects whose weights are gone, projects that must not
switch the session half way, corrections outside the F0 range, damaged recovery copies."""
from __future__ import annotations

import copy
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from core.audio.fileio import write_text_atomic
from core.document import settings_access
from core.document.project import load_project
from core.document.recovery import read_recovery, recovery_file, write_recovery
from core.document.session import Session
from core.document.view_state import ViewState
from core.errors import CorrectionsError, IsoldeError, ProjectError, RecoveryError
from core.progress import run
from core.separation.corrections import F0_RANGE_HZ, Corrections
from tests.conftest import synth_song, tiny_model
from tests.full_disk import full_disk  # noqa: F401 - a fixture

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def default_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("ISOLDE_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture
def opened(tmp_path, tiny_model_file, song_file):
    s = Session(recovery_dir=tmp_path / "recovery")
    s.load_model(tiny_model_file)
    run(s.open_iter(song_file))
    return s


def _perturbed(model, amount=0.01):
    clone = copy.deepcopy(model)
    with torch.no_grad():
        for p in clone.parameters():
            p.add_(amount)
    return clone


def _fresh(tmp_path, model_file) -> Session:
    s = Session(recovery_dir=tmp_path / "recovery2")
    s.load_model(model_file)
    return s


# ---------------------------------------------------------------------- atomic writes
def test_atomic_write_keeps_permissions_and_symlinks(tmp_path):
    private = tmp_path / "private.json"
    private.write_text("old")
    private.chmod(0o600)
    write_text_atomic(private, "new")
    assert private.read_text() == "new" and stat.S_IMODE(private.stat().st_mode) == 0o600
    real = tmp_path / "real" / "settings.json"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_text_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert sorted(p.name for p in real.parent.iterdir()) == ["settings.json"]


def test_atomic_write_fsyncs_before_the_rename(tmp_path, monkeypatch):
    import core.audio.fileio

    order = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(core.audio.fileio.os, "fsync", lambda fd: (order.append("fsync"),
                                                             real_fsync(fd))[1])
    monkeypatch.setattr(core.audio.fileio.os, "replace", lambda a, b: (order.append("rename"),
                                                                 real_replace(a, b))[1])
    write_text_atomic(tmp_path / "x.json", "{}")
    assert order[:2] == ["fsync", "rename"]


# ---------------------------------------------------------------------- saving
SAVE_THEN_DIE = """
import sys, time, copy
sys.path.insert(0, {repo!r})
import torch
import core.document.project as project
from core.progress import run
from core.document.session import Session
s = Session(recovery_dir={recovery!r})
s.load_model({model!r})
run(s.open_iter({song!r}))
s.draw([0.5, 0.6], [330.0, 330.0])
s.model = copy.deepcopy(s.base_model)
with torch.no_grad():
    for p in s.model.parameters():
        p.add_(0.5)
real = project.write_text_atomic
def stuck(path, text):
    print("WEIGHTS WRITTEN", flush=True)
    time.sleep(120)
project.write_text_atomic = stuck
s.save_project({project!r})
"""


def test_a_save_killed_after_the_weights_leaves_the_old_project_whole(opened, tmp_path,
                                                                       tiny_model_file):
    opened.draw([0.5, 0.6], [220.0, 220.0])
    opened.model = _perturbed(opened.base_model)
    path = opened.save_project(tmp_path / "p.isolde")
    saved_weights = opened.model.state_dict()
    script = SAVE_THEN_DIE.format(repo=str(REPO), recovery=str(tmp_path / "r"),
                                  model=str(tiny_model_file), song=str(opened.audio.path),
                                  project=str(path))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, OMP_NUM_THREADS="1"))
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line or "WEIGHTS WRITTEN" in line:
            break
    assert "WEIGHTS WRITTEN" in line, "the child never got to the project file"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    assert len(list(tmp_path.glob("p.adapted-*.safetensors"))) == 2  # new weights are there...

    reopened = _fresh(tmp_path, tiny_model_file)
    run(reopened.open_project_iter(path))  # ...but the project still uses, and opens, the old
    assert reopened.open_notice is None and reopened.is_adapted
    assert np.allclose(reopened.corrections.f0_hz, 220.0)
    loaded = reopened.model.state_dict()
    assert all(torch.allclose(saved_weights[k].cpu(), loaded[k].cpu()) for k in loaded)
    reopened.draw([1.0, 1.1], [440.0, 440.0])
    reopened.model = _perturbed(reopened.base_model, 0.02)
    reopened.save_project(path)  # the next save removes what no project refers to
    assert len(list(tmp_path.glob("p.adapted-*.safetensors"))) == 1
    assert len(list(tmp_path.glob("p.adapted-*.json"))) == 1


@pytest.mark.parametrize("damage", ["delete weights", "delete card", "flip a byte",
                                    "garbage card"])
def test_a_project_opens_without_its_adapted_weights(opened, tmp_path, tiny_model_file, damage):
    opened.draw([0.5, 0.6], [220.0, 220.0])
    opened.model = _perturbed(opened.base_model)
    path = opened.save_project(tmp_path / "p.isolde")
    weights = next(tmp_path.glob("p.adapted-*.safetensors"))
    card = weights.with_suffix(".json")
    if damage == "delete weights":
        weights.unlink()
    elif damage == "delete card":
        card.unlink()
    elif damage == "flip a byte":
        data = bytearray(weights.read_bytes())
        data[len(data) // 2] ^= 0xFF
        weights.write_bytes(bytes(data))
    else:
        card.write_text("[" * 100000)
    reopened = _fresh(tmp_path, tiny_model_file)
    run(reopened.open_project_iter(path))
    assert np.allclose(reopened.corrections.f0_hz, 220.0) and not reopened.is_dirty
    assert not reopened.is_adapted and reopened.model is reopened.base_model
    assert reopened.open_notice and "Update DNN" in reopened.open_notice


def test_opening_a_project_is_all_or_nothing(opened, tmp_path, tiny_model_file):
    other_song = tmp_path / "other.wav"
    mixture, _, _ = synth_song(seconds=2.0, seed=3)
    sf.write(other_song, mixture.T, 44100, subtype="PCM_16")
    other_model = tmp_path / "other_model.safetensors"
    from core.separation.models.store import save_model
    save_model(tiny_model(seed=5), other_model)
    opened.draw([0.5, 0.6], [220.0, 220.0])
    before = (opened.audio, opened.audio_sha256, opened.base_model, opened.model_path,
              opened.corrections)

    def project(name, **changes):
        document = {"format": "isolde-project", "version": 1,
                    "audio": {"path": str(other_song), "sha256": "0" * 64},
                    "corrections": {"times": [0.5], "f0_hz": [220.0]},
                    "model": {"base": str(other_model), "adapted": None}}
        document.update(changes)
        path = tmp_path / name
        path.write_text(json.dumps(document))
        return path

    from core.separation.models.store import sha256_of
    right_sha = {"path": str(other_song), "sha256": sha256_of(other_song)}
    for path, reason in [
        (project("changed_song.isolde"), "changed"),
        (project("late.isolde", audio=right_sha,
                 corrections={"times": [50.0], "f0_hz": [220.0]}), "outside the song"),
    ]:
        with pytest.raises(IsoldeError, match=reason):
            run(opened.open_project_iter(path))
        after = (opened.audio, opened.audio_sha256, opened.base_model, opened.model_path,
                 opened.corrections)
        assert all(a is b for a, b in zip(before, after)), f"half switched by {path.name}"


def test_opening_a_project_leaves_the_users_settings_alone(opened, tmp_path, tiny_model_file):
    settings_file = tmp_path / "config" / "settings.json"
    path = opened.save_project(tmp_path / "mine.isolde")
    document = json.loads(path.read_text())
    document["settings"] = {"device": "cuda", "adapt_steps": 99, "theme": "light"}
    path.write_text(json.dumps(document))
    reopened = _fresh(tmp_path, tiny_model_file)
    mine = settings_access.to_dict(reopened.settings)
    run(reopened.open_project_iter(path))
    assert settings_access.to_dict(reopened.settings) == mine
    assert not settings_file.exists() or "cuda" not in settings_file.read_text()


# ---------------------------------------------------------------------- one rule for F0
def test_octave_shifts_stop_at_the_top_of_the_f0_range_and_the_project_reopens(
        opened, tmp_path, tiny_model_file):
    opened.draw([0.5, 0.6, 0.7], [440.0, 440.0, 440.0])
    results = [opened.shift_octaves(0.4, 0.8, 1) for _ in range(6)]
    assert results[0] and not all(results)  # 880 Hz fits, 28 kHz does not
    assert opened.corrections.f0_hz.max() <= F0_RANGE_HZ[1]
    opened.draw([1.0, 1.1], [28000.0, 1e9])  # the pen stops at the edge of the range
    assert opened.corrections.f0_hz.max() <= F0_RANGE_HZ[1]
    path = opened.save_project(tmp_path / "high.isolde")
    reopened = _fresh(tmp_path, tiny_model_file)
    run(reopened.open_project_iter(path))
    assert np.allclose(reopened.corrections.f0_hz, opened.corrections.f0_hz, atol=1e-3)


def test_imported_corrections_outside_the_range_are_refused(opened, tmp_path):
    csv_file = tmp_path / "c.csv"
    csv_file.write_text("time,f0\n0.5,1e9\n")
    with pytest.raises(CorrectionsError, match="outside the range"):
        opened.set_corrections(Corrections.load_csv(csv_file))
    with pytest.raises(CorrectionsError, match="outside the range"):
        opened.set_corrections(Corrections([0.5], [28000.0]))
    assert opened.corrections.is_empty


@pytest.mark.parametrize("text, reason", [
    ('{"times": [0.5], "f0_hz": [1e9]}', "outside the range"),
    ('{"times": [0.5], "f0_hz": [10]}', "outside the range"),
    ('{"times": [0.5], "f0_hz": [' + "9" * 400 + "]}", "finite"),
    ('{"times": [' + "9" * 400 + '], "f0_hz": [220]}', "finite"),
])
def test_project_corrections_outside_the_rule_are_refused(tmp_path, text, reason):
    path = tmp_path / "bad.isolde"
    path.write_text('{"format": "isolde-project", "version": 1, "audio": {"path": "x.wav", '
                    '"sha256": "' + "a" * 64 + '"}, "corrections": ' + text + "}")
    with pytest.raises(ProjectError, match=reason):
        load_project(path)


def test_a_huge_integer_anywhere_in_a_project_is_one_clear_error(tmp_path):
    path = tmp_path / "bad.isolde"
    path.write_text('{"format": "isolde-project", "version": 1, "audio": {"path": "x.wav", '
                    '"sha256": "' + "a" * 64 + '"}, "view": {"pitch_range": [1, '
                    + "9" * 400 + "]}}")
    with pytest.raises(ProjectError):
        load_project(path)


# ---------------------------------------------------------------------- recovery
def test_a_damaged_recovery_copy_is_kept_aside_and_reported(tmp_path):
    sha = "b" * 64
    target = recovery_file(sha, tmp_path)
    target.write_text('{"format": "isolde-recovery", "corrections": {"times": [1], "f0_hz": [1e9]}}')
    with pytest.raises(RecoveryError, match="kept as") as caught:
        read_recovery(sha, tmp_path)
    assert not target.exists()
    kept = [p for p in tmp_path.iterdir() if "damaged" in p.name]
    assert len(kept) == 1 and "1e9" in kept[0].read_text() and kept[0].name in str(caught.value)
    assert read_recovery(sha, tmp_path) is None  # not offered again


def test_the_recovery_copy_stays_while_it_is_offered(opened, tmp_path, tiny_model_file):
    opened.draw([0.5, 0.6], [220.0, 220.0])
    written = opened.autosave()
    restarted = _fresh(tmp_path, tiny_model_file)
    restarted.recovery_dir = opened.recovery_dir
    run(restarted.open_iter(opened.audio.path))
    assert restarted.pending_recovery() is not None
    assert restarted.autosave() is None and written.exists()  # clean session, copy kept
    restarted.forget_recovery()
    assert not written.exists()
    write_recovery(restarted.audio_sha256, opened.audio.path, opened.corrections, ViewState(),
                   opened.recovery_dir)
    found = restarted.pending_recovery()
    restarted.restore_recovery(found)
    assert restarted.is_dirty and np.allclose(restarted.corrections.f0_hz, 220.0, atol=1e-3)


def test_the_notice_of_a_project_does_not_follow_the_next_song(opened, tmp_path,
                                                               tiny_model_file):
    opened.draw([0.5, 0.6], [220.0, 220.0])
    opened.model = _perturbed(opened.base_model)
    path = opened.save_project(tmp_path / "p.isolde")
    next(tmp_path.glob("p.adapted-*.safetensors")).unlink()
    reopened = _fresh(tmp_path, tiny_model_file)
    run(reopened.open_project_iter(path))
    assert reopened.open_notice
    run(reopened.open_iter(opened.audio.path))
    assert reopened.open_notice is None


def test_saving_onto_a_full_disk_keeps_the_old_project(opened, tmp_path, full_disk):
    opened.draw([0.5, 0.6], [220.0, 220.0])
    path = opened.save_project(full_disk / "p.isolde")
    before = path.read_bytes()
    with open(full_disk / "filler", "wb", buffering=0) as filler:  # take what is left
        try:
            while True:
                filler.write(b"\0" * 4096)
        except OSError:
            pass
    opened.draw([1.0, 1.1], [330.0, 330.0])
    opened.model = _perturbed(opened.base_model)  # adapted weights too: they do not fit
    with pytest.raises(IsoldeError, match="Disk full"):
        opened.save_project(path)
    assert path.read_bytes() == before and opened.is_dirty
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler", "p.isolde"]


def test_a_fifo_or_device_as_a_project_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "p.isolde"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        with pytest.raises(ProjectError, match="pipe or device"):
            load_project(path)
