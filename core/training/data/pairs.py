"""Original/instrumental pairs: a song and its instrumental version give a voice by subtraction.

After Humphrey et al. (2017), "Mining labeled data from web-scale collections for vocal activity
detection in music": a commercial release and its instrumental version, once aligned, differ only
by the voice, so the voice's magnitude is ``max(|M| - g|I|, 0)`` per STFT bin.

Layout read here, one folder per song::

    root/<song>/mix.<ext>            the original (any readable format, rate and channels)
    root/<song>/instrumental.<ext>   the same song without its voice

Tracks are mono (the channel average, as Isolde's model hears them) at the mix's rate; an
instrumental at another rate is resampled to it (soxr HQ, transparent below Nyquist: a pair bought
as a 48 kHz and a 44.1 kHz file is still one master). The voice is the magnitude difference with
the mix's phase; the accompaniment is ``mix - voice``, so that the mixture a model hears is
exactly the original. The reference F0 is pYIN on that derived voice
(:mod:`.pyin_cache`, cached). Folders holding neither file are ignored; there is no split
convention: ``open_source("pairs:PATH")`` trains on every pair and validates on none.

What alignment assumes: both files come from the same master (same tempo, no edit, no time
stretch), so one constant offset and one gain bring the instrumental onto the mix. A different
edit or a drifting transfer gives a weak correlation peak and the pair is refused.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...audio.io import load_audio, resample
from ...errors import IsoldeError
from .base import Dataset, Track
from .musdb import find_stem
from .pyin_cache import default_cache_dir, reference_f0

#: How far the instrumental may be shifted against the mix (s): releases differ by a few
#: hundred ms of lead-in; 10 s also covers a re-edited intro without costing much.
MAX_OFFSET_SECONDS = 10.0
#: The coarse search runs on this rate (Hz): an FFT correlation of a 4-minute song at 8 kHz is a
#: 4-million-point transform, at 44.1 kHz five times that; the full rate only refines it.
ALIGN_RATE = 8000
#: A pair whose aligned instrumental correlates less than this with the mix is refused (normalised
#: cross-correlation, 0..1). A true pair scores |accompaniment| / |mix|: 0.45 with the voice 6 dB
#: above the backing, more in practice; two unrelated songs stay under 0.1.
MIN_CORRELATION = 0.25
#: STFT window (s): about 46 ms (2048 samples at 44.1 kHz), a power of two at the file's rate.
#: Bins 21.5 Hz apart keep the voice's partials apart from the instruments' ones, so subtracting
#: the instrumental removes little voice; a quarter-window hop is the usual overlap for hann.
STFT_SECONDS = 0.046


@dataclass
class Alignment:
    """How the instrumental lines up with the mix.

    offset : samples (at the mix's rate) by which the instrumental lags the mix: the aligned
        instrumental is ``gain * instrumental[n + offset]`` (zero outside the file)
    gain : least-squares factor that brings the aligned instrumental to the mix's level
    correlation : normalised cross-correlation at that offset, 0..1
    """

    offset: int
    gain: float
    correlation: float


def shift(instrumental: np.ndarray, offset: int, gain: float, n: int) -> np.ndarray:
    """``gain * instrumental[k + offset]`` for k in 0..n-1, zero outside it -> float64 (n,)."""
    out = np.zeros(n, dtype=np.float64)
    lo, hi = max(0, -offset), min(n, len(instrumental) - offset)
    if hi > lo:
        out[lo:hi] = instrumental[lo + offset:hi + offset]
    return gain * out


def _coarse_offset(mix: np.ndarray, instrumental: np.ndarray, sample_rate: int,
                   max_lag: int) -> int:
    """The best lag at :data:`ALIGN_RATE`, as a lag in samples at ``sample_rate``."""
    from scipy.signal import correlate, correlation_lags

    rate = min(ALIGN_RATE, int(sample_rate))
    m = resample(mix, sample_rate, rate).astype(np.float64)
    i = resample(instrumental, sample_rate, rate).astype(np.float64)
    c = correlate(i, m, mode="full", method="fft")  # c[k] = sum_n i[n + k] * m[n]
    lags = correlation_lags(len(i), len(m), mode="full")
    limit = max_lag * rate / sample_rate
    c = np.where(np.abs(lags) <= limit, c, -np.inf)
    return int(round(lags[int(np.argmax(c))] * sample_rate / rate))


def align_pair(mix: np.ndarray, instrumental: np.ndarray, sample_rate: int,
               max_offset_seconds: float = MAX_OFFSET_SECONDS) -> Alignment:
    """Find the offset and gain that line the instrumental up with the mix.

    mix, instrumental : mono float, shapes (n_mix,) and (n_inst,), both at ``sample_rate`` Hz
    max_offset_seconds : the largest lag searched, either way (s)

    The lag maximises the raw cross-correlation (not the per-lag normalised one, which would
    favour a short overlap): first by FFT at :data:`ALIGN_RATE`, then at the full rate over
    the few samples either side of it. The gain is the least-squares ``<m, i> / <i, i>`` of the
    aligned instrumental; the voice, uncorrelated with the backing, leaves it unbiased.
    Raises :class:`IsoldeError` when the normalised correlation at the best lag is below
    :data:`MIN_CORRELATION` (not the same song, or not the same master).
    """
    mix = np.asarray(mix, dtype=np.float64)
    instrumental = np.asarray(instrumental, dtype=np.float64)
    if mix.ndim != 1 or instrumental.ndim != 1:
        raise ValueError("mix and instrumental must be mono (n_samples,)")
    if not max_offset_seconds >= 0:
        raise ValueError(f"max_offset_seconds must be >= 0, got {max_offset_seconds}")
    n = len(mix)
    max_lag = min(int(round(max_offset_seconds * sample_rate)), n - 1, len(instrumental) - 1)
    coarse = _coarse_offset(mix, instrumental, sample_rate, max_lag)
    # A coarse sample spans rate / ALIGN_RATE full-rate samples; the resampler's filters blur the
    # peak by about as much again.
    radius = int(math.ceil(2 * sample_rate / ALIGN_RATE)) + 2
    best, best_score = coarse, -np.inf
    for lag in range(max(coarse - radius, -max_lag), min(coarse + radius, max_lag) + 1):
        score = float(np.dot(mix, shift(instrumental, lag, 1.0, n)))
        if score > best_score:
            best, best_score = lag, score
    aligned = shift(instrumental, best, 1.0, n)
    energy = float(np.dot(aligned, aligned))
    mix_energy = float(np.dot(mix, mix))
    if energy <= 0 or mix_energy <= 0:
        raise IsoldeError("Cannot align the pair: the mix or the instrumental is silent")
    correlation = best_score / math.sqrt(energy * mix_energy)
    if correlation < MIN_CORRELATION:
        raise IsoldeError(f"Cannot align the pair: the instrumental matches the mix at no offset "
                          f"within {max_offset_seconds:g} s (correlation {correlation:.2f}, "
                          f"need {MIN_CORRELATION:g}): not the same song or not the same master")
    return Alignment(offset=int(best), gain=best_score / energy, correlation=float(correlation))


def stft_sizes(sample_rate: int) -> tuple[int, int]:
    """(n_fft, hop) in samples: :data:`STFT_SECONDS` as a power of two, hop a quarter of it."""
    n_fft = 2 ** int(round(math.log2(STFT_SECONDS * sample_rate)))
    return n_fft, n_fft // 4


@dataclass
class PairStems:
    """The stems a pair gives: float32 (n_mix,), ``vocals + accompaniment == mix``."""

    vocals: np.ndarray
    accompaniment: np.ndarray
    alignment: Alignment


def pair_stems(mix: np.ndarray, instrumental: np.ndarray, sample_rate: int, *,
               alignment: Alignment | None = None,
               max_offset_seconds: float = MAX_OFFSET_SECONDS) -> PairStems:
    """The voice and the accompaniment of a mix, given its instrumental version.

    mix, instrumental : mono float, (n_mix,) and (n_inst,), at ``sample_rate`` Hz
    alignment : use this offset and gain instead of :func:`align_pair`'s
    The voice's magnitude is ``max(|M| - g|I|, 0)`` (I the aligned instrumental), its phase the
    mix's; it is brought back by the inverse STFT. Where the instrumental file does not reach
    (before its start, after its end) everything in the mix counts as voice.
    """
    import librosa

    mix = np.asarray(mix, dtype=np.float32)
    if alignment is None:
        alignment = align_pair(mix, instrumental, sample_rate, max_offset_seconds)
    n = len(mix)
    aligned = shift(np.asarray(instrumental, dtype=np.float64), alignment.offset,
                    alignment.gain, n).astype(np.float32)
    n_fft, hop = stft_sizes(sample_rate)
    spec_mix = librosa.stft(mix, n_fft=n_fft, hop_length=hop, window="hann", center=True)
    spec_inst = librosa.stft(aligned, n_fft=n_fft, hop_length=hop, window="hann", center=True)
    magnitude = np.maximum(np.abs(spec_mix) - np.abs(spec_inst), 0.0)
    phase = np.exp(1j * np.angle(spec_mix))
    vocals = librosa.istft(magnitude * phase, hop_length=hop, window="hann", center=True,
                           length=n).astype(np.float32)
    accompaniment = (mix - vocals).astype(np.float32)
    return PairStems(vocals=vocals, accompaniment=accompaniment, alignment=alignment)


def _pair_files(folder: Path) -> tuple[Path, Path]:
    mix, instrumental = find_stem(folder, "mix"), find_stem(folder, "instrumental")
    if mix is None or instrumental is None:
        missing = "mix" if mix is None else "instrumental"
        raise IsoldeError(f"The pair {folder} has no {missing} file "
                          f"(expected {folder.name}/mix.wav and {folder.name}/instrumental.wav, "
                          "or .flac, .ogg, .mp3)")
    return mix, instrumental


class InstrumentalPairs(Dataset):
    """Every song folder under ``root`` holding a mix and its instrumental version.

    root : the folder of song folders
    cache_dir : where pYIN results are cached; None: :func:`.pyin_cache.default_cache_dir`
    max_offset_seconds : the largest offset searched between the two files of a pair (s)
    A folder with only one of the two files is an error, here rather than mid-training.
    """

    def __init__(self, root: str | os.PathLike, *, cache_dir: str | os.PathLike | None = None,
                 max_offset_seconds: float = MAX_OFFSET_SECONDS):
        self.root = Path(root)
        if not self.root.is_dir():
            raise IsoldeError(f"Not a folder of original/instrumental pairs: {self.root}")
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.max_offset_seconds = float(max_offset_seconds)
        self.folders = sorted((d for d in self.root.iterdir() if d.is_dir()
                               and (find_stem(d, "mix") or find_stem(d, "instrumental"))),
                              key=lambda d: d.name)
        if not self.folders:
            raise IsoldeError(f"No original/instrumental pair under {self.root} "
                              "(expected <song>/mix.wav and <song>/instrumental.wav)")
        for folder in self.folders:
            _pair_files(folder)
        self.names = [d.name for d in self.folders]
        self.groups = list(self.names)

    def load(self, index: int) -> Track:
        folder = self.folders[index]
        mix_path, instrumental_path = _pair_files(folder)
        mix_audio, instrumental_audio = load_audio(mix_path), load_audio(instrumental_path)
        rate = mix_audio.sample_rate
        mix = mix_audio.mono()
        instrumental = resample(instrumental_audio.mono(), instrumental_audio.sample_rate, rate)
        try:
            stems = pair_stems(mix, instrumental, rate, max_offset_seconds=self.max_offset_seconds)
        except IsoldeError as exc:
            raise IsoldeError(f"{folder}: {exc}") from None
        times, f0 = reference_f0(stems.vocals, rate, self.cache_dir, f"pairs_{folder.name}")
        a = stems.alignment
        return Track(name=folder.name, group=folder.name, vocals=stems.vocals,
                     accompaniment=stems.accompaniment, sample_rate=rate, f0_times=times,
                     f0_hz=f0,
                     meta={"dataset": "pairs", "path": str(folder), "f0_source": "pyin",
                           "offset_samples": a.offset, "gain": a.gain,
                           "correlation": a.correlation,
                           "instrumental_rate": instrumental_audio.sample_rate})
