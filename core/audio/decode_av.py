"""Decoding of compressed songs soundfile cannot read (M4A/AAC, ALAC, Opus) with PyAV (FFmpeg).

:func:`decode` returns float32 samples shaped (n_channels, n_samples) at the stream's own rate
and the length the container declares (0 when it declares none), so the caller can tell a
truncated file from a whole one.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import AudioError

#: Extensions decoded with PyAV rather than soundfile.
EXTENSIONS = (".m4a", ".mp4", ".m4b", ".aac", ".alac", ".opus", ".caf")
#: Samples an AAC/Opus encoder may add or drop around the song (priming, padding): 0.1 s.
LENGTH_TOLERANCE_SECONDS = 0.1


def _declared_frames(stream, rate: int) -> int:
    if stream.duration is not None and stream.time_base is not None:
        return int(round(float(stream.duration * stream.time_base) * rate))
    return 0


def decode(path: Path) -> tuple[np.ndarray, int, int]:
    """(samples (n_channels, n_samples) float32, sample rate, declared samples per channel)."""
    import av

    try:
        with av.open(str(path), mode="r") as container:
            streams = [s for s in container.streams if s.type == "audio"]
            if not streams:
                raise AudioError(f"Not a readable audio file: {path} (no audio stream)")
            stream = streams[0]
            rate = int(stream.rate or stream.codec_context.sample_rate or 0)
            if rate <= 0:
                raise AudioError(f"Not a readable audio file: {path} (no sample rate)")
            declared = _declared_frames(stream, rate)
            blocks = []
            for frame in container.decode(stream):
                block = frame.to_ndarray()
                if not frame.format.is_planar:  # interleaved: (1, n * channels)
                    block = block.reshape(-1, len(frame.layout.channels)).T
                blocks.append(block.astype(np.float32, copy=False) * _scale(block.dtype))
    except AudioError:
        raise
    except (av.error.FFmpegError, ValueError, OSError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0] or type(exc).__name__
        raise AudioError(f"Not a readable audio file: {path} ({reason})") from None
    if not blocks:
        raise AudioError(f"The audio file is empty (zero length): {path}")
    channels = min(b.shape[0] for b in blocks)
    samples = np.concatenate([b[:channels] for b in blocks], axis=1)
    return np.ascontiguousarray(samples, dtype=np.float32), rate, declared


def _scale(dtype) -> float:
    """Factor that maps integer PCM to [-1, 1] (1 for float samples)."""
    if np.issubdtype(dtype, np.integer):
        return 1.0 / float(np.iinfo(dtype).max + 1)
    return 1.0
