"""MUSDB18-HQ: 150 full songs with vocals/drums/bass/other stems (100 train, 50 test).

Layout read here (the decoded "HQ" release)::

    root/train/<Artist - Title>/{mixture,vocals,drums,bass,other}.wav
    root/test/<Artist - Title>/...

Stems are stereo 44.1 kHz; tracks are mono (the channel average). The accompaniment is
drums + bass + other; if any of those is missing it is mixture - vocals. MUSDB has no pitch
annotation, so the reference F0 is pYIN on the vocal stem (:mod:`core.training.data.pyin_cache`,
cached). The group of a track is its artist (the folder name up to " - "), so that a singer never
appears in both the training and the validation split.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...audio.io import READ_EXTENSIONS, load_audio, resample
from ...errors import AudioError
from .base import Dataset, Track
from .pyin_cache import default_cache_dir, reference_f0

SUBSETS = ("train", "test")
ACCOMPANIMENT_STEMS = ("drums", "bass", "other")


def artist_of(folder_name: str) -> str:
    """'A Classic Education - NightOwl' -> 'A Classic Education'."""
    return folder_name.split(" - ", 1)[0].strip() or folder_name


def find_stem(folder: Path, stem: str) -> Path | None:
    """The file <stem>.<ext> in folder for any readable extension (wav first), or None."""
    for ext in (".wav",) + tuple(e for e in READ_EXTENSIONS if e != ".wav"):
        path = folder / f"{stem}{ext}"
        if path.is_file():
            return path
    return None


def _load_mono(path: Path, sample_rate: int | None) -> tuple[np.ndarray, int]:
    audio = load_audio(path)
    mono = audio.mono()
    if sample_rate is not None and audio.sample_rate != sample_rate:
        return resample(mono, audio.sample_rate, sample_rate), sample_rate
    return mono, audio.sample_rate


class MusdbDataset(Dataset):
    """MUSDB18-HQ tracks of one subset.

    root : the folder holding train/ and test/
    subset : "train" or "test"
    sample_rate : resample every stem to this rate (Hz); None keeps the files' rate (44100)
    cache_dir : where pYIN results are cached; None:
    :func:`~core.training.data.pyin_cache.default_cache_dir`
    """

    def __init__(self, root: str | os.PathLike, subset: str = "train", *,
                 sample_rate: int | None = None, cache_dir: str | os.PathLike | None = None):
        if subset not in SUBSETS:
            raise ValueError(f"subset must be one of {SUBSETS}, got {subset!r}")
        self.root = Path(root)
        self.subset = subset
        self.sample_rate = sample_rate
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        folder = self.root / subset
        if not folder.is_dir():
            raise AudioError(f"Not a MUSDB18-HQ folder (no {subset}/ inside): {self.root}")
        self.folders = sorted((d for d in folder.iterdir()
                               if d.is_dir() and find_stem(d, "vocals") is not None),
                              key=lambda d: d.name)
        self.names = [d.name for d in self.folders]
        self.groups = [artist_of(d.name) for d in self.folders]

    def load(self, index: int) -> Track:
        folder = self.folders[index]
        vocals, rate = _load_mono(find_stem(folder, "vocals"), self.sample_rate)
        stems = [find_stem(folder, s) for s in ACCOMPANIMENT_STEMS]
        if all(p is not None for p in stems):
            parts = [_load_mono(p, rate)[0] for p in stems]
            n = min([len(vocals)] + [len(p) for p in parts])
            accompaniment = np.sum([p[:n] for p in parts], axis=0, dtype=np.float32)
            source = "stems"
        else:
            mixture_path = find_stem(folder, "mixture")
            if mixture_path is None:
                raise AudioError(
                    f"MUSDB track has neither drums/bass/other nor a mixture: {folder}")
            mixture = _load_mono(mixture_path, rate)[0]
            n = min(len(vocals), len(mixture))
            accompaniment = (mixture[:n] - vocals[:n]).astype(np.float32)
            source = "mixture-vocals"
        vocals = np.ascontiguousarray(vocals[:n], dtype=np.float32)
        times, f0 = reference_f0(vocals, rate, self.cache_dir, f"musdb_{self.subset}_{folder.name}")
        return Track(name=folder.name, group=self.groups[index], vocals=vocals,
                     accompaniment=np.ascontiguousarray(accompaniment, dtype=np.float32),
                     sample_rate=rate, f0_times=times, f0_hz=f0,
                     meta={"dataset": "musdb18hq", "subset": self.subset, "path": str(folder),
                           "accompaniment_from": source, "f0_source": "pyin"})
