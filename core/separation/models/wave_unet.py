"""Wave-U-Net (Stoller, Ewert and Dixon, ISMIR 2018): separation in the time domain.

A one-dimensional U-Net on the mono 16 kHz waveform. Each of ``wave_depth`` levels convolves
(kernel 15, ``wave_channels`` x level channels, leaky ReLU) and halves the rate by dropping every
other sample; the way up doubles it by linear interpolation, concatenates the level's features
and convolves again (kernel 5); a 1 x 1 convolution over the last features and the mixture gives
the voice. The accompaniment is the mixture minus the voice (the paper's "difference output").
Unlike the paper's context-padded variant, convolutions are zero-padded ("same"), so an input of
any multiple of ``2 ** wave_depth`` samples gives an output of the same length; separation runs
it on overlapping windows and keeps their centres (:func:`core.separation.separate.analyse_waveform_iter`).

It has no F0 input: a separation-only baseline beside the spectrogram networks of
:mod:`.joint`. Its voice becomes a ratio mask on Isolde's spectrogram (estimate magnitude over
mixture magnitude, at most 1), so that every output path (the song's own rate, stereo, sections)
is shared with the other models. Sized for a 2-core CPU: depth 8 and 16 channels a level give
1.5 M parameters; on one thread of that CPU a second of song takes 45 ms to separate and a
training step of 8 one-second crops 1.3 s.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

DOWN_KERNEL = 15
UP_KERNEL = 5


class WaveUNet(nn.Module):
    """Mixture waveform (batch, n_samples) -> voice waveform (batch, n_samples).

    ``n_samples`` must be a multiple of :attr:`sample_multiple`. The input is at the networks'
    reference level (:func:`core.audio.spectral.level_gain`), as for the spectrogram models.
    """

    has_f0 = False
    is_waveform = True

    def __init__(self, config):
        super().__init__()
        self.config = config
        config.check()
        depth, width = config.wave_depth, config.wave_channels

        def channels(level: int) -> int:
            return width * (level + 1)

        self.down = nn.ModuleList(
            nn.Conv1d(1 if i == 0 else channels(i - 1), channels(i), DOWN_KERNEL,
                      padding=DOWN_KERNEL // 2) for i in range(depth))
        self.bottom = nn.Conv1d(channels(depth - 1), channels(depth), DOWN_KERNEL,
                                padding=DOWN_KERNEL // 2)
        self.up = nn.ModuleList(
            nn.Conv1d(channels(i + 1) + channels(i), channels(i), UP_KERNEL,
                      padding=UP_KERNEL // 2) for i in reversed(range(depth)))
        self.output = nn.Conv1d(channels(0) + 1, 1, 1)

    @property
    def sample_multiple(self) -> int:
        return 2 ** self.config.wave_depth

    def forward(self, mixture: torch.Tensor) -> torch.Tensor:
        if mixture.shape[-1] % self.sample_multiple:
            raise ValueError(f"Wave-U-Net input length must be a multiple of "
                             f"{self.sample_multiple} samples, got {mixture.shape[-1]}")
        x = mixture[:, None]
        skips = []
        h = x
        for conv in self.down:
            h = F.leaky_relu(conv(h), 0.2)
            skips.append(h)
            h = h[..., ::2]
        h = F.leaky_relu(self.bottom(h), 0.2)
        for conv, skip in zip(self.up, reversed(skips)):
            h = F.interpolate(h, size=skip.shape[-1], mode="linear", align_corners=False)
            h = F.leaky_relu(conv(torch.cat([h, skip], dim=1)), 0.2)
        return self.output(torch.cat([h, x], dim=1))[:, 0]


__all__ = ["WaveUNet"]
