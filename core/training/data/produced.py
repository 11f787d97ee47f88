"""Produced excerpts: real mixes with their true vocal stem and a reference F0 (a dev set).

Layout read here, one folder per excerpt::

    root/<excerpt>/mix.flac            the produced mix (any readable format, any rate/channels)
    root/<excerpt>/vocals.flac         the true vocal stem (mix = vocals + accompaniment)
    root/<excerpt>/accompaniment.flac  optional: mix - vocals when absent
    root/<excerpt>/f0_ref.csv          header ``time,f0`` (s, Hz, 0 = unvoiced)

Tracks are mono (the channel average, as Isolde's model hears them) at the files' own rate.
``open_source("produced:PATH")`` makes the whole set a validation split (choosing checkpoints,
reporting); ``open_source("produced-train:PATH")`` makes it training data instead (real produced
stems, see ``TrainConfig.produced_share``). Keep the two apart, or cross-validate. Other files
in a folder (``peer-*.flac``, the estimates of published systems) are ignored.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from ...audio.io import READ_EXTENSIONS, load_audio, resample
from ...errors import IsoldeError
from .base import Dataset, Track

F0_FILE = "f0_ref.csv"


def _find(folder: Path, stem: str) -> Path | None:
    for ext in (".flac", ".wav") + tuple(e for e in READ_EXTENSIONS if e not in (".flac", ".wav")):
        path = folder / f"{stem}{ext}"
        if path.is_file():
            return path
    return None


def read_f0_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A ``time,f0`` CSV -> (times in s, F0 in Hz), both float64, sorted by time."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"time", "f0"} <= set(reader.fieldnames):
                raise IsoldeError(f"{path}: expected a 'time,f0' header")
            rows = [(float(r["time"]), float(r["f0"])) for r in reader]
    except (OSError, ValueError, TypeError) as exc:
        raise IsoldeError(f"Cannot read the reference F0 {path}: {exc}") from exc
    if not rows:
        raise IsoldeError(f"The reference F0 {path} has no rows")
    data = np.array(sorted(rows), dtype=np.float64)
    f0 = np.where(np.isfinite(data[:, 1]) & (data[:, 1] > 0), data[:, 1], 0.0)
    return data[:, 0], f0


class ProducedExcerpts(Dataset):
    """Every excerpt folder under ``root`` that has a mix, a vocal stem and ``f0_ref.csv``."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        if not self.root.is_dir():
            raise IsoldeError(f"Not a folder of produced excerpts: {self.root}")
        self.folders = sorted(
            (d for d in self.root.iterdir()
             if d.is_dir() and _find(d, "mix") and _find(d, "vocals") and (d / F0_FILE).is_file()),
            key=lambda d: d.name)
        if not self.folders:
            raise IsoldeError(f"No excerpt under {self.root} has mix, vocals and {F0_FILE} "
                              "(expected <excerpt>/mix.flac, vocals.flac, f0_ref.csv)")
        self.names = [d.name for d in self.folders]
        self.groups = self.names

    def load(self, index: int) -> Track:
        folder = self.folders[index]
        mix = load_audio(_find(folder, "mix"))
        vocals_audio = load_audio(_find(folder, "vocals"))
        rate = mix.sample_rate
        vocals = vocals_audio.mono()
        if vocals_audio.sample_rate != rate:
            vocals = resample(vocals, vocals_audio.sample_rate, rate)
        mixture = mix.mono()
        n = min(len(mixture), len(vocals))
        vocals = np.ascontiguousarray(vocals[:n], dtype=np.float32)
        # The accompaniment is what the mix holds besides the voice, so that the mixture the
        # model hears is exactly the produced mix (a separately stored accompaniment stem can
        # differ from mix - vocals by a codec's error).
        accompaniment = np.ascontiguousarray(mixture[:n] - vocals, dtype=np.float32)
        times, f0 = read_f0_csv(folder / F0_FILE)
        return Track(name=folder.name, group=folder.name, vocals=vocals,
                     accompaniment=accompaniment, sample_rate=rate, f0_times=times, f0_hz=f0,
                     meta={"dataset": "produced", "path": str(folder), "f0_source": F0_FILE})
