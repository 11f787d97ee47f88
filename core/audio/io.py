"""Audio in and out: load WAV/FLAC/OGG/MP3/M4A/AAC/ALAC/Opus at any rate and channel count,
save atomically.

Samples are float32 arrays shaped ``(n_channels, n_samples)`` in [-1, 1] at their own sample rate
(Hz). Nothing is resampled on load: separation works at the model's rate internally and writes its
results at the input's rate, channel count and length.
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from ..errors import AudioError, IsoldeError
from . import decode_av
from .fileio import atomic_path, write_error
from .truncation import truncation_of

#: Extensions Isolde reads and writes, with the soundfile format used to write them.
WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".mp3": "MP3"}
READ_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".oga", ".aif", ".aiff", *decode_av.EXTENSIONS)
#: Shortest song Isolde separates (s): below this there is not one analysis window of sound.
MIN_SECONDS = 0.1
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

    def section(self, start_seconds: float = 0.0, end_seconds: float | None = None) -> "Audio":
        """The samples from ``start_seconds`` to ``end_seconds`` (None or past the end: to the
        end), as a new :class:`Audio` sharing no memory with this one.

        Raises :class:`AudioError` for a section that starts at or past the end, or is shorter
        than :data:`MIN_SECONDS`.
        """
        name = self.path if self.path is not None else "the input"
        first, last = section_frames(self.n_samples, self.sample_rate, start_seconds,
                                     end_seconds, name)
        return Audio(np.ascontiguousarray(self.samples[:, first:last]), self.sample_rate, self.path)


def section_frames(n_samples: int, sample_rate: int, start_seconds: float,
                   end_seconds: float | None, name) -> tuple[int, int]:
    """The first and the end sample of a section of a song of ``n_samples``; raises
    :class:`AudioError` for one that starts at or past the end or is shorter than MIN_SECONDS."""
    first = int(round(start_seconds * sample_rate))
    last = n_samples if end_seconds is None else min(n_samples,
                                                     int(round(end_seconds * sample_rate)))
    if first >= n_samples:
        raise AudioError(f"The section starts at {start_seconds:g} s, after the end of the "
                         f"song ({n_samples / sample_rate:.2f} s): {name}")
    if last - first < MIN_SECONDS * sample_rate:
        seconds = max(last - first, 0) / sample_rate
        raise AudioError(f"The section is too short to separate ({seconds:.3f} s; at least "
                         f"{MIN_SECONDS:g} s): {name}")
    return first, last


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

    Rejected: a missing path, a folder, a FIFO or device, a file that is not audio, a file cut
    short (its header promises more than it holds: a copy or download that stopped), fewer than
    :data:`MIN_SECONDS` of audio, NaN or infinite samples.
    """
    path = Path(path)
    check_regular_file(path)
    if path.suffix.lower() in decode_av.EXTENSIONS:
        samples, rate, declared = decode_av.decode(path)
        tolerance = int(decode_av.LENGTH_TOLERANCE_SECONDS * rate)
        if declared and samples.shape[1] < declared - tolerance:
            refuse_truncated(path, f"only {samples.shape[1]} of its {declared} samples could "
                              "be decoded", samples.shape[1], rate)
        why = truncation_of(path)  # Opus in Ogg declares no length; its last page tells
        if why is not None:
            refuse_truncated(path, why, samples.shape[1], rate)
    else:
        samples, rate = _read_soundfile(path)
    if samples.size == 0 or samples.shape[1] == 0:
        raise AudioError(f"The audio file is empty (zero length): {path}")
    if not _all_finite(samples):
        raise AudioError(f"The audio contains NaN or infinite samples: {path}")
    if samples.shape[1] < MIN_SECONDS * rate:
        raise AudioError(f"The audio is too short to separate ({samples.shape[1] / rate:.3f} s; "
                         f"at least {MIN_SECONDS:g} s): {path}")
    return Audio(samples, int(rate), path)


