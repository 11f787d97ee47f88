"""Editing helpers on top of :class:`~core.separation.corrections.Corrections`: pen strokes,
snapping, octave shifts, and a fast per-frame view of the corrections for redrawing while the pen
moves.

Times in seconds, F0 in Hz (0 = no voice), pitches as MIDI note numbers (float).
"""
from __future__ import annotations

import math

import numpy as np

from ..audio import spectral
from ..music import pitch
from ..music.pitch import interpolate_f0
from ..separation.corrections import FILL_STEP_SECONDS, Corrections


def snap_to_semitones(f0_hz: np.ndarray) -> np.ndarray:
    """Round each voiced F0 to the nearest equal-tempered semitone (A4 = 440 Hz); 0 stays 0."""
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    return np.where(f0_hz > 0, pitch.midi_to_hz(np.round(pitch.hz_to_midi(f0_hz))), 0.0)


def corrected_frames(corrections: Corrections, frame_times: np.ndarray,
                     tolerance: float = spectral.HOP_SECONDS / 2) -> tuple[np.ndarray, np.ndarray]:
    """Same answer as :meth:`Corrections.to_frames`, in O(n log n) instead of O(spans x frames).

    Spans are at least ``SPAN_GAP_SECONDS`` (50 ms) apart, more than twice the tolerance, so each
    frame falls in at most one span; a binary search finds it.
    returns : (corrected bool (n_frames,), F0 Hz (n_frames,), 0 where not corrected or no voice)
    """
    frame_times = np.asarray(frame_times, dtype=np.float64)
    corrected = np.zeros(len(frame_times), dtype=bool)
    f0 = np.zeros(len(frame_times), dtype=np.float64)
    spans = corrections.spans()
    if not spans:
        return corrected, f0
    starts = corrections.times[[a for a, _ in spans]]
    ends = corrections.times[[b - 1 for _, b in spans]]
    k = np.searchsorted(starts - tolerance, frame_times, side="right") - 1
    inside = (k >= 0) & (frame_times <= ends[np.maximum(k, 0)] + tolerance)
    if inside.any():
        ki = k[inside]
        clipped = np.clip(frame_times[inside], starts[ki], ends[ki])
        f0[inside] = interpolate_f0(corrections.times, corrections.f0_hz, clipped)
        corrected = inside
    return corrected, f0


def shift_octaves(corrections: Corrections, frame_times: np.ndarray, estimated_f0: np.ndarray,
                  t0: float, t1: float, octaves: int) -> Corrections:
    """Move the melody in ``[t0, t1]`` by whole octaves.

    Corrected points are transposed; uncorrected frames in the range take the estimated F0 (shape
    like ``frame_times``, Hz) shifted by the same amount, so the selection becomes corrected and
    looks exactly as before, one octave away. Unvoiced frames stay unvoiced.
    """
    t0, t1 = sorted((float(t0), float(t1)))
    frame_times = np.asarray(frame_times, dtype=np.float64)
    estimated_f0 = np.asarray(estimated_f0, dtype=np.float64)
    shifted = corrections.transpose(t0, t1, 12.0 * octaves)
    corrected, _ = corrected_frames(corrections, frame_times)
    take = (frame_times >= t0) & (frame_times <= t1) & ~corrected
    if not take.any():
        return shifted
    return Corrections(np.concatenate([shifted.times, frame_times[take]]),
                       np.concatenate([shifted.f0_hz, estimated_f0[take] * 2.0 ** octaves]))


class PenStroke:
    """The points of one pen drag, resampled on a 10 ms grid.

    The mouse reports positions irregularly (and fast moves leave gaps wider than a correction
    span's 50 ms), so consecutive positions are joined by a straight line in (time, MIDI) and
    sampled every ``FILL_STEP_SECONDS``. Going back over a stretch redraws it: later wins.
    """

    def __init__(self, *, step: float = FILL_STEP_SECONDS, t_min: float = 0.0,
                 t_max: float = math.inf) -> None:
        self.step = step
        self.t_min, self.t_max = t_min, t_max
        self._midi: dict[int, float] = {}
        self._last: tuple[float, float] | None = None

    def add(self, time_s: float, midi: float) -> None:
        """Extend the stroke to the pen position (seconds, MIDI note number)."""
        time_s = min(max(float(time_s), self.t_min), self.t_max)
        midi = float(midi)
        if self._last is None:
            self._midi[int(round(time_s / self.step))] = midi
        else:
            ta, ma = self._last
            ia, ib = int(round(ta / self.step)), int(round(time_s / self.step))
            lo, hi = sorted((ia, ib))
            grid = np.arange(lo, hi + 1)
            span = (time_s - ta) if time_s != ta else 1.0
            values = ma + (midi - ma) * np.clip((grid * self.step - ta) / span, 0.0, 1.0)
            if time_s == ta:
                values[:] = midi
            self._midi.update(zip(grid.tolist(), values.tolist()))
        self._last = (time_s, midi)

    def __len__(self) -> int:
        return len(self._midi)

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """(times s, F0 Hz), sorted by time."""
        keys = np.array(sorted(self._midi), dtype=np.int64)
        midi = np.array([self._midi[k] for k in keys.tolist()], dtype=np.float64)
        return keys * self.step, pitch.midi_to_hz(midi)

    def time_span(self) -> tuple[float, float]:
        keys = sorted(self._midi)
        return keys[0] * self.step, keys[-1] * self.step
