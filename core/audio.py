"""Audio in and out: load any WAV/FLAC/OGG/MP3 at any rate and channel count, save atomically.

Samples are float32 arrays shaped ``(n_channels, n_samples)`` in [-1, 1] at their own sample rate
(Hz). Nothing is resampled on load: separation works at the model's rate internally and writes its
results at the input's rate, channel count and length.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .errors import AudioError
from .fileio import atomic_path

#: Extensions Isolde reads and writes, with the soundfile format used to write them.
WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".mp3": "MP3"}
READ_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".oga", ".aif", ".aiff")
#: Subtypes offered on export: 16/24-bit PCM or 32-bit float.
SUBTYPES = {"pcm16": "PCM_16", "pcm24": "PCM_24", "float32": "FLOAT"}


@dataclass
class Audio:
    """A piece of audio in memory.

    samples : float32, shape (n_channels, n_samples), values nominally in [-1, 1]
    sample_rate : samples per second (Hz)
    path : where it was read from, if anywhere
    """

    samples: np.ndarray
    sample_rate: int
    path: Path | None = None

    @property
    def n_channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration_seconds(self) -> float:
        return self.n_samples / float(self.sample_rate)

    def mono(self) -> np.ndarray:
        """The channel average, shape (n_samples,)."""
        return to_mono(self.samples)


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average channels: (n_channels, n_samples) -> (n_samples,) float32."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 1:
        return samples
    return samples.mean(axis=0, dtype=np.float32)


def resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Resample along the last axis with soxr (high quality); returns float32."""
    samples = np.asarray(samples, dtype=np.float32)
    if source_rate == target_rate:
        return samples
    import soxr

    if samples.ndim == 1:
        return soxr.resample(samples, source_rate, target_rate, quality="HQ").astype(np.float32)
    out = soxr.resample(samples.T, source_rate, target_rate, quality="HQ")
    return np.ascontiguousarray(out.T, dtype=np.float32)


def load_audio(path: str | os.PathLike) -> Audio:
    """Read an audio file; raise :class:`AudioError` with a one-line reason if it is unusable.

    Rejected: a missing path or a folder, a file that is not audio or is truncated so badly that
    nothing decodes, zero samples, NaN or infinite samples.
    """
    path = Path(path)
    if not path.exists():
        raise AudioError(f"No such file: {path}")
    if path.is_dir():
        raise AudioError(f"Expected an audio file, got a folder: {path}")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AudioError(f"Not a readable audio file: {path} ({reason})") from exc
    if data.size == 0 or data.shape[0] == 0:
        raise AudioError(f"The audio file is empty (zero length): {path}")
    if not np.isfinite(data).all():
        raise AudioError(f"The audio contains NaN or infinite samples: {path}")
    return Audio(np.ascontiguousarray(data.T), int(rate), path)


def check_not_silent(audio: Audio, *, threshold: float = 1e-6) -> None:
    """Raise :class:`AudioError` if every sample is (nearly) zero: there is nothing to separate."""
    if float(np.max(np.abs(audio.samples))) <= threshold:
        name = audio.path if audio.path is not None else "the input"
        raise AudioError(f"The audio is pure silence, nothing to separate: {name}")


def save_audio(path: str | os.PathLike, samples: np.ndarray, sample_rate: int, *,
               subtype: str | None = None) -> Path:
    """Write ``samples`` (n_channels, n_samples) atomically; format from the extension.

    subtype : None for the format's default (WAV: 16-bit PCM... use "FLOAT" for lossless float),
        or a soundfile subtype such as "PCM_16", "PCM_24", "FLOAT".
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in WRITE_FORMATS:
        raise AudioError(f"Cannot write {ext or 'files without extension'}; use one of "
                         + ", ".join(WRITE_FORMATS))
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 1:
        samples = samples[None, :]
    if not np.isfinite(samples).all():
        raise AudioError(f"Refusing to write NaN or infinite samples to {path}")
    fmt = WRITE_FORMATS[ext]
    if subtype is None:
        subtype = {"WAV": "FLOAT", "FLAC": "PCM_24", "OGG": "VORBIS", "MP3": "MPEG_LAYER_III"}[fmt]
    if fmt in ("OGG", "MP3") and subtype in ("PCM_16", "PCM_24", "FLOAT"):
        subtype = "VORBIS" if fmt == "OGG" else "MPEG_LAYER_III"
    if subtype in ("PCM_16", "PCM_24"):
        samples = np.clip(samples, -1.0, 1.0)
    try:
        with atomic_path(path) as tmp:
            sf.write(str(tmp), samples.T, int(sample_rate), format=fmt, subtype=subtype)
    except sf.LibsndfileError as exc:
        raise AudioError(f"Cannot write {path}: {exc}") from exc
    return path
