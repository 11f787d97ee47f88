"""``isolde simulate``: the correction simulation on a tiny fake MIR-1K folder."""
import csv

import numpy as np
import pytest
import soundfile as sf

from core.cli import main
from core.music.pitch import interpolate_f0
from core.training.data.mir1k import VALIDATION_SINGERS
from core.training.simulate import reference_corrections

RATE = 16000
PV_HOP = 0.02


def _write_clip(root, name, seconds, seed):
    """One MIR-1K-style clip: stereo 16 kHz FLAC (left accompaniment, right voice) + .pv."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    notes = 57 + rng.integers(0, 12, 8)  # MIDI
    note_seconds = seconds / len(notes)
    midi = notes[np.minimum((t / note_seconds).astype(int), len(notes) - 1)].astype(float)
    sung = (t % note_seconds) < 0.8 * note_seconds
    hz = 440.0 * 2 ** ((midi - 69) / 12)
    phase = 2 * np.pi * np.cumsum(hz) / RATE
    voice = 0.2 * sum(np.sin(h * phase) / h for h in range(1, 10)) * sung
    accompaniment = 0.1 * np.sin(2 * np.pi * 110 * t) + 0.02 * rng.standard_normal(n)
    sf.write(root / "audio" / f"{name}.flac", np.stack([accompaniment, voice], axis=1), RATE,
             subtype="PCM_16")
    frames = PV_HOP * (np.arange(int(seconds / PV_HOP) - 1) + 1)  # frame i centred at 0.02 (i+1)
    idx = np.minimum((frames * RATE).astype(int), n - 1)
    np.savetxt(root / "pitch" / f"{name}.pv", np.where(sung[idx], midi[idx], 0.0), fmt="%.4f")


@pytest.fixture
def fake_mir1k(tmp_path):
    root = tmp_path / "mir1k"
    (root / "audio").mkdir(parents=True)
    (root / "pitch").mkdir()
    singers = [*VALIDATION_SINGERS[:2], "trainee"]
    for s, singer in enumerate(singers):
        for part in (1, 2):
            _write_clip(root, f"{singer}_{s + 1}_0{part}", 2.5, seed=10 * s + part)
    return root


def _simulate(capsys, *argv):
    code = main(["simulate", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _rows(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


def test_simulation_runs_end_to_end(tmp_path, capsys, fake_mir1k, tiny_model_file):
    out = tmp_path / "sim"
    code, stdout, err = _simulate(capsys, "--dataset", f"mir1k:{fake_mir1k}", "--model",
                                  tiny_model_file, "--shares", "0,50,100", "--steps", "2",
                                  "--limit", "2", "--out", out, "--device", "cpu", "--fast-sdr",
                                  "--unadapted")
    assert code == 0, err
    rows = _rows(out / "simulation.csv")
    clips = {r["clip"] for r in rows}
    assert len(clips) == 2 and all(c.split("_")[0] in VALIDATION_SINGERS for c in clips)
    assert len(rows) == 2 * 3 * 2  # clips x shares x modes
    for r in rows:
        assert np.isfinite(float(r["sdr"])) and np.isfinite(float(r["raw_pitch_accuracy"]))
        if float(r["share"]) == 100:
            # Everything corrected: the F0 the user sees is the reference; nothing remains.
            assert float(r["raw_pitch_accuracy"]) > 0.97
            assert r["sdr_rest"] == "nan" and r["raw_pitch_accuracy_rest"] == "nan"
        elif float(r["share"]) == 50:
            assert np.isfinite(float(r["sdr_rest"]))
    summary = _rows(out / "simulation_summary.csv")
    assert [(r["mode"], float(r["share"])) for r in summary] == [
        ("adapted", 0), ("adapted", 50), ("adapted", 100),
        ("imposed", 0), ("imposed", 50), ("imposed", 100)]
    assert all(r["clips"] == "2" for r in summary)
    assert (out / "simulation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "RPA rest" in stdout and "adapted" in stdout


def test_simulation_without_the_guard_adapts_unguarded(tmp_path, capsys, fake_mir1k,
                                                      tiny_model_file, monkeypatch):
    from core.separation import adapt
    from core.training import simulate

    seen = []
    real = adapt.adapt_iter

    def spy(*args, **kwargs):
        model = yield from real(*args, **kwargs)
        seen.append(model.config.f0_guard)
        return model

    monkeypatch.setattr(simulate, "adapt_iter", spy)
    for extra, expected in (((), True), (("--no-guard",), False)):
        seen.clear()
        code, _, err = _simulate(capsys, "--dataset", f"mir1k:{fake_mir1k}", "--model",
                                 tiny_model_file, "--shares", "0,50", "--steps", "1",
                                 "--limit", "1", "--out", tmp_path / f"sim{len(extra)}",
                                 "--device", "cpu", "--fast-sdr", *extra)
        assert code == 0, err
        assert seen == [expected]


def test_simulation_with_bss_eval(tmp_path, capsys, fake_mir1k, tiny_model_file):
    out = tmp_path / "sim"
    code, stdout, err = _simulate(capsys, "--dataset", f"mir1k:{fake_mir1k}", "--model",
                                  tiny_model_file, "--shares", "50", "--steps", "1", "--limit",
                                  "1", "--out", out, "--device", "cpu")
    assert code == 0, err
    (row,) = _rows(out / "simulation.csv")
    assert np.isfinite(float(row["sdr"])) and np.isfinite(float(row["sdr_rest"]))
    assert "SDRv3" in stdout


@pytest.mark.parametrize("argv,pattern", [
    (["--shares", "0,150"], "0 to 100"),
    (["--shares", "half"], "percentages"),
    (["--steps", "-2"], "0 or more"),
])
def test_bad_arguments_are_one_line_errors(tmp_path, capsys, fake_mir1k, tiny_model_file, argv,
                                           pattern):
    code, _, err = _simulate(capsys, "--dataset", f"mir1k:{fake_mir1k}", "--model",
                             tiny_model_file, "--out", tmp_path / "sim", *argv)
    lines = [line for line in err.strip().splitlines() if line.startswith("isolde:")]
    assert code == 2 and len(lines) == 1 and pattern in lines[0], err


def test_missing_model_is_a_one_line_error(tmp_path, capsys, fake_mir1k):
    code, _, err = _simulate(capsys, "--dataset", f"mir1k:{fake_mir1k}", "--model",
                             tmp_path / "none.safetensors", "--out", tmp_path / "sim")
    assert code == 2 and "No such model file" in err


def test_reference_corrections_cover_the_first_share():
    times = 0.02 * (np.arange(200) + 1)
    f0 = np.where(np.arange(200) % 50 < 40, 220.0 * 2 ** (np.arange(200) / 120), 0.0)
    corrections = reference_corrections(times, f0, 1.5)
    assert len(corrections.spans()) == 1
    lo, hi = corrections.span_times()[0]
    assert lo == 0.0 and abs(hi - 1.5) < 0.011
    grid = np.arange(0.0, 1.5, 0.016)
    corrected, got = corrections.to_frames(grid)
    assert corrected.all()
    expected = interpolate_f0(times, f0, grid)
    voiced = (got > 0) & (expected > 0)
    assert voiced.sum() > 0.7 * len(grid)
    assert np.allclose(got[voiced], expected[voiced], rtol=2e-3)
    assert reference_corrections(times, f0, 0.0).is_empty


def test_the_listening_user_deletes_only_where_the_voice_is_quiet():
    from core.training.simulate import listening_reference

    rate = 16000
    t = np.arange(3 * rate) / rate
    # Sung with a pitch 0-1 s, breathy but loud 1-2 s (no reference F0), nearly silent 2-3 s.
    voice = np.where(t < 1, np.sin(2 * np.pi * 220 * t),
                     np.where(t < 2, 0.5 * np.random.default_rng(0).standard_normal(len(t)),
                              1e-3 * np.sin(2 * np.pi * 220 * t)))
    times = np.arange(0.01, 3.0, 0.01)
    f0 = np.where(times < 1, 220.0, 0.0)
    heard = listening_reference(times, f0, voice, rate)
    assert np.array_equal(heard[times < 1], f0[times < 1])           # the pitch is copied
    assert np.isnan(heard[(times > 1.05) & (times < 1.95)]).all()     # audible: left alone
    assert (heard[times > 2.05] == 0).all()                           # quiet: deleted
    corrections = reference_corrections(times, heard, 3.0)
    corrected, got = corrections.to_frames(np.array([0.5, 1.5, 2.5]))
    assert corrected.tolist() == [True, False, True] and got[0] == pytest.approx(220.0)


def test_worst_first_user_takes_the_longest_wrong_stretches_first():
    from core.training.simulate import span_corrections, worst_first_spans

    times = np.arange(200) * 0.016
    wrong = np.zeros(200, bool)
    wrong[10:20] = True        # 0.16 s
    wrong[50:110] = True       # 0.96 s, the longest
    wrong[112:115] = True      # 2 frames after it: the same stretch
    wrong[150:170] = True      # 0.32 s
    spans = worst_first_spans(wrong, times, 1.2)
    assert len(spans) == 2
    (a0, b0), (a1, b1) = spans
    assert a0 == pytest.approx(times[50] - 0.008) and b0 == pytest.approx(times[114] + 0.008)
    assert a1 == pytest.approx(times[150] - 0.008)
    assert sum(b - a for a, b in spans) == pytest.approx(1.2)  # the last stretch cut to the budget
    assert worst_first_spans(np.zeros(5, bool), times[:5], 10) == []
    ref_t = np.arange(0, 3.2, 0.01)
    corrections = span_corrections(ref_t, np.full(len(ref_t), 220.0), spans)
    assert len(corrections.spans()) == 2


def test_simulation_worst_first_reports_the_untouched_part_paired(tmp_path, capsys, fake_mir1k,
                                                                   tiny_model_file):
    out = tmp_path / "sim"
    code, stdout, err = _simulate(capsys, "--dataset", f"mir1k:{fake_mir1k}", "--model",
                                  tiny_model_file, "--shares", "0,50", "--budgets", "0.5,1",
                                  "--steps", "1", "--limit", "2", "--out", out, "--device", "cpu",
                                  "--fast-sdr")
    assert code == 0, err
    rows = _rows(out / "simulation.csv")
    worst = [r for r in rows if r["protocol"] == "worst"]
    assert len(worst) == 2 * 2
    for r in worst:
        assert float(r["corrected_seconds"]) <= float(r["budget_seconds"]) + 1e-6
        if float(r["corrected_seconds"]) > 0:
            gain = float(r["sdr_rest"]) - float(r["sdr_rest_base"])
            assert float(r["sdr_rest_gain"]) == pytest.approx(gain, abs=1e-3)
    # With nothing corrected the result is the base network's: no change on the untouched part.
    (zero,) = {r["sdr_rest_gain"] for r in rows if r["protocol"] == "first" and float(r["share"]) == 0}
    assert float(zero) == 0.0
    summary = _rows(out / "simulation_summary.csv")
    assert [(r["protocol"], r["budget_seconds"]) for r in summary][-2:] == [
        ("worst", "0.5000"), ("worst", "1.0000")]
    assert {"sdr_rest_gain_mean", "clips_rest_worse"} <= set(summary[0])
    assert "gain mean/med" in stdout and "worst" in stdout
    assert (out / "simulation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_listening_user_runs_the_same_protocols(tmp_path, capsys, fake_mir1k,
                                                    tiny_model_file):
    # The fake clips' voice is silent wherever their reference has no F0, except within a
    # window's half of each note's end: the listening user corrects the same spans, deleting a
    # little less, and scores close to the reference user.
    rows = {}
    for name, extra in (("copy", ()), ("listen", ("--listening",))):
        code, _, err = _simulate(capsys, "--dataset", f"mir1k:{fake_mir1k}", "--model",
                                 tiny_model_file, "--shares", "0,100", "--budgets", "0.5",
                                 "--steps", "1", "--limit", "1", "--out", tmp_path / name,
                                 "--device", "cpu", "--fast-sdr", *extra)
        assert code == 0, err
        rows[name] = _rows(tmp_path / name / "simulation.csv")
    for a, b in zip(rows["copy"], rows["listen"], strict=True):
        assert (a["protocol"], a["share"], a["budget_seconds"]) == (
            b["protocol"], b["share"], b["budget_seconds"])
        assert a["corrected_seconds"] == b["corrected_seconds"]
        assert abs(float(a["sdr"]) - float(b["sdr"])) < 1.0
