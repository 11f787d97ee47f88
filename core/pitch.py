"""The F0 representation: a log-frequency saliency grid, trajectories, targets and conversions.

The saliency grid has ``N_F0_BINS = 256`` bins of 20 cents (5 per semitone) from C2 (65.4 Hz)
up to about D#6 (1270 Hz), one column per analysis frame. A trajectory is one F0 per frame in Hz,
``0`` meaning unvoiced.
"""
from __future__ import annotations

import re

import numpy as np

F0_FMIN_HZ = 65.40639132514966  # C2
BINS_PER_SEMITONE = 5
CENTS_PER_BIN = 100.0 / BINS_PER_SEMITONE
N_F0_BINS = 256
FMIN_MIDI = 36.0  # C2
#: Saliency below this at a frame's peak means "unvoiced".
VOICING_THRESHOLD = 0.1
#: Width (standard deviation, in bins) of the Gaussian that blurs a trajectory into a target.
TARGET_SIGMA_BINS = 1.0

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def hz_to_midi(hz):
    """Hz -> MIDI note number (float); 0 Hz or less -> 0."""
    hz = np.asarray(hz, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        midi = 69.0 + 12.0 * np.log2(hz / 440.0)
    return np.where(hz > 0, midi, 0.0)


def midi_to_hz(midi):
    """MIDI note number -> Hz; 0 (unvoiced) -> 0."""
    midi = np.asarray(midi, dtype=np.float64)
    return np.where(midi > 0, 440.0 * 2.0 ** ((midi - 69.0) / 12.0), 0.0)


def hz_to_f0_bin(hz):
    """Hz -> fractional saliency bin (bin 0 = C2); NaN where hz <= 0."""
    hz = np.asarray(hz, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = (12.0 * np.log2(hz / F0_FMIN_HZ)) * BINS_PER_SEMITONE
    return np.where(hz > 0, b, np.nan)


def f0_bin_to_hz(b):
    """Fractional saliency bin -> Hz."""
    return F0_FMIN_HZ * 2.0 ** (np.asarray(b, dtype=np.float64) / (12.0 * BINS_PER_SEMITONE))


def f0_bin_frequencies() -> np.ndarray:
    """Centre frequency (Hz) of each saliency bin, shape (N_F0_BINS,)."""
    return f0_bin_to_hz(np.arange(N_F0_BINS))


def midi_to_note_name(midi: float) -> str:
    """Nearest note name, e.g. 69 -> "A4", 60.4 -> "C4"."""
    n = int(round(float(midi)))
    return f"{NOTE_NAMES[n % 12]}{n // 12 - 1}"


_NOTE_RE = re.compile(r"^\s*([A-Ga-g])([#b]?)(-?\d+)\s*$")


def note_name_to_midi(name: str) -> int:
    """"A4" -> 69, "C#3" -> 49, "Eb5" -> 75."""
    match = _NOTE_RE.match(name)
    if not match:
        raise ValueError(f"Not a note name: {name!r}")
    letter, accidental, octave = match.groups()
    n = NOTE_NAMES.index(letter.upper()) + {"#": 1, "b": -1, "": 0}[accidental]
    return n + 12 * (int(octave) + 1)


def saliency_to_f0(saliency: np.ndarray, *, threshold: float = VOICING_THRESHOLD,
                   radius: int = 2) -> np.ndarray:
    """Decode a saliency map into a trajectory.

    saliency : shape (N_F0_BINS, n_frames), values in [0, 1]
    threshold : a frame whose peak saliency is below this is unvoiced (F0 = 0)
    radius : bins either side of the peak used for the sub-bin (weighted-mean) refinement
    returns : F0 in Hz, shape (n_frames,), 0 where unvoiced
    """
    saliency = np.asarray(saliency, dtype=np.float32)
    n_bins, n_frames = saliency.shape
    peak = saliency.argmax(axis=0)
    peak_value = saliency[peak, np.arange(n_frames)]
    offsets = np.arange(-radius, radius + 1)
    idx = np.clip(peak[None, :] + offsets[:, None], 0, n_bins - 1)
    weights = saliency[idx, np.arange(n_frames)[None, :]]
    weights = np.where((peak[None, :] + offsets[:, None] >= 0)
                       & (peak[None, :] + offsets[:, None] < n_bins), weights, 0.0)
    refined = (weights * idx).sum(axis=0) / np.maximum(weights.sum(axis=0), 1e-9)
    f0 = f0_bin_to_hz(refined)
    return np.where(peak_value >= threshold, f0, 0.0)


def f0_with_pitch_guesses(saliency: np.ndarray, *,
                          threshold: float = VOICING_THRESHOLD) -> np.ndarray:
    """The trajectory in the MIREX convention for melody evaluation: voiced frames as
    :func:`saliency_to_f0` decodes them, unvoiced frames as the *negative* of their peak's pitch.

    mir_eval reads a negative frequency as "unvoiced, but if voiced, this pitch": the voicing
    metrics are unchanged and the raw pitch/chroma accuracies then measure pitch alone, on every
    frame the reference calls voiced, instead of counting the voicing misses a second time.
    saliency : (N_F0_BINS, n_frames); returns (n_frames,) Hz.
    """
    voiced = saliency_to_f0(saliency, threshold=threshold)
    guess = saliency_to_f0(saliency, threshold=-1.0)
    return np.where(voiced > 0, voiced, -guess)


def f0_to_saliency(f0_hz: np.ndarray, *, sigma_bins: float = TARGET_SIGMA_BINS) -> np.ndarray:
    """Training target: a Gaussian bump (peak 1) around each voiced frame's F0.

    f0_hz : shape (n_frames,), Hz, 0 (or below C2 / above the grid) = unvoiced
    returns : float32, shape (N_F0_BINS, n_frames); unvoiced columns are all zero
    """
    b = hz_to_f0_bin(f0_hz)
    voiced = np.isfinite(b) & (b > -0.5) & (b < N_F0_BINS - 0.5)
    grid = np.arange(N_F0_BINS, dtype=np.float32)[:, None]
    target = np.exp(-0.5 * ((grid - np.nan_to_num(b)[None, :]) / sigma_bins) ** 2)
    return (target * voiced[None, :]).astype(np.float32)


def harmonic_comb_matrix(bin_hz: np.ndarray, *, n_harmonics: int = 40,
                         width_hz: float | None = None) -> np.ndarray:
    """Matrix that renders a saliency column as the harmonic comb it implies on a linear axis.

    bin_hz : centre frequencies (Hz) of the linear bins, shape (n_linear,)
    returns : float32, shape (n_linear, N_F0_BINS); column j holds Gaussian bumps (peak 1) at
        h * f_j for h = 1..n_harmonics below the top bin. The bumps widen slightly with h so that
        vibrato and slight inharmonicity still land on them.
    """
    bin_hz = np.asarray(bin_hz, dtype=np.float64)
    spacing = float(bin_hz[1] - bin_hz[0]) if len(bin_hz) > 1 else 1.0
    base_width = spacing if width_hz is None else width_hz
    f0 = f0_bin_frequencies()
    comb = np.zeros((len(bin_hz), N_F0_BINS), dtype=np.float64)
    top = bin_hz[-1] + spacing / 2
    for h in range(1, n_harmonics + 1):
        centre = h * f0
        live = centre < top
        if not live.any():
            break
        width = base_width * (1.0 + 0.03 * h)
        comb[:, live] = np.maximum(
            comb[:, live], np.exp(-0.5 * ((bin_hz[:, None] - centre[None, live]) / width) ** 2))
    return comb.astype(np.float32)


def harmonic_mask(f0_hz: np.ndarray, bin_hz: np.ndarray, *, n_harmonics: int = 40) -> np.ndarray:
    """Soft mask of the harmonics of a trajectory on a linear frequency axis.

    f0_hz : shape (n_frames,), Hz, 0 = unvoiced (mask column all zero)
    bin_hz : shape (n_linear,), Hz
    returns : float32 in [0, 1], shape (n_linear, n_frames)
    """
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    bin_hz = np.asarray(bin_hz, dtype=np.float64)
    spacing = float(bin_hz[1] - bin_hz[0])
    out = np.zeros((len(bin_hz), len(f0_hz)), dtype=np.float32)
    voiced = f0_hz > 0
    if not voiced.any():
        return out
    f = f0_hz[voiced]
    # Distance (Hz) from each bin to the nearest harmonic of each frame's F0.
    h = np.clip(np.round(bin_hz[:, None] / f[None, :]), 1, n_harmonics)
    distance = np.abs(bin_hz[:, None] - h * f[None, :])
    width = spacing * (1.0 + 0.03 * h)
    out[:, voiced] = np.exp(-0.5 * (distance / width) ** 2)
    return out
