"""The melody's pitch measured again on the separated vocal.

The joint network decides where the voice sings (its voicing) and roughly where its pitch lies.
Its own separated vocal, where the accompaniment that misleads a pitch tracker on the mix is
mostly gone, then tells the pitch more exactly: YIN's candidates weighed as pYIN weighs them
(Mauch and Dixon 2014), the network's saliency added as a prior, decoded as one continuous path
by Isolde's contour decoder (:func:`core.music.pitch.contour_bins`). The trajectory Isolde shows
keeps the network's voicing and takes this pitch.

Raw pitch accuracy (median; mean), the network's contour -> the measured pitch, with
``isolde evaluate``: cross-validated on the 11 produced excerpts (each through the fold model
that never heard it, against their pYIN reference) 0.747 -> 0.812 (0.688 -> 0.761), every
excerpt up; the 133 MIR-1K validation clips (hand-labelled F0) 0.887 -> 0.901, 113 up and 13
down; overall accuracy 0.708 -> 0.726 and 0.807 -> 0.826. librosa's
own pYIN on the separated vocal did as well (produced 0.801, MIR-1K 0.90) at 25 times the cost
(0.15 x real time: a dense Viterbi over its pitch states); the network's F0 net run again on the
separated vocal did worse (0.877 on MIR-1K). Imposing the measured pitch on what the separation
net hears lowered the vocal SDR (-0.23 dB median on the produced excerpts), so the separation
is left as the network made it. (``docs/research-notes.md``, "The melody measured on the
separated vocal".)

The candidates are found in PyTorch, in float64, on the analysis's device, so that on a GPU the
FFTs and the dip search (most of the 2.4-2.9 s this stage takes in an Update DNN of a 4-minute
song on this 2-core CPU) leave the CPU; the contour is decoded on the CPU. On the CPU the pitch
and periodicity are bit for bit those of the NumPy version it replaced (six produced vocals with
noise, a random prior), at the same speed (1.6 s for the six against 1.2-1.7 s for the NumPy
version, one thread, a busy machine).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from ..audio import spectral
from ..progress import Job, Progress
from . import pitch

#: The song is measured in pieces of this many frames (30 s), each with this much context
#: (1 s) either side: a whole song's frames and their transforms would take 0.15 GB a minute.
PIECE_FRAMES = 1875
CONTEXT_FRAMES = 64


#: YIN's frame (samples at 16 kHz, 64 ms: two periods of the lowest F0 of the grid fit) and the
#: longest period it looks for.
YIN_FRAME = 1024
MAX_PERIOD = int(np.ceil(spectral.MODEL_SAMPLE_RATE / pitch.F0_FMIN_HZ))
MIN_PERIOD = int(np.floor(spectral.MODEL_SAMPLE_RATE / pitch.f0_bin_to_hz(pitch.N_F0_BINS - 1)))
#: pYIN's prior over YIN's threshold: Beta(2, 18), mean 0.1 (Mauch and Dixon 2014).
THRESHOLD_PRIOR = (2, 18)
#: Thresholds the prior is spread over, the decay of a dip's share with its order (shortest
#: period first), and the share of a threshold no dip reaches that goes to the deepest dip
#: (pYIN's published settings).
N_THRESHOLDS = 100
DIP_ORDER_DECAY = 2.0
NO_DIP_SHARE = 0.01
#: The prior's mass above the highest threshold used (its 1e-8 tail lies above about 0.69).
PRIOR_TAIL = 1e-8
#: The path's cost per bin of a move beyond :data:`core.music.pitch.FREE_MOVE_BINS` a frame
#: (the network's 0.03: 0.025 less raw pitch accuracy on the produced excerpts; 1.0: far less).
YIN_JUMP_COST = 0.1
#: The network's saliency, times this, is added to the candidates' mass: where the vocal alone
#: leaves the octave open, the network decides. Median raw pitch accuracy, produced / MIR-1K,
#: weights 0 / 0.1 / 0.3 / 1 / 3: 0.781 / 0.806 / 0.815 / 0.795 / 0.782 and 0.893 / 0.885 /
#: 0.885 / 0.883 / 0.887 (means 0.889 / 0.896 / 0.895 / 0.888 / 0.880).
PRIOR_WEIGHT = 0.3


def beta_cdf(x: np.ndarray, a: int, b: int) -> np.ndarray:
    """The Beta(a, b) distribution's CDF for whole ``a`` and ``b``: the chance of at least ``a``
    successes in ``a + b - 1`` trials of probability ``x``. (scipy.stats would do, but its import
    takes a quarter of a second, which would hold up the editor's window the first time.)"""
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    n = int(a) + int(b) - 1
    return sum(math.comb(n, j) * x ** j * (1.0 - x) ** (n - j) for j in range(int(a), n + 1))


def cmndf(frames: torch.Tensor) -> torch.Tensor:
    """YIN's cumulative mean normalised difference of each frame (de Cheveigne and Kawahara 2002).

    frames : float tensor (n_frames, YIN_FRAME) on any device; returns float64 (n_frames,
    MAX_PERIOD + 1) there, lags 0 to MAX_PERIOD, 1 at lag 0; the difference is summed over the
    first ``YIN_FRAME - MAX_PERIOD`` samples.
    """
    frames = frames.to(torch.float64)
    width = YIN_FRAME - MAX_PERIOD
    size = 2 * YIN_FRAME
    head = torch.fft.rfft(frames[:, :width], size)
    whole = torch.fft.rfft(frames, size)
    # cross[t, lag] = sum_j x[j] x[j + lag], j < width
    cross = torch.fft.irfft(head.conj() * whole, size)[:, :MAX_PERIOD + 1]
    energy = torch.nn.functional.pad(torch.cumsum(frames ** 2, dim=1), (1, 0))
    lags = torch.arange(MAX_PERIOD + 1, device=frames.device)
    shifted = energy[:, lags + width] - energy[:, lags]  # sum_j x[j + lag]^2, j < width
    difference = (shifted[:, :1] + shifted - 2.0 * cross).clamp_min(0.0)
    running = torch.cumsum(difference[:, 1:], dim=1) / lags[1:]
    out = torch.ones_like(difference)
    out[:, 1:] = difference[:, 1:] / running.clamp_min(1e-12)
    return out


def _threshold_prior() -> tuple[np.ndarray, np.ndarray]:
    """(bounds (used + 1,), prior mass (used,)) of the thresholds :func:`yin_candidates` uses.

    The thresholds in the prior's last :data:`PRIOR_TAIL` of mass, and the dips only they reach,
    are left out: a 4-minute song's candidates in 2.2 s instead of 6 (cutting at 1e-4 took 1.7 s
    and moved the produced excerpts' raw pitch accuracy by -0.006; 1e-8 by -0.002)."""
    bounds = np.linspace(0.0, 1.0, N_THRESHOLDS + 1)
    prior = np.diff(beta_cdf(bounds, *THRESHOLD_PRIOR))  # (N_THRESHOLDS,)
    used = int(np.searchsorted(np.cumsum(prior), 1.0 - PRIOR_TAIL)) + 1
    return bounds[:used + 1], prior[:used]


def yin_candidates(frames: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """The pitch candidates of each frame, as pYIN weighs them, on Isolde's F0 grid.

    For each of :data:`N_THRESHOLDS` thresholds, with pYIN's prior over them
    (:data:`THRESHOLD_PRIOR`), the dips of the frame's :func:`cmndf` below the threshold share its
    mass, the shortest period most (a Boltzmann distribution over their order,
    :data:`DIP_ORDER_DECAY`); a frame with no dip below a threshold gives that mass, times
    :data:`NO_DIP_SHARE`, to its deepest dip. Each dip's period is refined by a parabola.
    frames : float tensor (n_frames, YIN_FRAME); the work runs on its device (in float64, so a
    GPU finds what the CPU finds). Returns (salience float32 (N_F0_BINS, n_frames): the mass of
    the candidates in each bin, position float32 (N_F0_BINS, n_frames): their mass-weighted
    fractional bin there), NumPy arrays.
    """
    d = cmndf(frames)
    device = d.device
    n_frames = d.shape[0]
    bounds_np, prior_np = _threshold_prior()
    bounds = torch.from_numpy(bounds_np).to(device)
    prior = torch.from_numpy(prior_np).to(device)
    lags = torch.arange(MIN_PERIOD, MAX_PERIOD, device=device)  # interior: both neighbours exist
    here, before, after = d[:, lags], d[:, lags - 1], d[:, lags + 1]
    dip = (here < before) & (here <= after) & (here < float(bounds_np[-1]))
    # the dips of each frame, shortest period first, padded to the most any frame has
    order = torch.cumsum(dip, dim=1) - 1
    most = max(int(dip.sum(dim=1).max()) if n_frames else 0, 1)
    frame_of, lag_of = dip.nonzero(as_tuple=True)
    depth = torch.full((n_frames, most), math.inf, dtype=torch.float64, device=device)
    depth[frame_of, order[frame_of, lag_of]] = here[frame_of, lag_of]
    below = depth[:, :, None] < bounds[None, None, 1:]  # (frames, dips, thresholds)
    rank = (torch.cumsum(below, dim=1) - 1).to(torch.float64)
    count = below.sum(dim=1, keepdim=True).to(torch.float64)
    decay = math.exp(-DIP_ORDER_DECAY)
    share = torch.where(below, (1 - decay) * decay ** rank
                        / (1 - decay ** count.clamp_min(1.0)), 0.0)
    mass = share @ prior  # (frames, dips)
    deepest = torch.argmin(depth, dim=1)
    none_below = (count[:, 0, :] == 0) & torch.isfinite(depth.min(dim=1).values)[:, None]
    mass[torch.arange(n_frames, device=device), deepest] += (
        NO_DIP_SHARE * (none_below * prior).sum(dim=1))
    keep = mass[frame_of, order[frame_of, lag_of]] > 1e-6
    frame_index, lag_index = frame_of[keep], lag_of[keep]
    weight = mass[frame_index, order[frame_index, lag_index]]
    curvature = (before - 2.0 * here + after)[frame_index, lag_index]
    shift = torch.where(curvature > 0, (before - after)[frame_index, lag_index]
                        / (2.0 * curvature.clamp_min(1e-12)), 0.0)
    period = lags[lag_index] + shift.clamp(-1.0, 1.0)
    # a few candidates a frame: binned on the CPU
    frame_index, period, weight = (t.cpu().numpy() for t in (frame_index, period, weight))
    position = pitch.hz_to_f0_bin(spectral.MODEL_SAMPLE_RATE / period)
    inside = (position >= 0) & (position <= pitch.N_F0_BINS - 1)
    frame_index, position, weight = frame_index[inside], position[inside], weight[inside]
    nearest = np.rint(position).astype(np.int64)
    salience = np.zeros((pitch.N_F0_BINS, n_frames))
    weighted = np.zeros((pitch.N_F0_BINS, n_frames))
    np.add.at(salience, (nearest, frame_index), weight)
    np.add.at(weighted, (nearest, frame_index), weight * position)
    return salience.astype(np.float32), (weighted / np.maximum(salience, 1e-12)).astype(np.float32)


def yin_contour(samples: np.ndarray, n_frames: int, prior: np.ndarray | None = None, *,
                device: torch.device | str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """The pitch of a mono 16 kHz signal on ``n_frames`` frames centred on multiples of the
    model's hop: pYIN's candidates (:func:`yin_candidates`), plus ``prior`` (N_F0_BINS,
    n_frames) times :data:`PRIOR_WEIGHT` when given, decoded as one continuous path by
    :func:`core.music.pitch.contour_bins`; on the chosen bin, the candidates' own positions.
    Returns (pitch float64 (n_frames,), Hz, on every frame; periodicity float32 (n_frames, 2):
    the candidates' mass within a bin of that pitch, and all of it: how clearly the signal
    repeats at that period, and at any). The candidates are found on ``device``; the path is
    decoded on the CPU."""
    hop = spectral.HOP
    samples = torch.as_tensor(np.asarray(samples, dtype=np.float64), device=device)
    # frame k centred on sample k * hop; zeros before the start and after the end
    after = max((n_frames - 1) * hop + YIN_FRAME // 2 - len(samples), 0) + YIN_FRAME // 2
    padded = torch.nn.functional.pad(samples, (YIN_FRAME // 2, after))
    frames = padded.unfold(0, YIN_FRAME, hop)[:n_frames]
    salience, position = yin_candidates(frames)
    heard = salience if prior is None else salience + PRIOR_WEIGHT * prior
    chosen = pitch.contour_bins(heard, jump_cost=YIN_JUMP_COST)
    columns = np.arange(n_frames)
    lo = np.clip(chosen - 1, 0, pitch.N_F0_BINS - 1)
    hi = np.clip(chosen + 1, 0, pitch.N_F0_BINS - 1)
    mass = salience[lo, columns] + salience[chosen, columns] + salience[hi, columns]
    exact = (salience[lo, columns] * position[lo, columns]
             + salience[chosen, columns] * position[chosen, columns]
             + salience[hi, columns] * position[hi, columns])
    where = np.where(mass > 0, exact / np.maximum(mass, 1e-12), chosen)
    periodicity = np.stack([mass, salience.sum(axis=0)], axis=1).astype(np.float32)
    return pitch.f0_bin_to_hz(where), periodicity


def vocal_pitch_iter(vocal_between: Callable[[int, int], np.ndarray], saliency: np.ndarray, *,
                     device: torch.device | str = "cpu") -> Job[tuple[np.ndarray, np.ndarray]]:
    """The pitch of the separated vocal on every frame of the song (:func:`yin_contour`).

    vocal_between : ``(start, stop) -> (stop - start,)`` samples of the separated vocal, mono at
        :data:`core.audio.spectral.MODEL_SAMPLE_RATE` (``start`` on the model's hop grid), so
        that a long song's vocal is never held whole
    saliency : the network's F0 saliency (N_F0_BINS, n_frames), the prior
    device : where the candidates are found (the analysis's)
    Yields Progress("measuring the melody", fraction); returns :func:`yin_contour`'s pitch and
    periodicity for the whole song.
    """
    n_frames = saliency.shape[1]
    out = np.zeros(n_frames)
    periodicity = np.zeros((n_frames, 2), dtype=np.float32)
    hop = spectral.HOP
    starts = list(range(0, n_frames, PIECE_FRAMES))
    for k, a in enumerate(starts):
        b = min(a + PIECE_FRAMES, n_frames)
        lo, hi = max(a - CONTEXT_FRAMES, 0), min(b + CONTEXT_FRAMES, n_frames)
        samples = np.nan_to_num(np.asarray(vocal_between(lo * hop, (hi - 1) * hop + 1),
                                           dtype=np.float64))
        found, repeats = yin_contour(samples, hi - lo, saliency[:, lo:hi], device=device)
        out[a:b], periodicity[a:b] = found[a - lo:b - lo], repeats[a - lo:b - lo]
        yield Progress("measuring the melody", (k + 1) / len(starts))
    return out, periodicity


def with_measured_pitch(f0_hz: np.ndarray, measured_hz: np.ndarray | None) -> np.ndarray:
    """``f0_hz`` (n_frames,) with the measured pitch wherever there is one: the sign of each
    frame (0 unvoiced, negative for a MIREX-style pitch guess) is kept."""
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    if measured_hz is None:
        return f0_hz.copy()
    use = (measured_hz > 0) & (f0_hz != 0)
    return np.where(use, np.sign(f0_hz) * measured_hz, f0_hz)
