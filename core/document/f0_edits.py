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


#: How far (semitones) the magnetic pen looks for a ridge on either side of the drawn pitch.
MAGNET_SEMITONES = 1.0
#: Harmonics summed into the ridge picture, and the weight of each next one. Measured on 12
#: MIR-1K clips and the 11 produced excerpts (every voiced frame drawn up to 70 cents off at
#: random; median error 35 cents as drawn): 3 harmonics at 0.8 leave a median of 10.8 cents
#: (77 % of frames within 25 cents, 36 % as drawn), 5 at 0.8 11.0, 8 at 1.0 13.8, the
#: fundamental alone 26.1; snapping to the network's saliency instead, 12.6 (and it holds the
#: user's own corrections after an update). Script: docs/research-notes.md, "Magnetic pen".
RIDGE_HARMONICS = 3
RIDGE_DECAY = 0.8


def harmonic_sum(picture: np.ndarray) -> np.ndarray:
    """Each F0 bin's evidence summed over its first :data:`RIDGE_HARMONICS` harmonics.

    picture : (N_F0_BINS, n) on the F0 grid (e.g. the editor's background, a log spectrogram);
    returns the same shape. A sung note's harmonics all line up at its F0 row, an instrument's
    partial alone does not, so the voice's ridge stands out where a musician draws it.
    """
    out = np.zeros(picture.shape, dtype=np.float32)
    n = picture.shape[0]
    for h in range(1, RIDGE_HARMONICS + 1):
        shift = int(round(12 * pitch.BINS_PER_SEMITONE * math.log2(h)))
        if shift < n:
            out[:n - shift] += RIDGE_DECAY ** (h - 1) * picture[shift:]
    return out


def snap_to_ridge(times: np.ndarray, f0_hz: np.ndarray, picture: np.ndarray, *,
                  semitones: float = MAGNET_SEMITONES) -> np.ndarray:
    """The magnetic pen: each drawn F0 moved onto the strongest ridge within ``semitones``.

    times : (n,) s; f0_hz : (n,) Hz, 0 = no voice (kept); picture : (N_F0_BINS, n_frames) on the
    model's frame grid (the editor's background). A point keeps its drawn pitch where the
    :func:`harmonic_sum` has no peak strictly inside the window (nothing to snap to). Peaks are
    refined between bins (parabola through the peak and its neighbours), so vibrato is followed.
    """
    times = np.asarray(times, dtype=np.float64)
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    out = f0_hz.copy()
    n_frames = picture.shape[1]
    if n_frames == 0:
        return out
    frames = np.clip(np.round(times / spectral.HOP_SECONDS).astype(np.int64), 0, n_frames - 1)
    used, column = np.unique(frames, return_inverse=True)
    ridges = harmonic_sum(picture[:, used])
    radius = int(round(semitones * pitch.BINS_PER_SEMITONE))
    top = ridges.shape[0] - 1
    voiced = np.flatnonzero(f0_hz > 0)
    if voiced.size == 0 or top < 2:
        return out
    # Every point at once (the pen calls this on every mouse move with the whole stroke so far):
    # the bins within reach of each point, the strongest of them, and its two neighbours.
    centre = np.rint(pitch.hz_to_f0_bin(f0_hz[voiced])).astype(np.int64)
    bins = centre[:, None] + np.arange(-radius, radius + 1)[None, :]
    inside = (bins >= 1) & (bins <= top - 1)
    col = column[voiced]
    values = np.where(inside, ridges[np.clip(bins, 1, top - 1), col[:, None]], -np.inf)
    k = values.argmax(axis=1)
    best = bins[np.arange(len(voiced)), k]
    ok = inside[np.arange(len(voiced)), k]
    best_safe = np.clip(best, 1, top - 1)
    left, mid, right = (ridges[best_safe + d, col] for d in (-1, 0, 1))
    ok &= (mid > 0) & (left <= mid) & (right <= mid)  # a ridge, not a slope
    bend = left - 2 * mid + right
    offset = np.where(bend < 0, 0.5 * (left - right) / np.where(bend < 0, bend, 1.0), 0.0)
    out[voiced[ok]] = pitch.f0_bin_to_hz(best[ok] + offset[ok])
    return out


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
