"""The F0 editor's background picture: the mixture's log spectrogram resampled onto the F0 grid.

The editor's vertical axis is the saliency grid of :mod:`core.music.pitch` (256 bins of 20 cents
from C2); showing the spectrogram on the same grid lines up harmonics, drawn notes and the network's
saliency. Below ~300 Hz a 16 Hz-wide STFT bin spans several grid rows, so rows are interpolated.
"""
from __future__ import annotations

import numpy as np
import torch

from ..audio import spectral
from ..music import pitch

#: Dynamic range (dB) mapped onto [0, 1].
RANGE_DB = 70.0


def spectrogram_on_f0_grid(mono16: np.ndarray, *, block_frames: int = 4096) -> np.ndarray:
    """Log-magnitude spectrogram of a 16 kHz signal on the F0 grid.

    mono16 : float32, shape (n_samples,), at ``spectral.MODEL_SAMPLE_RATE``
    returns : float32, shape (N_F0_BINS, n_frames) in [0, 1] (0 = RANGE_DB below the loudest
        bin), frames on the model's hop like the analysis
    """
    magnitude = spectral.model_magnitude(torch.from_numpy(np.ascontiguousarray(mono16)))
    magnitude = magnitude.numpy()
    position = pitch.f0_bin_frequencies() / spectral.BIN_HZ
    lo = np.floor(position).astype(np.int64)
    hi = np.minimum(lo + 1, spectral.N_BINS - 1)
    w = (position - lo).astype(np.float32)[:, None]
    n_frames = magnitude.shape[1]
    out = np.empty((pitch.N_F0_BINS, n_frames), dtype=np.float32)
    peak = float(magnitude.max()) or 1.0
    floor = peak * 10.0 ** (-RANGE_DB / 20.0)
    # In blocks: a 5-minute song is 18750 frames; the temporaries stay small.
    for start in range(0, n_frames, block_frames):
        piece = magnitude[:, start:start + block_frames]
        rows = piece[lo] * (1.0 - w) + piece[hi] * w
        db = 20.0 * np.log10(np.maximum(rows, floor) / peak)
        out[:, start:start + block_frames] = 1.0 + db / RANGE_DB
    return out
