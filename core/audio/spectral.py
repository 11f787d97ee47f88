"""STFT / inverse STFT and the frequency grids the models work on.

The networks see a 16 kHz mono mixture through a 1024-point Hann STFT with a 256-sample hop
(64 ms windows, 16 ms frames). Frame ``i`` is centred at ``i * hop_seconds`` seconds. The Nyquist
bin is dropped so the model's frequency axis has ``N_BINS = 512`` bins (0 .. 7984 Hz), a power of
two that a U-Net can halve six times.
"""
from __future__ import annotations

import math

import numpy as np
import torch

MODEL_SAMPLE_RATE = 16000
N_FFT = 1024
HOP = 256
N_BINS = N_FFT // 2  # Nyquist bin dropped
HOP_SECONDS = HOP / MODEL_SAMPLE_RATE
BIN_HZ = MODEL_SAMPLE_RATE / N_FFT


def _window(n_fft: int, device: torch.device | str | None = None) -> torch.Tensor:
    return torch.hann_window(n_fft, periodic=True, device=device)


def stft(samples: torch.Tensor, *, n_fft: int = N_FFT, hop: int = HOP) -> torch.Tensor:
    """Complex STFT.

    samples : float tensor, shape (..., n_samples)
    returns : complex tensor, shape (..., n_fft // 2 + 1, n_frames) with
        ``n_frames = n_samples // hop + 1`` (frames centred, signal zero-padded at both ends)
    """
    shape = samples.shape
    flat = samples.reshape(-1, shape[-1])
    spec = torch.stft(flat, n_fft=n_fft, hop_length=hop, window=_window(n_fft, samples.device),
                      center=True, pad_mode="constant", return_complex=True)
    return spec.reshape(*shape[:-1], *spec.shape[-2:])


def istft(spec: torch.Tensor, *, length: int, n_fft: int = N_FFT, hop: int = HOP) -> torch.Tensor:
    """Inverse of :func:`stft`.

    spec : complex tensor, shape (..., n_fft // 2 + 1, n_frames)
    length : number of output samples
    returns : float tensor, shape (..., length)
    """
    shape = spec.shape
    flat = spec.reshape(-1, *shape[-2:])
    out = torch.istft(flat, n_fft=n_fft, hop_length=hop, window=_window(n_fft, spec.device),
                      center=True, length=length)
    return out.reshape(*shape[:-2], length)


