"""A U-Net on spectrogram-like maps (Jansson et al., ISMIR 2017).

Encoder: 5x5 convolutions with stride 2, batch norm, leaky ReLU. Decoder: 5x5 transposed
convolutions with stride 2, batch norm, ReLU, dropout on the deepest layers, each concatenated
with the encoder layer of the same size. The output is a sigmoid map the size of the input.
"""
from __future__ import annotations

import torch
from torch import nn


class UNet(nn.Module):
    """U-Net mapping (batch, in_channels, n_freq, n_frames) -> (batch, out_channels, n_freq, n_frames).

    ``n_freq`` and ``n_frames`` must be multiples of ``2 ** depth``. Output values are in (0, 1).
    """

    def __init__(self, in_channels: int, out_channels: int = 1, *, depth: int = 6,
                 base_channels: int = 16, max_channels: int = 256, dropout: float = 0.3):
        super().__init__()
        widths = [min(base_channels * 2 ** i, max_channels) for i in range(depth)]
        self.depth = depth
        self.encoders = nn.ModuleList()
        previous = in_channels
        for i, width in enumerate(widths):
            layers: list[nn.Module] = [nn.Conv2d(previous, width, 5, stride=2, padding=2)]
            if i > 0:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.LeakyReLU(0.2))
            self.encoders.append(nn.Sequential(*layers))
            previous = width
        self.decoders = nn.ModuleList()
        for i in reversed(range(depth)):
            target = widths[i - 1] if i > 0 else out_channels
            source = widths[i] if i == depth - 1 else widths[i] * 2
            layers = [nn.ConvTranspose2d(source, target, 5, stride=2, padding=2, output_padding=1)]
            if i > 0:
                layers += [nn.BatchNorm2d(target), nn.ReLU()]
                if i >= depth - 3 and dropout > 0:
                    layers.append(nn.Dropout(dropout))
            self.decoders.append(nn.Sequential(*layers))

    @property
    def multiple(self) -> int:
        """Input sizes must be multiples of this."""
        return 2 ** self.depth

    @property
    def feature_channels(self) -> int:
        """Channels of the features :meth:`forward` returns with ``with_features``."""
        return self.decoders[-1][0].in_channels

    def forward(self, x: torch.Tensor, *, with_features: bool = False):
        """The sigmoid map; with ``with_features`` also the input of the last decoder layer,
        (batch, feature_channels, n_freq / 2, n_frames / 2): what a second head can read."""
        skips = []
        for encoder in self.encoders:
            x = encoder(x)
            skips.append(x)
        y = skips.pop()
        for n, decoder in enumerate(self.decoders):
            if n > 0:
                y = torch.cat([y, skips.pop()], dim=1)
            features = y
            y = decoder(y)
        if with_features:
            return torch.sigmoid(y), features
        return torch.sigmoid(y)
