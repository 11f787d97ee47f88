"""The one interface every dataset offers: a list of tracks with separate stems and a vocal F0.

A :class:`Track` is loaded lazily (``Dataset.load(i)``) so that a dataset of many songs costs
nothing until used. Stems are mono float32 at ``sample_rate``; the mixture is
``vocals + accompaniment`` unless a dataset says otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Track:
    """One song (or clip) with ground truth.

    name : unique within its dataset, e.g. "abjones_1_01"
    group : what must stay together in a train/validation split (the singer, the artist)
    vocals, accompaniment : float32, shape (n_samples,), mono, at ``sample_rate`` Hz
    f0_times : float64, shape (n_f0,), seconds, frame centres of the reference F0
    f0_hz : float64, shape (n_f0,), Hz, 0 where no voice
    """

    name: str
    group: str
    vocals: np.ndarray
    accompaniment: np.ndarray
    sample_rate: int
    f0_times: np.ndarray
    f0_hz: np.ndarray
    meta: dict = field(default_factory=dict)

    @property
    def mixture(self) -> np.ndarray:
        return (self.vocals + self.accompaniment).astype(np.float32)

    @property
    def duration_seconds(self) -> float:
        return len(self.vocals) / float(self.sample_rate)


class Dataset:
    """A list of tracks. Subclasses set ``self.names`` / ``self.groups`` and implement ``load``."""

    names: list[str]
    groups: list[str]

    def __len__(self) -> int:
        return len(self.names)

    def load(self, index: int) -> Track:  # pragma: no cover - abstract
        raise NotImplementedError

    def split(self, validation_groups: list[str]) -> tuple["Subset", "Subset"]:
        """Split by whole groups (singers): (train, validation)."""
        held = set(validation_groups)
        train = [i for i, g in enumerate(self.groups) if g not in held]
        valid = [i for i, g in enumerate(self.groups) if g in held]
        return Subset(self, train), Subset(self, valid)


class Subset(Dataset):
    """Some tracks of another dataset, by index."""

    def __init__(self, parent: Dataset, indices: list[int]):
        self.parent = parent
        self.indices = list(indices)
        self.names = [parent.names[i] for i in self.indices]
        self.groups = [parent.groups[i] for i in self.indices]

    def load(self, index: int) -> Track:
        return self.parent.load(self.indices[index])