def check_regular_file(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise AudioError(f"No such file: {path}") from None
    except OSError as exc:
        raise AudioError(f"Cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise AudioError(f"Expected an audio file, got a folder: {path}")
    if not stat.S_ISREG(mode):
        raise AudioError(f"Expected an audio file, got a pipe or device: {path}")
    if not os.access(path, os.R_OK):
        raise AudioError(f"Cannot read {path}: permission denied")


def refuse_truncated(path: Path, why: str, decoded: int, rate: int) -> None:
    raise AudioError(f"The audio file is truncated ({why}; {decoded / rate:.1f} s are there): "
                     f"{path}")


#: Frames read at a time: the song goes straight into its final (channels, frames) array.
READ_BLOCK_FRAMES = 1 << 16


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    """Samples (n_channels, n_samples) and rate through libsndfile; refuses truncated files.

    Read block by block into one array, so the peak memory is about the song's own size
    (twice that for MP3, read at once).
    """
    try:
        with _quiet_stderr(), sf.SoundFile(str(path)) as f:
            declared, rate = int(f.frames), int(f.samplerate)
            samples = np.empty((f.channels, max(declared, 0)), dtype=np.float32)
            filled = 0
            # libsndfile's MP3 decoding goes wrong across reads of part of a file: one read.
            block_frames = -1 if path.suffix.lower() == ".mp3" else READ_BLOCK_FRAMES
            while True:
                block = f.read(block_frames, dtype="float32", always_2d=True)
                if len(block) == 0:
                    break
                if filled + len(block) > samples.shape[1]:  # longer than its header said
                    samples = np.concatenate(
                        [samples, np.empty((samples.shape[0], max(len(block), samples.shape[1])),
                                           dtype=np.float32)], axis=1)
                samples[:, filled:filled + len(block)] = block.T
                filled += len(block)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise _unreadable(path, exc) from None
    why = truncation_of(path, declared, filled)
    if why is not None:
        refuse_truncated(path, why, filled, rate)
    if filled < samples.shape[1]:
        samples = np.ascontiguousarray(samples[:, :filled])
    return samples, rate


def _unreadable(path: Path, exc: Exception) -> AudioError:
    """The one-line error for a file libsndfile cannot read."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    reason = reason.replace("Error : ", "").strip()
    if "not exist" in reason.lower() or "lost sync" in reason:  # "could not decode"
        reason = "damaged or truncated"
    return AudioError(f"Not a readable audio file: {path} ({reason})")


#: Formats libsndfile seeks in sample-exactly (its MP3 decoding goes wrong across partial reads).
SEEKABLE_SUFFIXES = (".wav", ".flac", ".aif", ".aiff", ".ogg")


def load_audio_section(path: str | os.PathLike, start_seconds: float = 0.0,
                       end_seconds: float | None = None) -> tuple[Audio, float]:
    """The section ``start_seconds`` to ``end_seconds`` of an audio file, and the whole song's
    length in seconds.

    A seekable format (:data:`SEEKABLE_SUFFIXES`) reads the section alone, so that a minute of a
    60-minute WAV costs a minute of memory; any other is read whole and sliced. The checks and
    one-line errors are those of :func:`load_audio` and :meth:`Audio.section`.
    """
    path = Path(path)
    if path.suffix.lower() not in SEEKABLE_SUFFIXES:
        audio = load_audio(path)
        return audio.section(start_seconds, end_seconds), audio.duration_seconds
    check_regular_file(path)
    try:
        with _quiet_stderr(), sf.SoundFile(str(path)) as f:
            declared, rate = int(f.frames), int(f.samplerate)
            if declared <= 0:
                raise AudioError(f"The audio file is empty (zero length): {path}")
            first, last = section_frames(declared, rate, start_seconds, end_seconds, path)
            f.seek(first)
            block = f.read(last - first, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise _unreadable(path, exc) from None
    decoded = declared if len(block) == last - first else first + len(block)
    why = truncation_of(path, declared, decoded)
    if why is None and decoded < declared:
        why = f"only {decoded} of its {declared} samples could be read"
    if why is not None:
        refuse_truncated(path, why, decoded, rate)
    samples = np.ascontiguousarray(block.T)
    if not _all_finite(samples):
        raise AudioError(f"The audio contains NaN or infinite samples: {path}")
    return Audio(samples, rate, path), declared / rate


def _all_finite(samples: np.ndarray) -> bool:
    """Whether every sample is finite, checked in blocks (no full-size temporary)."""
    step = READ_BLOCK_FRAMES * 16
    return all(np.isfinite(samples[:, i:i + step]).all()
               for i in range(0, samples.shape[1], step))


_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _quiet_stderr():
    """Silence what C decoders print on file descriptor 2 (mpg123's warnings) while reading;
    the reason of a failure reaches the user through the exception instead."""
    with _STDERR_LOCK:
        try:
            saved = os.dup(2)
        except OSError:
            yield
            return
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def check_not_silent(audio: Audio, *, threshold: float = 1e-6) -> None:
    """Raise :class:`AudioError` if every sample is (nearly) zero: there is nothing to separate."""
    if float(np.max(np.abs(audio.samples))) <= threshold:
        name = audio.path if audio.path is not None else "the input"
        raise AudioError(f"The audio is pure silence, nothing to separate: {name}")


def clip_for_subtype(samples: np.ndarray, subtype: str) -> np.ndarray:
    """``samples`` clipped to [-1, 1] for a PCM ``subtype`` (libsndfile would wrap them past
    full scale, not clip), unchanged for float and compressed subtypes."""
    return np.clip(samples, -1.0, 1.0) if subtype.startswith("PCM") else samples


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
    samples = clip_for_subtype(samples, subtype)
    try:
        with atomic_path(path) as tmp:
            try:
                sf.write(str(tmp), samples.T, int(sample_rate), format=fmt, subtype=subtype)
            except sf.LibsndfileError as exc:
                if _nearly_full(tmp.parent):  # libsndfile reports ENOSPC as "System error."
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)) from exc
                raise
    except sf.LibsndfileError as exc:
        raise AudioError(f"Cannot write {path}: {exc}") from exc
    return path


def write_failure(folder: Path, what: str, exc: Exception) -> IsoldeError:
    """The one-line error for a libsndfile write into ``folder`` that failed: "Disk full" (with
    an ENOSPC ``OSError`` as its cause) when the folder has no room left, since libsndfile says
    only "System error." then; otherwise the reason, naming ``what`` was written."""
    if _nearly_full(folder):
        full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        error = write_error(folder / what, full)
        error.__cause__ = full
        return error
    return AudioError(f"Cannot write {what} into {folder}: {exc}")


#: A write that fails with less free space than this (bytes) failed because the disk is full.
NEARLY_FULL_BYTES = 1024 * 1024


def _nearly_full(folder: Path) -> bool:
    import shutil

    try:
        return shutil.disk_usage(folder if str(folder) else ".").free < NEARLY_FULL_BYTES
    except OSError:
        return False
