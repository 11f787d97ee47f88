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


#: Contour decoding: cost of a pitch move between frames, per bin (20 cents) beyond
#: :data:`FREE_MOVE_BINS`, in units of log saliency. A one-frame octave spike (60 bins out and
#: back) costs 2 x 55 x 0.03 = 3.3, so it survives only where the octave is e^3.3 = 27 times more
#: salient than the contour it leaves; a held change of note pays once.
JUMP_COST_PER_BIN = 0.03
#: Moves up to this many bins (one semitone) per 16 ms frame are free: vibrato and glides.
FREE_MOVE_BINS = 5
#: Pitch candidates per frame: the highest local maxima of the saliency column.
N_CANDIDATES = 6
#: Voiced runs shorter than this many frames (80 ms) are blips, not notes. Shipped model, median
#: overall accuracy with 1 / 3 / 5 / 8 frames: produced dev set 0.702 / 0.709 / 0.700 / 0.703
#: (mean 0.644 / 0.654 / 0.655 / 0.665), 60 MIR-1K validation clips 0.813 / 0.814 / 0.816 /
#: 0.820; 8 frames cost a produced excerpt's short notes (voicing recall 0.87 -> 0.82).
MIN_VOICED_FRAMES = 5
#: Frames whose candidates :func:`contour_bins` picks at a time.
CANDIDATE_BLOCK_FRAMES = 8192


def column_argmax(values: np.ndarray, block: int = 4096) -> np.ndarray:
    """``values.argmax(axis=0)`` for a (bins, frames) array, in blocks of frames: NumPy's own
    copies a C-ordered array into frame order first, 221 MB for a 60-minute song's saliency."""
    out = np.empty(values.shape[1], dtype=np.int64)
    for a in range(0, values.shape[1], block):
        out[a:a + block] = values[:, a:a + block].argmax(axis=0)
    return out


def _refine(saliency: np.ndarray, peak: np.ndarray, radius: int) -> np.ndarray:
    """Sub-bin position (weighted mean of ``radius`` bins either side of ``peak``), in bins."""
    n_bins, n_frames = saliency.shape
    offsets = np.arange(-radius, radius + 1)
    idx = peak[None, :] + offsets[:, None]
    inside = (idx >= 0) & (idx < n_bins)
    idx = np.clip(idx, 0, n_bins - 1)
    weights = np.where(inside, saliency[idx, np.arange(n_frames)[None, :]], 0.0)
    return (weights * idx).sum(axis=0) / np.maximum(weights.sum(axis=0), 1e-9)


def contour_bins(saliency: np.ndarray, *, jump_cost: float = JUMP_COST_PER_BIN,
                 free_move: int = FREE_MOVE_BINS,
                 n_candidates: int = N_CANDIDATES) -> np.ndarray:
    """The most likely continuous pitch path through a saliency map (Viterbi over candidates).

    Each frame offers its ``n_candidates`` highest local maxima; a path scores the sum of their
    log saliencies minus ``jump_cost`` per bin of every move larger than ``free_move`` bins.
    saliency : (N_F0_BINS, n_frames) in [0, 1]; returns the chosen bin per frame, int (n_frames,).
    """
    saliency = np.asarray(saliency, dtype=np.float32)
    n_bins, n_frames = saliency.shape
    if n_frames == 0:
        return np.zeros(0, dtype=np.int64)
    k = min(n_candidates, n_bins)
    candidates = np.empty((k, n_frames), dtype=np.int64)
    emission = np.empty((k, n_frames), dtype=np.float32)
    # In blocks of frames: whole-song temporaries of a 60-minute song's map (an int64 index per
    # bin and frame, among others) would take over 1 GB.
    for start in range(0, n_frames, CANDIDATE_BLOCK_FRAMES):
        block = saliency[:, start:start + CANDIDATE_BLOCK_FRAMES]
        padded = np.pad(block, ((1, 1), (0, 0)), constant_values=-1.0)
        local_max = (block >= padded[:-2]) & (block >= padded[2:])
        score = np.where(local_max, block, -1.0)
        chosen = np.argpartition(-score, k - 1, axis=0)[:k]  # (k, block frames)
        values = np.log(np.maximum(np.take_along_axis(block, chosen, axis=0), 1e-4))
        values[np.take_along_axis(score, chosen, axis=0) < 0] = -1e9  # not a local maximum
        candidates[:, start:start + block.shape[1]] = chosen
        emission[:, start:start + block.shape[1]] = values
    total = emission[:, 0].astype(np.float64)
    back = np.zeros((n_frames, k), dtype=np.int64)
    for t in range(1, n_frames):
        move = np.abs(candidates[:, t][:, None] - candidates[:, t - 1][None, :])  # (to, from)
        step = total[None, :] - jump_cost * np.maximum(move - free_move, 0)
        back[t] = step.argmax(axis=1)
        total = step[np.arange(k), back[t]] + emission[:, t]
    path = np.empty(n_frames, dtype=np.int64)
    state = int(total.argmax())
    for t in range(n_frames - 1, -1, -1):
        path[t] = candidates[state, t]
        state = back[t, state]
    return path


