"""Signal building blocks of the synthetic songs: band-limited oscillators, filters, envelopes.

Shared by the voice (:mod:`.voice`) and the instruments (:mod:`.instruments`). The harmonic
series is summed in closed form (no aliasing at any F0), and the filters are designed once per
rate (``lru_cache``).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import signal

#: Rate of the control curves (pitch, amplitude, formants), Hz. Fine enough for 7 Hz vibrato and
#: 15 Hz jitter, and every 10 ms F0 frame falls exactly on a control point.
CTRL_RATE = 1000


def midi_to_hz(midi):
    """MIDI note number(s) -> Hz (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def hz_to_midi(hz):
    """Hz -> MIDI note number(s); hz must be > 0."""
    return 69.0 + 12.0 * np.log2(np.asarray(hz, dtype=np.float64) / 440.0)


def dsf(phase: np.ndarray, log_a, n, w=0.0) -> np.ndarray:
    """Band-limited harmonic series ``sum_{k=1..n} a**k cos(k phase)
    + w a**(n+1) cos((n+1) phase)``.

    Closed form (a discrete summation formula), so the cost is O(len(phase)) whatever n is: that is
    what lets a 90 Hz voice carry its ~240 harmonics up to Nyquist cheaply.
    phase : radians, any shape (wrapped to [0, 2 pi) here, which leaves the sum unchanged);
    log_a : log of the per-harmonic decay a (< 0), scalar or like phase;
    n : number of full harmonics, integer valued, scalar or like phase;
    w : weight in [0, 1] of harmonic n+1 (the taper), scalar or like phase.
    """
    phase = np.mod(phase, 2.0 * np.pi)
    a = np.exp(log_a)
    an1 = np.exp((n + 1) * log_a)
    c1 = np.cos(phase)
    cn1 = np.cos((n + 1) * phase)
    num = a * c1 - a * a - an1 * cn1 + an1 * a * np.cos(n * phase)
    return num / (1.0 - 2.0 * a * c1 + a * a) + w * an1 * cn1


def _harmonic_count(f0, limit, dtype):
    x = np.maximum(limit / f0, 0.0)
    n = np.floor(x)
    return n.astype(dtype), (x - n).astype(dtype)


def harmonics(phase: np.ndarray, f0, log_a, sample_rate: float, odd: bool = False) -> np.ndarray:
    """All harmonics of f0 (Hz) below Nyquist, harmonic k with amplitude a**k = exp(k log_a).

    phase : radians, the running integral of 2 pi f0 (float32 or float64; the result has its dtype);
    f0 : Hz, scalar or like phase. The highest harmonic fades in and out with the fractional part
    of (limit / f0) instead of switching, so a gliding or vibrating F0 never clicks.
    odd=True keeps only the odd harmonics (clarinet, square-like synth).
    """
    dtype = phase.dtype
    f0 = np.asarray(f0, dtype=np.float64)
    limit = 0.5 * sample_rate - 2.0 * f0 - 20.0  # the tapered harmonic stays below Nyquist
    log_a = np.asarray(log_a).astype(dtype)
    n, w = _harmonic_count(f0, limit, dtype)
    out = dsf(phase, log_a, n, w)
    if odd:
        # Remove the even harmonics: the series of 2 f0 with decay a**2, same upper limit.
        n2, w2 = _harmonic_count(2.0 * f0, limit, dtype)
        out = out - dsf(2.0 * phase, 2.0 * log_a, n2, w2)
    return out


def harmonics_rms(log_a: float, f0: float, sample_rate: float) -> float:
    """Approximate RMS of :func:`harmonics` for scalar parameters (sqrt of half the power sum)."""
    n = max((0.5 * sample_rate - 2.0 * f0 - 20.0) / f0, 1.0)
    a2 = math.exp(2.0 * log_a)
    return math.sqrt(0.5 * a2 * (1.0 - a2 ** n) / (1.0 - a2)) + 1e-12


def _clip_band(sample_rate: float, low: float, high: float) -> tuple[float, float]:
    high = min(high, 0.45 * sample_rate)
    low = min(low, 0.5 * high)
    return low, high


@lru_cache(maxsize=64)
def bandpass(sample_rate: int, low: float, high: float, order: int = 2) -> np.ndarray:
    low, high = _clip_band(sample_rate, low, high)
    return signal.butter(order, [low, high], btype="bandpass", fs=sample_rate, output="sos")


@lru_cache(maxsize=64)
def lowpass(sample_rate: float, cutoff: float, order: int = 2) -> np.ndarray:
    cutoff = min(cutoff, 0.45 * sample_rate)
    return signal.butter(order, cutoff, btype="lowpass", fs=sample_rate, output="sos")


@lru_cache(maxsize=64)
def highpass(sample_rate: int, cutoff: float, order: int = 2) -> np.ndarray:
    cutoff = min(cutoff, 0.4 * sample_rate)
    return signal.butter(order, cutoff, btype="highpass", fs=sample_rate, output="sos")


def peaking_sos(freq: float, gain_db: float, q: float, sample_rate: int) -> np.ndarray:
    """One second-order peaking-EQ section (shape (1, 6)): +gain_db at freq (Hz), width freq/q."""
    freq = min(freq, 0.45 * sample_rate)
    amp = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * freq / sample_rate
    alpha = np.sin(w0) / (2.0 * q)
    b = np.array([1.0 + alpha * amp, -2.0 * np.cos(w0), 1.0 - alpha * amp])
    a = np.array([1.0 + alpha / amp, -2.0 * np.cos(w0), 1.0 - alpha / amp])
    return np.concatenate([b / a[0], a / a[0]])[None, :]


def lowpass_noise(rng: np.random.Generator, n: int, rate: float, cutoff: float) -> np.ndarray:
    """Smooth random curve: white noise low-passed at cutoff (Hz), unit standard deviation."""
    x = signal.sosfilt(lowpass(float(rate), float(cutoff)), rng.standard_normal(n + 200))[200:]
    return x / (np.std(x) + 1e-12)


def smoothstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def moving_average(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average along the last axis (width samples), same length."""
    if width <= 1:
        return x
    kernel = np.hanning(width + 2)[1:-1]
    kernel /= kernel.sum()
    pad = width // 2
    xp = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, width - 1 - pad)], mode="edge")
    if x.ndim == 1:
        return np.convolve(xp, kernel, mode="valid")
    return np.stack([np.convolve(row, kernel, mode="valid") for row in xp])


def stft_size(sample_rate: int) -> int:
    """FFT size of about 46 ms: resolves the harmonics of a 90 Hz voice."""
    return 1 << int(round(math.log2(0.0464 * sample_rate)))


def filter_frames(signals: list[np.ndarray], gains, n_fft: int, block: int = 128) -> np.ndarray:
    """Time-varying filtering by STFT: sum_i signal_i filtered by gains(m0, m1)[i], overlap-added.

    signals : equally long float arrays (n,); gains(m0, m1) returns, for frames m0..m1-1, one
    array (m1 - m0, n_fft/2 + 1) of linear gains per signal. Hann windows, hop n_fft/4, frame m
    covering signal[m*hop - n_fft : m*hop]. Frames are processed in blocks so that memory stays
    small for long songs. Returns float64 (n,).
    """
    hop = n_fft // 4
    n = len(signals[0])
    n_frames = (n + n_fft) // hop + 1
    win = _hann(n_fft)
    views = []
    for x in signals:
        xp = np.zeros(n_frames * hop + n_fft)
        xp[n_fft:n_fft + n] = x
        views.append(np.lib.stride_tricks.sliding_window_view(xp, n_fft)[::hop][:n_frames])
    out = np.zeros(n_frames * hop + 2 * n_fft)
    block -= block % 4
    for m0 in range(0, n_frames, block):
        m1 = min(m0 + block, n_frames)
        spec = sum(g * np.fft.rfft(v[m0:m1] * win, axis=1) for v, g in zip(views, gains(m0, m1)))
        frames = np.fft.irfft(spec, n=n_fft, axis=1) * win
        # With hop = n_fft/4, frames r, r+4, r+8 ... tile the signal without overlap: four adds.
        for r in range(4):
            tiles = frames[r::4].reshape(-1)
            start = (m0 + r) * hop
            out[start:start + tiles.size] += tiles
    return out[n_fft:n_fft + n] / 1.5  # sum of squared Hann windows at 75 % overlap


@lru_cache(maxsize=8)
def _hann(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def fade(n: int, attack: int, release: int) -> np.ndarray:
    """Raised-cosine fade-in over attack samples and fade-out over release samples, length n."""
    env = np.ones(n)
    attack, release = min(attack, n), min(release, n)
    if attack > 0:
        env[:attack] = 0.5 - 0.5 * np.cos(np.pi * np.arange(attack) / attack)
    if release > 0:
        env[n - release:] *= 0.5 + 0.5 * np.cos(np.pi * (np.arange(release) + 1) / release)
    return env
