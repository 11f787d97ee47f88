"""Separating a long file without holding it: ``isolde separate`` on songs over STREAM_SECONDS.

A 60-minute stereo song is 1.3 GB as float32, and separating it in memory held the song, its
stems, the spectrogram and their temporaries at once: 6.3 GB at its peak. Here the file is read
twice, block by block (:data:`BLOCK_FRAMES`), and never held whole:

1. one pass checks it as :func:`core.audio.io.load_audio` does (finite samples, a header that
   matches what is there, long enough) and keeps only its mono downmix at 16 kHz (resampled as
   it streams) for the networks, and its peak;
2. the beat tracker reads the file again as it goes (:class:`FileMono`, three passes: its
   features are computed block by block at three resolutions), so the downmix at the file's
   rate (635 MB for an hour at 44.1 kHz) is never held;
3. the networks run chunk by chunk over :class:`core.audio.spectral.MagnitudeFrames`, so the
   whole-song spectrogram never exists either;
4. a last pass reads each block again with its STFT margins and writes its vocals and
   accompaniment straight to the output files (:func:`write_stems`).

What stays in memory is the 16 kHz downmix, the vocal mask and the F0 saliency. The results
equal the in-memory path's (``tests/test_stream.py``: the same mask and beats, stems within 1e-5;
soxr's streaming resampler gives the same samples as its whole-signal one). Peak memory of a
60-minute stereo WAV (``benchmarks/separate_speed.py``): 6.3 GB when it was read whole, 2.0 GB
with the downmix at the file's rate held for the beats, 1.8-1.9 GB now (the exemplars' matching
in 10-minute segments, combined into the mask where it lies). That also needed the F0
contour's candidates, the confidence's argmax and the beat tracker's features computed in blocks
(:mod:`core.music.pitch`, :mod:`core.music.beats`), which had whole-song temporaries of 0.2-1 GB
each.
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
                       measure_pitch_iter, native_grid)

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
    """What the first pass keeps of a file: its shape, its mono downmix at the model's rate and
    the downmix's peak."""

    path: Path
    sample_rate: int
    n_channels: int
    n_samples: int
    peak: float         # the largest absolute sample of the mono downmix
    mono16: np.ndarray  # float32, at spectral.MODEL_SAMPLE_RATE


class FileMono:
    """A checked file's mono downmix at ``rate`` (soxr, as :func:`core.audio.io.resample`),
    read and resampled as it is asked for: ``size`` samples, ``[lo:hi]`` slices. Slices asked
    for in increasing order cost one pass over the file; an earlier one starts a new pass.
    For :func:`core.music.beats.track_beats_source_iter`."""

    def __init__(self, downmix: FileDownmix, rate: int) -> None:
        self.downmix, self.rate = downmix, int(rate)
        self.size = (downmix.n_samples if self.rate == downmix.sample_rate
                     else int(round(downmix.n_samples * self.rate / downmix.sample_rate)))
        self._file = None
        self._restart()

    def _restart(self) -> None:
        import soxr

        self.close()
        self._file = sf.SoundFile(str(self.downmix.path))
        self._resampler = (None if self.rate == self.downmix.sample_rate else
                           soxr.ResampleStream(self.downmix.sample_rate, self.rate, 1,
                                               dtype="float32", quality="HQ"))
        self._buffer, self._start, self._ended = np.zeros(0, np.float32), 0, False

    def _read_more(self) -> None:
        block = self._file.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
        self._ended = len(block) == 0
        down = block.mean(axis=1, dtype=np.float32)
        if self._resampler is not None:
            down = self._resampler.resample_chunk(down, last=self._ended)
        self._buffer = np.concatenate([self._buffer, down])

    def __getitem__(self, key: slice) -> np.ndarray:
        lo, hi, _ = key.indices(self.size)
        try:
            if lo < self._start:
                self._restart()
            while self._start + len(self._buffer) < hi and not self._ended:
                self._read_more()
                drop = min(lo - self._start, len(self._buffer))  # before lo: not needed again
                self._buffer, self._start = self._buffer[drop:], self._start + drop
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            raise AudioError(f"The input became unreadable while it was separated: "
                             f"{self.downmix.path} ({exc})") from None
        if self._start + len(self._buffer) < hi:
            raise AudioError(f"The input changed while it was separated: {self.downmix.path}")
        return self._buffer[lo - self._start:hi - self._start].copy()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_downmix_iter(path: str | os.PathLike) -> Job[FileDownmix]:
    """Read ``path`` block by block, checking it as ``load_audio`` does; returns its downmixes."""
    import soxr

    path = Path(path)
    check_regular_file(path)
    try:
        with sf.SoundFile(str(path)) as f:
            declared, rate, channels = int(f.frames), int(f.samplerate), int(f.channels)
            peak = 0.0
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
                peak = max(peak, float(np.abs(down).max()))
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
    return FileDownmix(path, rate, channels, filled, peak, mono16)


def analyse_file_iter(downmix: FileDownmix, model, *, device="cpu", with_beats: bool = True,
                      measure_pitch: bool = True) -> Job[tuple[ModelAnalysis, object]]:
    """The beats (the file read again as it goes), then the networks chunk by chunk, then the
    melody's pitch on the separated vocal (``measure_pitch``, :func:`measure_pitch_iter`);
    returns (analysis, beats). The beats come first, so that their features (0.45 GB for an
    hour) are released before the mask and the saliency are allocated."""
    beats = None
    if with_beats:
        from ..music.beats import MADMOM_RATE, track_beats_source_iter
        signal = FileMono(downmix, MADMOM_RATE)
        try:
            beats = yield from scaled(track_beats_source_iter(signal, downmix.peak), 0.0, 0.3)
        finally:
            signal.close()
    magnitude = spectral.MagnitudeFrames(downmix.mono16)
    analysis = yield from scaled(analyse_any_iter(model, downmix.mono16, magnitude,
                                                  device=device), 0.3, 0.85)
    if measure_pitch:
        yield from scaled(measure_pitch_iter(analysis, downmix.mono16, device=device), 0.85, 1.0)
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