def _runs(flags: np.ndarray) -> list[tuple[int, int, bool]]:
    """Runs of equal values: (start, stop, value), stop exclusive."""
    edges = np.flatnonzero(np.diff(flags.astype(np.int8))) + 1
    bounds = np.concatenate([[0], edges, [flags.size]])
    return [(int(a), int(b), bool(flags[a])) for a, b in zip(bounds[:-1], bounds[1:])]


def true_runs(flags: np.ndarray, join_gaps_below: float = 0.0) -> list[tuple[int, int]]:
    """Runs of True frames as (start, stop) indices, stop exclusive; runs separated by fewer than
    ``join_gaps_below`` False frames are joined into one."""
    flags = np.asarray(flags, dtype=bool)
    runs = [(a, b) for a, b, value in (_runs(flags) if flags.size else []) if value]
    joined = runs[:1]
    for a, b in runs[1:]:
        if a - joined[-1][1] < join_gaps_below:
            joined[-1] = (joined[-1][0], b)
        else:
            joined.append((a, b))
    return joined


def drop_voicing_blips(voiced: np.ndarray, min_run: int = MIN_VOICED_FRAMES) -> np.ndarray:
    """Voiced runs shorter than ``min_run`` frames become unvoiced.

    voiced : bool (n_frames,); returns a new bool array. (Filling short unvoiced gaps as well was
    measured and dropped: it raised voicing false alarms more than recall.)
    """
    out = np.asarray(voiced, dtype=bool).copy()
    for start, stop in true_runs(out):
        if stop - start < min_run:
            out[start:stop] = False
    return out


def saliency_to_f0(saliency: np.ndarray, *, threshold: float = VOICING_THRESHOLD,
                   radius: int = 2, contour: bool = True) -> np.ndarray:
    """Decode a saliency map into a trajectory.

    saliency : shape (N_F0_BINS, n_frames), values in [0, 1]
    threshold : a frame whose peak saliency is below this is unvoiced (F0 = 0)
    radius : bins either side of the chosen bin used for the sub-bin (weighted-mean) refinement
    contour : True (default): the pitch follows :func:`contour_bins` (no octave spikes or
        one-frame jumps) and voiced blips shorter than 80 ms are dropped
        (:func:`drop_voicing_blips`); False: each frame's own peak, as the paper decodes it.
        Shipped model, median raw pitch accuracy (MIREX convention) peak -> contour: produced
        dev set 0.737 -> 0.764, 60 MIR-1K validation clips 0.895 -> 0.896 (mean 0.884 -> 0.888);
        overall accuracy 0.682 -> 0.700 and 0.809 -> 0.816
    returns : F0 in Hz, shape (n_frames,), 0 where unvoiced
    """
    saliency = np.asarray(saliency, dtype=np.float32)
    n_frames = saliency.shape[1]
    voiced = saliency.max(axis=0) >= threshold
    if contour:
        chosen = contour_bins(saliency)
        voiced = drop_voicing_blips(voiced)
    else:
        chosen = column_argmax(saliency)
    f0 = f0_bin_to_hz(_refine(saliency, chosen, radius)) if n_frames else np.zeros(0)
    return np.where(voiced, f0, 0.0)


def f0_with_pitch_guesses(saliency: np.ndarray, *, threshold: float = VOICING_THRESHOLD,
                          contour: bool = True) -> np.ndarray:
    """The trajectory in the MIREX convention for melody evaluation: voiced frames as
    :func:`saliency_to_f0` decodes them, unvoiced frames as the *negative* of their pitch guess.

    mir_eval reads a negative frequency as "unvoiced, but if voiced, this pitch": the voicing
    metrics are unchanged and the raw pitch/chroma accuracies then measure pitch alone, on every
    frame the reference calls voiced, instead of counting the voicing misses a second time.
    saliency : (N_F0_BINS, n_frames); returns (n_frames,) Hz.
    """
    voiced = saliency_to_f0(saliency, threshold=threshold, contour=contour)
    guess = saliency_to_f0(saliency, threshold=-1.0, contour=contour)
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


def interpolate_f0(times: np.ndarray, f0_hz: np.ndarray, new_times: np.ndarray) -> np.ndarray:
    """Resample a trajectory: linear in log frequency between two voiced points, otherwise the
    nearest point (so voicing edges stay sharp). Returns Hz, 0 = unvoiced, shape like new_times."""
    times = np.asarray(times, dtype=np.float64)
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    new_times = np.asarray(new_times, dtype=np.float64)
    if len(times) == 0:
        return np.zeros_like(new_times)
    right = np.clip(np.searchsorted(times, new_times), 1, max(len(times) - 1, 1))
    left = right - 1
    if len(times) == 1:
        return np.full_like(new_times, f0_hz[0])
    t0, t1 = times[left], times[right]
    f_left, f_right = f0_hz[left], f0_hz[right]
    w = np.clip((new_times - t0) / np.maximum(t1 - t0, 1e-12), 0, 1)
    nearest = np.where(w < 0.5, f_left, f_right)
    both = (f_left > 0) & (f_right > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_interp = np.exp(np.log(np.where(both, f_left, 1)) * (1 - w)
                            + np.log(np.where(both, f_right, 1)) * w)
    out = np.where(both, log_interp, nearest)
    out[(new_times < times[0] - 1e-9) | (new_times > times[-1] + 1e-9)] = 0.0
    return out
