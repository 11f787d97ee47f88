"""F0 candidates: the octaves and the second source of a stretch (cycling through them on a
session: tests/test_session.py, in the editor: tests/test_app_doubt.py)."""
from __future__ import annotations

import numpy as np

from core.document.f0_candidates import f0_candidates, mask_f0_and_octaves
from core.document.session import Session
from core.music import pitch

N_FRAMES = 60
MELODY_BIN, SECOND_BIN = 100.0, 130.0  # the second source 6 semitones above: no octave


def bump(centre_bins, height) -> np.ndarray:
    rows = np.arange(pitch.N_F0_BINS, dtype=np.float64)[:, None]
    return (height * np.exp(-0.5 * (rows - np.asarray(centre_bins)[None, :]) ** 2)).astype(
        np.float32)


def _two_sources(n_frames: int = N_FRAMES) -> np.ndarray:
    """A melody, its octave ghost (stronger than the second source) and a weaker second source
    that glides a semitone."""
    melody = np.full(n_frames, MELODY_BIN)
    second = SECOND_BIN + np.linspace(0.0, 5.0, n_frames)
    return np.maximum.reduce([bump(melody, 1.0), bump(melody + 60, 0.6), bump(second, 0.3)])


def cents(a, b):
    return 1200 * np.log2(np.asarray(a) / np.asarray(b))


def with_two_sources(s: Session, t0: float, t1: float):
    """A known estimate (200 Hz) and saliency (that melody, a second source at 300 Hz) in
    ``[t0, t1]``; returns the frame times and a mask of the frames inside."""
    times = s.frame_times()
    inside = (times >= t0) & (times <= t1)
    melody, second = (float(pitch.hz_to_f0_bin(hz)) for hz in (200.0, 300.0))
    s.result.f0_hz = np.where(inside, 200.0, 0.0)
    s.result.analysis.f0_saliency = np.where(
        inside[None, :], np.maximum(bump(np.full(len(times), melody), 1.0),
                                    bump(np.full(len(times), second), 0.3)), 0.0)
    return times, inside


def test_candidates_are_the_octaves_and_the_second_source():
    saliency = _two_sources()
    f0 = np.full(N_FRAMES, float(pitch.f0_bin_to_hz(MELODY_BIN)))
    f0[:5] = 0.0  # unvoiced frames stay unvoiced in the octaves
    found = f0_candidates(saliency, f0, 10, 50)
    assert [c.label for c in found] == ["octave above", "octave below", "second source"]
    assert all(len(c.f0_hz) == 40 for c in found)
    np.testing.assert_array_equal(found[0].f0_hz, f0[10:50] * 2)
    np.testing.assert_array_equal(found[1].f0_hz, f0[10:50] / 2)
    second = found[2].f0_hz
    expected = pitch.f0_bin_to_hz(SECOND_BIN + np.linspace(0.0, 5.0, N_FRAMES)[10:50])
    assert (second > 0).all()
    assert np.abs(cents(second, expected)).max() < 15  # not the stronger octave ghost
    found = f0_candidates(saliency, f0, 0, 10)
    np.testing.assert_array_equal(found[0].f0_hz[:5], 0.0)


def test_the_mask_covers_the_f0_and_its_octaves_only():
    saliency = np.ones((pitch.N_F0_BINS, 3), dtype=np.float32)
    f0 = np.array([float(pitch.f0_bin_to_hz(MELODY_BIN)), 0.0, 0.0])
    masked = mask_f0_and_octaves(saliency, f0)
    zero = np.flatnonzero(masked[:, 0] == 0)
    expected = [b for centre in (MELODY_BIN - 60, MELODY_BIN, MELODY_BIN + 60, MELODY_BIN + 120)
                for b in range(int(centre) - 7, int(centre) + 8) if 0 <= b < pitch.N_F0_BINS]
    assert zero.tolist() == expected
    assert (masked[:, 1:] == 1).all()  # no voice: nothing masked


def test_empty_and_out_of_range_candidates_are_left_out():
    saliency = bump(np.full(N_FRAMES, MELODY_BIN), 1.0)  # the melody alone
    f0 = np.full(N_FRAMES, float(pitch.f0_bin_to_hz(MELODY_BIN)))
    assert [c.label for c in f0_candidates(saliency, f0, 0, N_FRAMES)] == \
        ["octave above", "octave below"]  # no second source
    high = np.full(N_FRAMES, float(pitch.f0_bin_to_hz(230)))  # an octave up leaves the grid
    assert [c.label for c in f0_candidates(saliency, high, 0, N_FRAMES)] == \
        ["octave below", "second source"]
    low = np.full(N_FRAMES, float(pitch.f0_bin_to_hz(20)))
    assert "octave below" not in [c.label for c in f0_candidates(saliency, low, 0, N_FRAMES)]
    silent = np.zeros((pitch.N_F0_BINS, N_FRAMES), dtype=np.float32)
    assert f0_candidates(silent, np.zeros(N_FRAMES), 0, N_FRAMES) == []

