"""The document without Qt: edits and history, jobs, projects, recovery, export, MIDI."""
from __future__ import annotations

import json

import mido
import numpy as np
import pytest
import soundfile as sf

from core.document.f0_edits import PenStroke, corrected_frames, snap_to_semitones
from core.document.history import History
from core.document.session import AS_BEFORE, Session
from core.document.view_state import ViewState
from core.errors import Cancelled, IsoldeError, ModelError, ProjectError
from core.music import pitch
from core.music.midi import f0_to_notes, write_midi
from core.progress import CancelFlag, run
from core.separation.corrections import Corrections
from tests.test_f0_candidates import cents, with_two_sources


@pytest.fixture(autouse=True)
def default_settings(tmp_path, monkeypatch):
    """Settings from an empty folder (the defaults), never the user's own file."""
    monkeypatch.setenv("ISOLDE_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture
def session(tmp_path, tiny_model_file):
    s = Session(recovery_dir=tmp_path / "recovery")
    s.load_model(tiny_model_file)
    return s


@pytest.fixture
def opened(session, song_file):
    run(session.open_iter(song_file))
    return session


@pytest.fixture
def analysed(opened):
    run(opened.analyse_iter())
    return opened


def test_history_undo_redo_and_strokes():
    h = History("a")
    h.push("b")
    h.push("c1", key="stroke")
    assert h.base_for("stroke") == "b"
    h.push("c2", key="stroke")  # the same gesture replaces its step
    assert h.current == "c2" and h.undo() == "b" and h.undo() == "a" and not h.can_undo
    assert h.redo() == "b"
    h.push("d")  # a new edit drops the redo branch
    assert not h.can_redo and h.current == "d"


def test_events_on_open_and_analysis(session, song_file):
    events = []
    session.events.connect(events.append)
    run(session.open_iter(song_file))
    assert events[:1] == ["audio"] and "analysis" in events
    assert session.background.shape[0] == pitch.N_F0_BINS
    result = run(session.analyse_iter())
    assert events[-2:] == ["separation", "beats"]
    assert result.vocals.shape == session.audio.samples.shape
    assert session.envelope("vocals") is not None and len(session.beats.beat_times) >= 3


def test_draw_erase_clear_undo_redo(opened):
    s = opened
    s.draw([0.5, 0.51, 0.52], [220.0, 221.0, 222.0])
    s.erase(1.0, 1.3)
    times, f0, corrected = s.effective_f0()
    at = lambda t: int(np.argmin(np.abs(times - t)))  # noqa: E731
    assert corrected[at(0.51)] and abs(f0[at(0.51)] - 221.0) < 2.0
    assert corrected[at(1.15)] and f0[at(1.15)] == 0.0
    s.clear(1.0, 1.3)
    assert not s.effective_f0()[2][at(1.15)]
    s.undo()
    assert s.effective_f0()[2][at(1.15)]
    s.redo()
    assert not s.effective_f0()[2][at(1.15)]


def test_a_drag_is_one_undo_step(opened):
    stroke = PenStroke()
    for t, midi in [(0.5, 57.0), (0.7, 59.0), (0.9, 60.0)]:
        stroke.add(t, midi)
        opened.draw(*stroke.points(), stroke="drag-1")
    assert len(opened.corrections) == len(stroke)
    opened.undo()
    assert opened.corrections.is_empty and not opened.can_undo


def test_pen_stroke_fills_fast_moves_and_redraws_backwards():
    stroke = PenStroke()
    stroke.add(1.0, 60.0)
    stroke.add(1.5, 62.0)   # a fast move: filled every 10 ms
    stroke.add(1.2, 70.0)   # back over part of it: later wins
    times, f0 = stroke.points()
    assert np.all(np.diff(times) < 0.0101)
    assert abs(pitch.hz_to_midi(f0[np.argmin(np.abs(times - 1.2))]) - 70.0) < 1e-6
    assert abs(pitch.hz_to_midi(f0[np.argmin(np.abs(times - 1.0))]) - 60.0) < 1e-6


def test_snap_to_semitones(opened):
    opened.set_view_options(snap_to_semitones=True)
    opened.draw([0.5, 0.51], [225.0, 460.0])
    assert np.allclose(opened.corrections.f0_hz, [220.0, 440.0 * 2 ** (1 / 12)], rtol=1e-6)
    assert snap_to_semitones(np.array([0.0]))[0] == 0.0


def test_fast_corrected_frames_match_to_frames():
    rng = np.random.default_rng(3)
    times = np.sort(rng.uniform(0, 10, 400))
    f0 = np.where(rng.uniform(size=400) < 0.2, 0.0, rng.uniform(100, 500, 400))
    corrections = Corrections(times, f0)
    frames = np.arange(0, 10.5, 0.016)
    a_mask, a_f0 = corrections.to_frames(frames)
    b_mask, b_f0 = corrected_frames(corrections, frames)
    assert np.array_equal(a_mask, b_mask)
    assert np.allclose(a_f0, b_f0)


def test_octave_shift_uses_estimate_where_uncorrected(analysed):
    s = analysed
    times = s.frame_times()
    fake = np.where((times > 1.0) & (times < 2.0), 200.0, 0.0)
    s.result.f0_hz = fake  # a known estimate for the test
    s.draw([1.2, 1.21, 1.22], [300.0, 300.0, 300.0])
    s.shift_octaves(1.0, 2.0, -1)
    _, f0, corrected = s.effective_f0()
    inside = (times > 1.05) & (times < 1.95)
    assert corrected[inside].all()
    at = lambda t: int(np.argmin(np.abs(times - t)))  # noqa: E731
    assert abs(f0[at(1.21)] - 150.0) < 1.0     # corrected point moved
    assert abs(f0[at(1.6)] - 100.0) < 1.0      # estimate taken as the starting point
    s.undo()
    assert abs(s.effective_f0()[1][at(1.21)] - 300.0) < 1.0


def test_cycling_shows_each_candidate_then_the_f0_as_before_in_one_undo_step(analysed):
    s = analysed
    assert s.view.magnetic_pen  # candidates are drawn exactly, magnet or not
    _, inside = with_two_sources(s, 1.0, 2.0)
    s.draw([0.3, 0.31, 0.32], [250.0] * 3)  # an earlier edit, to undo back to
    before = s.corrections
    s.set_selection(1.0, 2.0)
    shown = {}
    for expected in ("octave above", "octave below", "second source"):
        assert s.next_candidate() == expected
        _, f0, corrected = s.effective_f0()
        assert corrected[inside].all()
        shown[expected] = f0[inside]
    np.testing.assert_allclose(shown["octave above"], 400.0)
    np.testing.assert_allclose(shown["octave below"], 100.0)
    assert np.abs(cents(shown["second source"][5:-5], 300.0)).max() < 10
    s.undo()  # the whole cycle so far is one step
    assert s.corrections is before
    assert s.next_candidate() == "octave above"  # a new cycle, from the F0 as before
    for expected in ("octave below", "second source", AS_BEFORE, "octave above"):
        assert s.next_candidate() == expected
        if expected == AS_BEFORE:
            assert s.corrections is before  # exactly what was there, no extra undo step
            s.undo()
            assert len(s.corrections) == 0
            s.redo()


def test_another_edit_starts_a_new_cycle_from_what_is_shown(analysed):
    s = analysed
    _, inside = with_two_sources(s, 1.0, 2.0)
    s.set_selection(1.0, 2.0)
    assert s.next_candidate() == "octave above"
    s.draw([2.5, 2.51], [220.0, 220.0])
    assert s.next_candidate() == "octave above"  # of the octave above
    np.testing.assert_allclose(s.effective_f0()[1][inside], 800.0)
    s.undo()
    s.undo()
    s.undo()
    assert len(s.corrections) == 0
    s.set_selection(None)
    assert s.next_candidate() is None


def test_cancel_analysis_keeps_the_session(opened):
    cancel = CancelFlag()
    job = opened.analyse_iter(cancel)
    next(job)
    cancel.set()
    with pytest.raises(Cancelled):
        run(job)
    assert opened.result is None


def test_stale_job_does_not_commit(opened, song_file):
    job = opened.analyse_iter()
    next(job)
    run(opened.open_iter(song_file))  # another song (the same file) replaces the document
    with pytest.raises(Cancelled):
        run(job)
    assert opened.result is None


def test_missing_default_model_is_reported(tmp_path, monkeypatch):
    from core.separation.models import store

    monkeypatch.setattr(store, "DEFAULT_MODEL", tmp_path / "none.safetensors")
    s = Session(recovery_dir=tmp_path)
    with pytest.raises(ModelError, match="missing"):
        s.load_model()
    assert "missing" in s.model_problem


def test_update_without_adapt_or_corrections_is_refused(analysed, monkeypatch):
    import core.document.session_jobs as session_jobs

    monkeypatch.setattr(session_jobs, "adapt_available", lambda: False)
    with pytest.raises(IsoldeError, match="core.separation.adapt"):
        run(analysed.update_dnn_iter())


def test_project_round_trip(analysed, tmp_path):
    s = analysed
    s.draw([0.5, 0.51, 0.52], [220.0, 221.0, 222.0])
    s.set_selection(0.4, 0.9)
    s.set_view_options(snap_to_semitones=True, listen="vocals")
    s.model = _perturbed(s.base_model)  # stands for an adapted model
    path = s.save_project(tmp_path / "song")
    assert path.suffix == ".isolde" and len(list(tmp_path.glob("song.adapted-*.safetensors"))) == 1
    assert not s.is_dirty

    other = Session(recovery_dir=tmp_path / "recovery")
    other.load_model(s.model_path)
    run(other.open_project_iter(path))
    assert np.array_equal(other.corrections.times, s.corrections.times)
    assert np.allclose(other.corrections.f0_hz, s.corrections.f0_hz)
    assert other.view.selection == (0.4, 0.9) and other.view.snap_to_semitones
    assert other.view.listen == "vocals" and other.is_adapted
    a, b = s.model.state_dict(), other.model.state_dict()
    assert all(np.allclose(a[k].cpu().numpy(), b[k].cpu().numpy()) for k in a)
    assert other.audio_sha256 == s.audio_sha256


def _perturbed(model):
    import copy

    import torch

    clone = copy.deepcopy(model)
    with torch.no_grad():
        for p in clone.parameters():
            p.add_(0.01)
    return clone


@pytest.mark.parametrize("document, reason", [
    ("not json", "invalid JSON"),
    (json.dumps([1, 2]), "Not an Isolde project"),
    (json.dumps({"format": "isolde-project", "version": 99}), "version"),
    (json.dumps({"format": "isolde-project", "version": 1, "audio": {"path": "x.wav"}}), "sha256"),
    (json.dumps({"format": "isolde-project", "version": 1,
                 "audio": {"path": "x.wav", "sha256": "0" * 64},
                 "corrections": {"times": [0, "a"], "f0_hz": [1, 2]}}), "finite numbers"),
    (json.dumps({"format": "isolde-project", "version": 1,
                 "audio": {"path": "x.wav", "sha256": "0" * 64},
                 "model": {"adapted": "../../etc/evil.safetensors"}}), "beside the project"),
    (json.dumps({"format": "isolde-project", "version": 1,
                 "audio": {"path": "x.wav", "sha256": "0" * 64}, "view": {"listen": 3}}), "view"),
    ("[" * 100000, "invalid JSON"),
])
def test_hostile_projects_give_one_line_errors(tmp_path, document, reason):
    from core.document.project import load_project

    path = tmp_path / "bad.isolde"
    path.write_text(document)
    with pytest.raises(ProjectError, match=reason) as info:
        load_project(path)
    assert "\n" not in str(info.value)


def test_project_refuses_a_changed_song(analysed, tmp_path, song_file):
    path = analysed.save_project(tmp_path / "p.isolde")
    data, rate = sf.read(song_file)
    sf.write(song_file, data * 0.5, rate)
    other = Session(recovery_dir=tmp_path / "recovery")
    with pytest.raises(ProjectError, match="changed"):
        run(other.open_project_iter(path))


def test_recovery_after_a_crash(opened, tmp_path, song_file):
    opened.draw([0.5, 0.51], [220.0, 220.0])
    assert opened.autosave() is not None
    fresh = Session(recovery_dir=opened.recovery_dir)  # the editor restarted
    run(fresh.open_iter(song_file))
    found = fresh.pending_recovery()
    assert found is not None and len(found.corrections) == 2
    fresh.restore_recovery(found)
    assert np.array_equal(fresh.corrections.times, opened.corrections.times)
    fresh.save_project(tmp_path / "saved.isolde")  # saving removes the recovery copy
    assert fresh.pending_recovery() is None


def test_export_writes_files_that_read_back(analysed, tmp_path):
    analysed.draw([0.5, 0.51, 0.52], [220.0, 220.0, 220.0])
    written = run(analysed.export_iter(tmp_path / "out", audio_format="flac", subtype="pcm16"))
    names = sorted(p.name for p in written)
    assert names == ["song_accompaniment.flac", "song_f0.csv", "song_melody.mid", "song_vocals.flac"]
    vocals, rate = sf.read(tmp_path / "out" / "song_vocals.flac", always_2d=True)
    assert rate == analysed.audio.sample_rate and vocals.shape[::-1] == analysed.audio.samples.shape
    assert sf.info(str(tmp_path / "out" / "song_vocals.flac")).subtype == "PCM_16"
    csv = (tmp_path / "out" / "song_f0.csv").read_text().splitlines()
    assert csv[0] == "time,f0" and len(csv) == len(analysed.frame_times()) + 1
    mido.MidiFile(tmp_path / "out" / "song_melody.mid")


def test_export_never_overwrites_the_input(analysed, song_file, monkeypatch):
    from core.document import session_export

    before = song_file.read_bytes()
    run(analysed.export_iter(song_file.parent, audio_format="wav"))  # beside the song: fine
    assert song_file.read_bytes() == before
    names = session_export.export_names
    monkeypatch.setattr(session_export, "export_names",
                        lambda stem, fmt: {**names(stem, fmt), "vocals": song_file.name})
    with pytest.raises(IsoldeError, match="overwrite the input"):
        run(analysed.export_iter(song_file.parent, audio_format="wav"))
    assert song_file.read_bytes() == before


def test_f0_to_notes_segments_at_gaps_and_jumps(tmp_path):
    times = np.arange(0, 3, 0.01)
    midi = np.where(times < 1.0, 60.0, np.where(times < 2.0, 64.0, 0.0))
    midi = midi + np.where(midi > 0, 0.4 * np.sin(2 * np.pi * 5.5 * times), 0.0)  # vibrato
    midi[(times > 0.5) & (times < 0.6)] = 0.0  # a breath
    notes = f0_to_notes(times, pitch.midi_to_hz(midi))
    assert [n.midi for n in notes] == [60, 60, 64]
    assert abs(notes[1].end - 1.0) < 0.05 and abs(notes[2].end - 2.0) < 0.03
    path = write_midi(tmp_path / "m.mid", notes, tempo_bpm=100)
    messages = [m for m in mido.MidiFile(path) if m.type == "note_on"]
    assert [m.note for m in messages] == [60, 60, 64]
    total = sum(m.time for m in mido.MidiFile(path))
    assert abs(total - notes[-1].end) < 0.01


def test_view_state_validates():
    state = ViewState.from_dict({"selection": [1, 2], "listen": "guide", "unknown": 1})
    assert state.selection == (1.0, 2.0) and state.listen == "guide"
    with pytest.raises(ValueError):
        ViewState.from_dict({"selection": [2, 1]})


def test_child_process_result_error_and_cancel():
    import math
    import time

    from core.child_process import ChildProcess

    assert run(ChildProcess(math.factorial, 5).wait_iter("test")) == 120
    with pytest.raises(IsoldeError, match="ValueError"):
        run(ChildProcess(int, "not a number").wait_iter("test"))
    cancel = CancelFlag()
    child = ChildProcess(time.sleep, 60)
    job = child.wait_iter("test", cancel=cancel)
    next(job)
    cancel.set()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        run(job)
    assert time.monotonic() - started < 5 and not child._process.is_alive()


def test_beats_of_long_songs_come_from_a_child_process(opened, monkeypatch):
    import core.document.session_jobs
    from core.music.beats import track_beats

    monkeypatch.setattr(core.document.session_jobs, "BEATS_IN_CHILD_SECONDS", 1.0)
    run(opened.analyse_iter())
    expected = track_beats(opened.audio.samples, opened.audio.sample_rate)
    assert np.allclose(opened.beats.beat_times, expected.beat_times)


def test_export_a_section_writes_that_part_alone(analysed, tmp_path):
    rate = analysed.audio.sample_rate
    written = run(analysed.export_iter(tmp_path / "out", audio_format="wav", subtype="float32",
                                       section=(0.5, 1.25)))
    names = sorted(p.name for p in written)
    assert names == ["song_0.50-1.25s_accompaniment.wav", "song_0.50-1.25s_f0.csv",
                     "song_0.50-1.25s_melody.mid", "song_0.50-1.25s_vocals.wav"]
    vocals, _ = sf.read(tmp_path / "out" / names[3], always_2d=True)
    accompaniment, _ = sf.read(tmp_path / "out" / names[0], always_2d=True)
    first, last = round(0.5 * rate), round(1.25 * rate)
    np.testing.assert_array_equal(vocals.T, analysed.result.vocals[:, first:last])
    np.testing.assert_allclose(vocals + accompaniment, analysed.audio.samples[:, first:last].T,
                               atol=1e-5)
    rows = (tmp_path / "out" / names[1]).read_text().splitlines()[1:]
    times = [float(r.split(",")[0]) for r in rows]
    assert times and 0.5 <= times[0] < 0.52 and times[-1] < 1.25  # the song's clock
    with pytest.raises(IsoldeError, match="after the end of the song"):
        run(analysed.export_iter(tmp_path / "late", section=(99.0, 100.0)))
    assert not (tmp_path / "late").exists() or not any((tmp_path / "late").iterdir())