def model_magnitude(samples: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Magnitude spectrogram on the model's grid.

    samples : mono float at ``MODEL_SAMPLE_RATE``, shape (n_samples,) or (batch, n_samples)
    returns : float32 tensor, shape (..., N_BINS, n_frames), linear magnitude
    """
    x = torch.as_tensor(samples, dtype=torch.float32)
    return stft(x).abs()[..., :N_BINS, :]


def model_magnitude_frames(samples: np.ndarray, first: int, stop: int) -> torch.Tensor:
    """Frames ``first:stop`` of :func:`model_magnitude` of a whole song, computed from those alone.

    samples : mono float at ``MODEL_SAMPLE_RATE``, shape (n_samples,); frames outside the song
        (``first < 0`` or beyond its end) come out as they would with more zero padding
    returns : float32 tensor, shape (N_BINS, stop - first), equal to the columns of the
        whole song's spectrogram (same windows, same zero padding at its ends)
    """
    pad = N_FFT // 2
    a, b = first * HOP - pad, (stop - 1) * HOP + pad
    piece = np.zeros(max(b - a, N_FFT), dtype=np.float32)
    lo, hi = max(a, 0), min(b, len(samples))
    if hi > lo:
        piece[lo - a:hi - a] = samples[lo:hi]
    spec = torch.stft(torch.from_numpy(piece), n_fft=N_FFT, hop_length=HOP, window=_window(N_FFT),
                      center=False, return_complex=True)
    return spec.abs()[:N_BINS, :stop - first]


#: :class:`MagnitudeFrames` computes at most this many frames (65 s) in one STFT.
FRAMES_AT_ONCE = 4096


class MagnitudeFrames:
    """A song's :func:`model_magnitude`, computed on demand from its 16 kHz samples.

    For long songs: a 60-minute song's whole spectrogram is 0.46 GB (and its complex STFT twice
    that); this keeps only the samples (0.23 GB) and computes the frames each use asks for.
    Indexing ``[:, a:b]`` or ``[..., a:b]`` returns a float32 tensor (N_BINS, b - a) equal to the
    whole spectrogram's columns; ``shape`` is the whole spectrogram's.
    """

    def __init__(self, samples: np.ndarray) -> None:
        self.samples = np.asarray(samples, dtype=np.float32)
        self.shape = (N_BINS, n_frames_for(len(self.samples)))

    def __getitem__(self, key) -> torch.Tensor:
        if not (isinstance(key, tuple) and len(key) == 2 and key[0] in (Ellipsis, slice(None))
                and isinstance(key[1], slice) and key[1].step in (None, 1)):
            raise TypeError("MagnitudeFrames supports [:, a:b] only")
        first, stop, _ = key[1].indices(self.shape[1])
        stop = max(stop, first)
        if stop - first <= FRAMES_AT_ONCE:
            return model_magnitude_frames(self.samples, first, stop)
        # In blocks: one STFT of a 10-minute segment (the exemplars ask for those) holds its
        # frames and complex spectrum at once, 0.4 GB besides the 77 MB magnitude returned.
        out = torch.empty((N_BINS, stop - first), dtype=torch.float32)
        for a in range(first, stop, FRAMES_AT_ONCE):
            b = min(a + FRAMES_AT_ONCE, stop)
            out[:, a - first:b - first] = model_magnitude_frames(self.samples, a, b)
        return out


#: Level (dBFS, RMS of the 16 kHz mono signal over its sounding frames) the networks hear every
#: song at: about MIR-1K's own level (median -15.5 dBFS). The shipped model heard the produced
#: dev set's excerpts (stored at -26 dBFS) best between -20 and -14 dBFS (median fast SDR 3.3 dB
#: as stored, 3.9 at +6 dB, 3.5 at +12, 1.1 at -6; docs/research-notes.md), and songs come at
#: any level.
REFERENCE_LEVEL_DBFS = -16.0
#: Frames more than this far (dB) below the song's mean frame power do not count towards its
#: level (silence and fades would otherwise make a sparse song sound quiet).
LEVEL_GATE_DB = 20.0
# Sum over the model's bins of |STFT|^2 of a frame of a signal with unit mean square:
# (N_FFT / 2) bins' share of N_FFT * sum(window^2) = N_FFT * 3 N_FFT / 8, over two sides.
_FRAME_POWER_PER_UNIT_MS = N_FFT * (3 * N_FFT / 8) / 2


def magnitude_level_db(magnitude: np.ndarray | torch.Tensor) -> float:
    """The level (dBFS RMS) of the signal behind a magnitude spectrogram, over sounding frames.

    magnitude : (N_BINS, n_frames) linear magnitude on the model's grid (:func:`model_magnitude`)
    returns : dB relative to a full-scale square wave; -inf for silence
    """
    m = magnitude if isinstance(magnitude, MagnitudeFrames) else torch.as_tensor(magnitude)
    # In blocks of frames: a whole-song float copy of a 60-minute song's magnitude is ~0.5 GB.
    power = torch.cat([(m[..., i:i + 4096].float() ** 2).sum(dim=-2).double()
                       for i in range(0, m.shape[-1], 4096)]) / _FRAME_POWER_PER_UNIT_MS
    power = power[power > 1e-12]
    if power.numel() == 0:
        return -math.inf
    gated = power[power >= power.mean() * 10 ** (-LEVEL_GATE_DB / 10)]
    return 10 * math.log10(float(gated.mean()))


def level_gain(magnitude: np.ndarray | torch.Tensor,
               target_dbfs: float = REFERENCE_LEVEL_DBFS) -> float:
    """The gain that brings a song's magnitude to the networks' reference level (1 for silence).

    Clamped to +-40 dB so that a nearly silent file is not blown up into noise.
    """
    level = magnitude_level_db(magnitude)
    if not math.isfinite(level):
        return 1.0
    return float(10 ** (float(np.clip(target_dbfs - level, -40.0, 40.0)) / 20))


def n_frames_for(n_samples: int, hop: int = HOP) -> int:
    """Number of STFT frames for a signal of ``n_samples`` samples."""
    return n_samples // hop + 1


def frame_times(n_frames: int, *, hop_seconds: float = HOP_SECONDS) -> np.ndarray:
    """Centre time (s) of each analysis frame, shape (n_frames,)."""
    return np.arange(n_frames, dtype=np.float64) * hop_seconds


def bin_frequencies() -> np.ndarray:
    """Centre frequency (Hz) of each of the model's ``N_BINS`` linear bins."""
    return np.arange(N_BINS, dtype=np.float64) * BIN_HZ
