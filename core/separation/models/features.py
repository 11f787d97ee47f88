"""Fixed (non-learned) maps between the model's linear frequency axis and the F0 grid."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ...audio import spectral
from ...music import pitch


class LogMagnitude(nn.Module):
    """log(1 + magnitude) with a learned gain and offset per frequency bin.

    (batch, n_freq, n_frames) -> (batch, n_freq, n_frames)
    """

    def __init__(self, n_freq: int):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(n_freq, 1))
        self.bias = nn.Parameter(torch.zeros(n_freq, 1))

    def forward(self, magnitude: torch.Tensor) -> torch.Tensor:
        return torch.log1p(magnitude) * self.scale + self.bias


class HarmonicStack(nn.Module):
    """Harmonic stacking (after Bittner et al. 2017's HCQT) read off the linear spectrogram.

    Channel c holds the log-magnitude interpolated at ``harmonics[c] * f_j`` for each saliency bin
    j, so that a voice's harmonics line up across channels at its F0 bin.

    (batch, N_BINS, n_frames) -> (batch, len(harmonics), N_F0_BINS, n_frames)
    """

    def __init__(self, harmonics: tuple[float, ...] = (0.5, 1, 2, 3, 4, 5)):
        super().__init__()
        f0 = pitch.f0_bin_frequencies()
        position = np.concatenate([h * f0 for h in harmonics]) / spectral.BIN_HZ
        position = np.clip(position, 0, spectral.N_BINS - 1.001)
        lower = np.floor(position).astype(np.int64)
        self.n_harmonics = len(harmonics)
        self.register_buffer("lower", torch.from_numpy(lower), persistent=False)
        self.register_buffer("weight", torch.from_numpy((position - lower).astype(np.float32))[:, None],
                             persistent=False)

    def forward(self, log_magnitude: torch.Tensor) -> torch.Tensor:
        below = log_magnitude[:, self.lower, :]
        above = log_magnitude[:, self.lower + 1, :]
        stacked = below + (above - below) * self.weight
        b, _, t = log_magnitude.shape
        return stacked.reshape(b, self.n_harmonics, pitch.N_F0_BINS, t)


class HarmonicComb(nn.Module):
    """Render an F0 saliency map as a harmonic map on the linear axis (the F0 -> SVS connection).

    (batch, N_F0_BINS, n_frames) -> (batch, N_BINS, n_frames), values in [0, 1]
    """

    def __init__(self):
        super().__init__()
        comb = pitch.harmonic_comb_matrix(spectral.bin_frequencies())
        # The target blur spreads one F0 over ~2.5 bins: normalise so a clean peak gives ~1.
        comb /= np.sqrt(2 * np.pi) * pitch.TARGET_SIGMA_BINS
        self.register_buffer("comb", torch.from_numpy(comb), persistent=False)

    def forward(self, saliency: torch.Tensor) -> torch.Tensor:
        return torch.clamp(torch.matmul(self.comb, saliency), 0.0, 1.0)
