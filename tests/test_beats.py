"""Tests of core.music.beats: madmom beat/downbeat tracking on click tracks, the librosa fallback,
edge cases.

All audio is synthesised here: accented click tracks of known tempo.
"""
from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

from core.music import beats
from core.music.beats import BeatGrid, track_beats, track_beats_iter, write_beats_csv
from core.progress import Progress

RATE = 44100


def click_track(bpm: float, seconds: float = 14.0, *, rate: int = RATE, first: float = 0.5,
                beats_per_bar: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Short decaying noise bursts at a steady tempo, every ``beats_per_bar``-th one louder.

    Returns (samples float32 (n_samples,), click onset times in seconds).
    """
    rng = np.random.default_rng(seed)
    period = 60.0 / bpm
    times = np.arange(first, seconds - 0.1, period)
    out = np.zeros(int(seconds * rate), dtype=np.float32)
    length = int(0.03 * rate)
    envelope = np.exp(-np.arange(length) / (0.005 * rate)).astype(np.float32)
    for i, t in enumerate(times):
        start = int(round(t * rate))
        burst = rng.standard_normal(length).astype(np.float32) * envelope
        burst *= 0.9 if i % beats_per_bar == 0 else 0.5
        n = min(length, out.size - start)
        out[start:start + n] += burst[:n]
    return out, times


@pytest.fixture
def fresh_backend(monkeypatch):
    """Forget the cached tracker (and any remembered failure) for the duration of a test."""
    monkeypatch.setattr(beats, "_madmom", None)
    monkeypatch.setattr(beats, "_madmom_failed", False)


def _assert_on_clicks(grid: BeatGrid, clicks: np.ndarray, tolerance: float,
                      tempo_tolerance: float = 0.02) -> None:
    """Median beat interval within ``tempo_tolerance`` (relative) of the click period, every beat
    within ``tolerance`` seconds of a click."""
    period = float(np.median(np.diff(clicks)))
    ibi = float(np.median(np.diff(grid.beat_times)))
    assert abs(ibi - period) <= tempo_tolerance * period, (ibi, period)
    # Every detected beat is on a click, and (all but perhaps the first/last) clicks are found.
    errors = np.abs(grid.beat_times[:, None] - clicks[None, :]).min(axis=1)
    assert errors.max() <= tolerance, errors
    assert grid.beat_times.size >= len(clicks) - 2


@pytest.mark.parametrize("bpm", [120.0, 100.0])
def test_madmom_tracks_click_track(bpm):
    samples, clicks = click_track(bpm)
    grid = track_beats(samples, RATE)
    assert grid.source == "madmom"
    assert grid.beat_times.dtype == np.float64 and grid.beat_times.ndim == 1
    assert np.all(np.diff(grid.beat_times) > 0)
    _assert_on_clicks(grid, clicks, 0.030)
    # Downbeats are a subset of the beats, and fall on the accented clicks.
    assert grid.downbeat_times.size > 0
    assert np.isin(grid.downbeat_times, grid.beat_times).all()
    accented = clicks[::4]
    assert np.abs(grid.downbeat_times[:, None] - accented[None, :]).min(axis=1).max() <= 0.030


def test_stereo_other_rate_and_progress():
    mono, clicks = click_track(120.0, 10.0, rate=22050)
    stereo = np.stack([mono, 0.5 * mono])
    job = track_beats_iter(stereo, 22050)
    reports = []
    while True:
        try:
            reports.append(next(job))
        except StopIteration as stop:
            grid = stop.value
            break
    assert all(isinstance(r, Progress) and r.stage == "beats" for r in reports)
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    _assert_on_clicks(grid, clicks, 0.030)


def test_features_match_madmom_reference():
    """The batched spectral features equal madmom's own RNNDownBeatProcessor pre-processing."""
    pipe = beats._get_madmom()
    assert pipe is not None
    from madmom.features.downbeats import RNNDownBeatProcessor

    reference = RNNDownBeatProcessor()[0]
    samples, _ = click_track(97.0, 3.0)
    samples += 0.05 * np.random.default_rng(1).standard_normal(samples.size).astype(np.float32)
    samples = samples[:-123]  # not a whole number of hops
    ours = pipe.features(samples)
    theirs = np.asarray(reference(samples))
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-4)


