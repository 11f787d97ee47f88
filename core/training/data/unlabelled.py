"""Songs without stems: the unlabelled mixtures of semi-supervised adversarial training.

``--source unlabelled:FOLDER`` reads every audio file under ``FOLDER`` (any format Isolde opens,
sub-folders too). A track holds the mixture as its ``accompaniment``, silent vocals and no F0:
only :mod:`core.training.adversarial` uses it, never the supervised losses.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...audio.io import READ_EXTENSIONS, load_audio
from ...errors import IsoldeError
from .base import Dataset, Track


class UnlabelledSongs(Dataset):
    """Every audio file under ``root``, sorted by path."""

    #: Tells training to keep these songs out of the supervised crops.
    unlabelled = True

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        if not self.root.is_dir():
            raise IsoldeError(f"Not a folder of songs: {self.root}")
        self.files = sorted(p for p in self.root.rglob("*")
                            if p.is_file() and p.suffix.lower() in READ_EXTENSIONS)
        if not self.files:
            raise IsoldeError(f"No audio file under {self.root} (unlabelled songs expected)")
        self.names = [str(p.relative_to(self.root)) for p in self.files]
        self.groups = self.names

    def load(self, index: int) -> Track:
        audio = load_audio(self.files[index])
        mixture = np.ascontiguousarray(audio.mono(), dtype=np.float32)
        return Track(name=self.names[index], group=self.groups[index],
                     vocals=np.zeros_like(mixture), accompaniment=mixture,
                     sample_rate=audio.sample_rate, f0_times=np.array([0.0]),
                     f0_hz=np.array([0.0]))
