"""Separating a long file without holding it: ``isolde separate`` on songs over STREAM_SECONDS.

A 60-minute stereo song is 1.3 GB as float32, and separating it in memory held the song, its
stems, the spectrogram and their temporaries at once: 6.3 GB at its peak. Here the file is read
twice, block by block (:data:`BLOCK_FRAMES`), and never held whole:

1. one pass checks it as :func:`core.audio.io.load_audio` does (finite samples, a header that
   matches what is there, long enough) and keeps only its mono downmix: at the file's rate for
   the beat tracker, at 16 kHz (resampled as it streams) for the networks;
2. the networks run chunk by chunk over :class:`core.audio.spectral.MagnitudeFrames`, so the
   whole-song spectrogram never exists either;
3. a second pass reads each block again with its STFT margins and writes its vocals and
   accompaniment straight to the output files (:func:`write_stems`).

What stays in memory is the 16 kHz downmix, the vocal mask and the F0 saliency; the downmix at
the file's rate lives only until the beats are tracked. The results
equal the in-memory path's (``tests/test_stream.py``: the same mask, stems within 1e-5; the
16 kHz downmix comes from a streaming resampler). Peak memory of a 60-minute stereo WAV
(``benchmarks/separate_speed.py``): 1.9 GB, 6.3 GB before. That also needed the F0 contour's
candidates and the beat tracker's features computed in blocks (:mod:`core.music.pitch`,
:mod:`core.music.beats`), which had whole-song temporaries of about 1 GB each.
Inputs that libsndfile cannot seek (MP3, and the formats PyAV decodes) take the in-memory path.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from ..audio import spectral
from ..audio.io import (MIN_SECONDS, check_regular_file, clip_for_subtype, refuse_truncated,
                        write_failure)
from ..audio.truncation import truncation_of
from ..errors import AudioError
from ..progress import Job, Progress, scaled
from .separate import (ModelAnalysis, analyse_any_iter, apply_mask_piece, mask_margins,
                       native_grid)

#: Songs longer than this (s) are separated from the file, block by block.
STREAM_SECONDS = 600.0
#: Formats read block by block (libsndfile, seekable).
STREAM_SUFFIXES = (".wav", ".flac", ".aif", ".aiff", ".ogg")
#: Samples per channel read at a time (about 3 s at 44.1 kHz).
BLOCK_FRAMES = 1 << 17


def should_stream(path: str | os.PathLike) -> bool:
    """True for a seekable file longer than :data:`STREAM_SECONDS` (by its header)."""
    path = Path(path)
    if path.suffix.lower() not in STREAM_SUFFIXES:
        return False
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return False  # a FIFO would block here; the in-memory path refuses it in one line
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError):
        return False  # the in-memory path gives the one-line reason
    return info.samplerate > 0 and info.frames / info.samplerate > STREAM_SECONDS


@dataclass
class FileDownmix:
    """What the first pass keeps of a file: its shape and its mono downmixes."""

    path: Path
    sample_rate: int
    n_channels: int
    n_samples: int
    mono: np.ndarray    # float32 (n_samples,) at sample_rate
    mono16: np.ndarray  # float32, at spectral.MODEL_SAMPLE_RATE


def read_downmix_iter(path: str | os.PathLike) -> Job[FileDownmix]:
    """Read ``path`` block by block, checking it as ``load_audio`` does; returns its downmixes."""
    import soxr

    path = Path(path)
    check_regular_file(path)
    try:
        with sf.SoundFile(str(path)) as f:
            declared, rate, channels = int(f.frames), int(f.samplerate), int(f.channels)
            mono = np.empty(max(declared, 0), dtype=np.float32)
            resampler = soxr.ResampleStream(rate, spectral.MODEL_SAMPLE_RATE, 1,
                                            dtype="float32", quality="HQ")
            pieces, filled = [], 0
            while True:
                block = f.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
                if len(block) == 0:
                    break
                if not np.isfinite(block).all():
                    raise AudioError(f"The audio contains NaN or infinite samples: {path}")
                down = block.mean(axis=1, dtype=np.float32)
                if filled + len(down) > len(mono):  # longer than its header said
                    mono = np.concatenate([mono, np.empty(max(len(down), len(mono)), np.float32)])
                mono[filled:filled + len(down)] = down
                filled += len(down)
                pieces.append(resampler.resample_chunk(down))
                yield Progress("reading", filled / max(declared, filled, 1))
            pieces.append(resampler.resample_chunk(np.zeros(0, np.float32), last=True))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AudioError(f"Not a readable audio file: {path} ({reason})") from None
    why = truncation_of(path, declared, filled)
    if why is not None:
        refuse_truncated(path, why, filled, rate)
    if filled == 0:
        raise AudioError(f"The audio file is empty (zero length): {path}")
    if filled < MIN_SECONDS * rate:
        raise AudioError(f"The audio is too short to separate ({filled / rate:.3f} s; "
                         f"at least {MIN_SECONDS:g} s): {path}")
    mono16 = np.concatenate(pieces).astype(np.float32, copy=False)
    return FileDownmix(path, rate, channels, filled, mono[:filled], mono16)


def analyse_file_iter(downmix: FileDownmix, model, *, device="cpu",
                      with_beats: bool = True) -> Job[tuple[ModelAnalysis, object]]:
    """The beats, then the networks chunk by chunk; returns (analysis, beats).

    The beats come first so that the downmix at the file's rate, which only they need, is
    released (``downmix.mono`` becomes empty) before the mask and the saliency are allocated.
    """
    beats = None
    if with_beats:
        from ..music.beats import track_beats_iter
        beats = yield from scaled(track_beats_iter(downmix.mono, downmix.sample_rate), 0.0, 0.3)
    downmix.mono = np.zeros(0, dtype=np.float32)
    magnitude = spectral.MagnitudeFrames(downmix.mono16)
    analysis = yield from scaled(analyse_any_iter(model, downmix.mono16, magnitude,
                                                  device=device), 0.3, 1.0)
    return analysis, beats


def write_stems_iter(downmix: FileDownmix, vocal_mask: np.ndarray, outdir: Path, *,
                     block_frames: int = 2048, subtype: str = "FLOAT") -> Job[list[Path]]:
    """Write ``outdir/vocals.wav`` and ``outdir/accompaniment.wav`` (``subtype``: a soundfile WAV
    subtype, 32-bit float by default; the file's rate and channels) block by block: each block
    of the file is read again with its STFT margins."""
    _n_fft, hop = native_grid(downmix.sample_rate)
    block = block_frames * hop
    n = downmix.n_samples
    targets = [outdir / "vocals.wav", outdir / "accompaniment.wav"]
    try:
        with sf.SoundFile(str(downmix.path)) as source, \
                sf.SoundFile(str(targets[0]), "w", downmix.sample_rate, downmix.n_channels,
                             subtype=subtype, format="WAV") as vocals_out, \
                sf.SoundFile(str(targets[1]), "w", downmix.sample_rate, downmix.n_channels,
                             subtype=subtype, format="WAV") as accompaniment_out:
            starts = list(range(0, n, block))
            for k, start in enumerate(starts):
                stop = min(start + block, n)
                lo, hi = mask_margins(downmix.sample_rate, start, stop, n)
                source.seek(lo)
                piece = source.read(hi - lo, dtype="float32", always_2d=True).T
                if piece.shape[1] != hi - lo:
                    raise AudioError(f"The input changed while it was separated: {downmix.path}")
                vocals = apply_mask_piece(piece, lo, downmix.sample_rate, vocal_mask, start, stop)
                accompaniment = piece[:, start - lo:stop - lo] - vocals
                vocals_out.write(clip_for_subtype(vocals, subtype).T)
                accompaniment_out.write(clip_for_subtype(accompaniment, subtype).T)
                yield Progress("writing stems", (k + 1) / len(starts))
    except sf.LibsndfileError as exc:
        raise write_failure(outdir, "the stems", exc)  # its cause says whether the disk is full
    return targets