def test_long_audio_is_decoded_in_windows_without_seams(monkeypatch):
    # Shrink the windows so that 20 s of audio spans several of them.
    monkeypatch.setattr(beats, "WINDOW_SECONDS", 6.0)
    monkeypatch.setattr(beats, "WINDOW_MARGIN_SECONDS", 3.0)
    assert len(beats._windows(2000)) == 4
    samples, clicks = click_track(110.0, 20.0)
    grid = track_beats(samples, RATE)
    _assert_on_clicks(grid, clicks, 0.030)
    assert np.diff(grid.beat_times).min() > 0.8 * 60.0 / 110.0


def test_windows_cover_everything_once():
    for n in (10, 6000, 6201, 25000, 100_001):
        windows = beats._windows(n)
        assert windows[0][2] == 0 and windows[-1][3] == n
        for (start, stop, keep_start, keep_stop), nxt in zip(windows, windows[1:] + [None]):
            assert 0 <= start <= keep_start < keep_stop <= stop <= n
            if nxt is not None:
                assert keep_stop == nxt[2]


def _make_madmom_unimportable(monkeypatch):
    # Hide madmom (and every submodule already imported) so the next import fails as if it were
    # not installed at all.
    for name in list(sys.modules):
        if name == "madmom" or name.startswith("madmom."):
            monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "madmom", None)


def test_fallback_to_librosa_warns_once(monkeypatch, fresh_backend):
    _make_madmom_unimportable(monkeypatch)
    samples, clicks = click_track(120.0, 12.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = track_beats(samples, RATE)
        second = track_beats(samples[: RATE * 8], RATE)
        empty = track_beats(np.zeros(RATE * 2, dtype=np.float32), RATE)
    messages = [str(w.message) for w in caught if "librosa" in str(w.message)]
    assert len(messages) == 1, messages
    assert "madmom" in messages[0]
    for grid in (first, second, empty):
        assert grid.source == "librosa"
        assert grid.downbeat_times.size == 0
    # librosa's onset envelope is coarser (hop 512 at 22.05 kHz, 23 ms frames, so a 0.5 s period
    # comes out as 22 frames = 0.511 s) than madmom's 10 ms.
    _assert_on_clicks(first, clicks, 0.050, tempo_tolerance=0.03)


def test_fallback_when_shim_fails(monkeypatch, fresh_backend):
    def broken():
        raise AttributeError("module 'numpy' has no attribute 'float'")

    monkeypatch.setattr(beats, "_apply_madmom_compat", broken)
    samples, _ = click_track(100.0, 8.0)
    with pytest.warns(RuntimeWarning, match="librosa"):
        grid = track_beats(samples, RATE)
    assert grid.source == "librosa" and grid.beat_times.size > 5


@pytest.mark.parametrize("samples", [
    np.zeros(RATE * 5, dtype=np.float32),                 # silence
    np.zeros((2, RATE * 5), dtype=np.float32),            # stereo silence
    click_track(120.0, 0.6)[0],                           # shorter than a second
    np.zeros(0, dtype=np.float32),                        # nothing at all
])
def test_silence_and_short_input_give_empty_grid(samples):
    grid = track_beats(samples, RATE)
    assert grid.beat_times.shape == (0,) and grid.downbeat_times.shape == (0,)
    assert grid.source == "madmom"


def test_write_beats_csv_round_trip(tmp_path):
    grid = BeatGrid(np.array([0.5, 1.0, 1.4999999, 2.25]), np.array([0.5]), "madmom")
    path = tmp_path / "beats.csv"
    write_beats_csv(path, grid)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines == ["time", "0.500000", "1.000000", "1.500000", "2.250000"]
    back = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=1)
    np.testing.assert_allclose(back, grid.beat_times, atol=1e-6)
    # An empty grid still gets its header; no temporary files are left behind.
    write_beats_csv(path, BeatGrid(np.zeros(0), np.zeros(0), "librosa"))
    assert path.read_text(encoding="utf-8") == "time\n"
    assert [p.name for p in tmp_path.iterdir()] == ["beats.csv"]


def test_seams_neither_double_nor_lose_a_beat():
    # Window A kept a beat at frame 4999, just before its seam at 5000; window B places the same
    # beat at 5001: it must not be kept twice.
    b_frames = np.array([4700, 4850, 5001, 5150, 5300])
    keep = beats._seam_mask(b_frames, 5000, 10000, last_kept=4999)
    assert b_frames[keep].tolist() == [5150, 5300]
    # Window A put it at 5001 (outside its span, so dropped) and B at 4999: B must keep it.
    keep = beats._seam_mask(b_frames - 2, 5000, 10000, last_kept=4849)
    assert (b_frames - 2)[keep].tolist() == [4999, 5148, 5298]
