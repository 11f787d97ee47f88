"""Min/max envelopes of long audio at several resolutions, for drawing waveforms fast.

A 5-minute stereo song at 44.1 kHz has 13 million samples per channel; a screen has ~2000 pixels.
Level ``k`` of the pyramid holds, for blocks of ``base_block * factor**k`` samples, the minimum and
maximum over all channels. A query picks the coarsest level that still gives at least one block
per pixel, so drawing costs O(pixels) whatever the zoom.
"""
from __future__ import annotations

import numpy as np


class MinMaxPyramid:
    """Envelopes of ``samples`` (n_channels, n_samples) or (n_samples,) at ``sample_rate`` Hz."""

    def __init__(self, samples: np.ndarray, sample_rate: int, *, base_block: int = 64,
                 factor: int = 4) -> None:
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim == 1:
            samples = samples[None, :]
        self.sample_rate = int(sample_rate)
        self.n_samples = int(samples.shape[1])
        self.base_block, self.factor = base_block, factor
        # Raw samples for close zoom: the channel extremes per sample (what min/max of 1 is).
        self.raw_min = samples.min(axis=0)
        self.raw_max = samples.max(axis=0)
        n_blocks = -(-self.n_samples // base_block)
        pad = n_blocks * base_block - self.n_samples
        lo = np.pad(self.raw_min, (0, pad), mode="edge").reshape(n_blocks, base_block).min(axis=1)
        hi = np.pad(self.raw_max, (0, pad), mode="edge").reshape(n_blocks, base_block).max(axis=1)
        self.levels: list[tuple[np.ndarray, np.ndarray]] = [(lo, hi)]
        while len(lo) > 2 * factor:
            n = -(-len(lo) // factor)
            pad = n * factor - len(lo)
            lo = np.pad(lo, (0, pad), mode="edge").reshape(n, factor).min(axis=1)
            hi = np.pad(hi, (0, pad), mode="edge").reshape(n, factor).max(axis=1)
            self.levels.append((lo, hi))

    @property
    def duration_seconds(self) -> float:
        return self.n_samples / self.sample_rate

    def block_size(self, level: int) -> int:
        return self.base_block * self.factor ** level

    def query(self, t0: float, t1: float, n_pixels: int) -> tuple[np.ndarray, np.ndarray]:
        """Points to draw ``[t0, t1]`` seconds on ``n_pixels`` pixels as one zig-zag line.

        returns : (x seconds, y) float64 arrays; each block gives two points at the same x (its
            min then its max), so a connected line fills the envelope. Close up (fewer than
            ``base_block`` samples per pixel) the samples themselves come back.
        """
        n_pixels = max(int(n_pixels), 1)
        a = max(int(np.floor(t0 * self.sample_rate)), 0)
        b = min(int(np.ceil(t1 * self.sample_rate)) + 1, self.n_samples)
        if b <= a:
            return np.zeros(0), np.zeros(0)
        per_pixel = (b - a) / n_pixels
        if per_pixel < self.base_block:
            x = np.arange(a, b) / self.sample_rate
            if per_pixel <= 1.0 or np.array_equal(self.raw_min[a:b], self.raw_max[a:b]):
                return x, (0.5 * (self.raw_min[a:b] + self.raw_max[a:b])).astype(np.float64)
            return np.repeat(x, 2), np.column_stack([self.raw_min[a:b], self.raw_max[a:b]]).ravel()
        level = 0
        while level + 1 < len(self.levels) and self.block_size(level + 1) <= per_pixel:
            level += 1
        size = self.block_size(level)
        lo, hi = self.levels[level]
        i0, i1 = a // size, min(-(-b // size), len(lo))
        x = (np.arange(i0, i1) + 0.5) * size / self.sample_rate
        return np.repeat(x, 2), np.column_stack([lo[i0:i1], hi[i0:i1]]).ravel().astype(np.float64)
