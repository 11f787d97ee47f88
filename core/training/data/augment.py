"""Data augmentation over any dataset's tracks: remixes, gains, silence, pitch shifts.

Every function takes :class:`~core.training.data.base.Track` objects and returns a new one (inputs
are never modified): ``vocals`` and ``accompaniment`` are mono float32 arrays of shape (n_samples,)
at ``sample_rate`` Hz, ``f0_times``/``f0_hz`` the reference F0 on the 10 ms grid (s, Hz, 0 =
unvoiced). Randomness comes only from the ``np.random.Generator`` passed in, so the same
generator state gives the same result.

:class:`RemixDataset` puts them together: each item is a fixed-length excerpt whose voice comes
from one track and accompaniment from another (or the same), with random gains, sometimes no voice
at all, sometimes a pitch-shifted voice. Build it on the *training* part of a split
(``Dataset.split``): an item's group is its voice's group, and accompaniments are drawn from the
same source dataset.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace

import numpy as np

from .base import Dataset, Track
from .pyin_cache import F0_HOP_SECONDS, f0_to_grid, grid_times

#: Peak level the functions keep mixtures under (linear, full scale = 1).
MAX_PEAK = 0.99


def _fit(x: np.ndarray, n: int, dtype=np.float32) -> np.ndarray:
    """x cut or zero-padded to n samples (float32 unless told)."""
    out = np.zeros(n, dtype=dtype)
    m = min(n, len(x))
    out[:m] = x[:m]
    return out


def _f0_excerpt(track: Track, start_seconds: float,
                n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """The reference F0 of ``track`` from ``start_seconds`` on, re-gridded for an excerpt."""
    times = grid_times(n_samples, track.sample_rate)
    f0 = f0_to_grid(track.f0_times, track.f0_hz, times + start_seconds)
    return times, f0


def crop(track: Track, start_seconds: float, seconds: float) -> Track:
    """The excerpt [start, start + seconds) of a track; zero-padded (and unvoiced) past its end.

    start_seconds is rounded to the 10 ms grid so that F0 frames stay exactly aligned.
    """
    start_seconds = max(0.0, round(start_seconds / F0_HOP_SECONDS) * F0_HOP_SECONDS)
    s = int(round(start_seconds * track.sample_rate))
    n = int(round(seconds * track.sample_rate))
    times, f0 = _f0_excerpt(track, start_seconds, n)
    return replace(track, vocals=_fit(track.vocals[s:], n),
                   accompaniment=_fit(track.accompaniment[s:], n), f0_times=times, f0_hz=f0,
                   meta={**track.meta, "crop_start_seconds": start_seconds})


def limit_peak(track: Track, peak: float = MAX_PEAK) -> Track:
    """Scale both stems down together, if needed, so that neither stem nor the mixture exceeds
    peak."""
    top = max(float(np.max(np.abs(track.vocals), initial=0.0)),
              float(np.max(np.abs(track.accompaniment), initial=0.0)),
              float(np.max(np.abs(track.mixture), initial=0.0)))
    if top <= peak:
        return track
    g = np.float32(peak / top)
    return replace(track, vocals=track.vocals * g, accompaniment=track.accompaniment * g)


def random_gains(track: Track, rng: np.random.Generator, *,
                 vocals_db: tuple[float, float] = (-6.0, 6.0),
                 accompaniment_db: tuple[float, float] = (-6.0, 3.0)) -> Track:
    """Each stem times a random gain drawn uniformly in dB from its range, then kept under
    :data:`MAX_PEAK` (both stems scaled alike, which keeps the drawn ratio)."""
    gv = rng.uniform(*vocals_db)
    ga = rng.uniform(*accompaniment_db)
    out = replace(track, vocals=(track.vocals * 10.0 ** (gv / 20.0)).astype(np.float32),
                  accompaniment=(track.accompaniment * 10.0 ** (ga / 20.0)).astype(np.float32),
                  meta={**track.meta, "gains_db": (float(gv), float(ga))})
    return limit_peak(out)


def silence_vocals(track: Track) -> Track:
    """The same accompaniment with no voice: vocals all zero, f0 all 0 (teaches "no voice here")."""
    return replace(track, vocals=np.zeros_like(track.vocals), f0_hz=np.zeros_like(track.f0_hz),
                   meta={**track.meta, "silenced": True})


def pitch_shift_vocals(track: Track, semitones: float, *, method: str = "resample") -> Track:
    """The voice transposed by ``semitones``, with the reference F0 scaled by 2**(semitones/12).

    method "resample" (default, cheap: one soxr call): the vocal stem is played faster or slower,
        like a tape, so formants move with the pitch and the duration changes by the same factor;
        the F0 track is time-scaled too. The result is as long as the shorter of the shifted voice
        and the accompaniment (the accompaniment is cut, never stretched).
    method "librosa": librosa.effects.pitch_shift (phase vocoder; keeps the duration; several
        times slower and with phasiness).
    """
    factor = 2.0 ** (semitones / 12.0)
    sr = track.sample_rate
    meta = {**track.meta, "pitch_shift_semitones": float(semitones)}
    if semitones == 0:
        return replace(track, meta=meta)
    if method == "librosa":
        import librosa

        vocals = librosa.effects.pitch_shift(track.vocals.astype(np.float32), sr=sr,
                                             n_steps=float(semitones)).astype(np.float32)
        return replace(track, vocals=_fit(vocals, len(track.vocals)),
                       f0_hz=np.where(track.f0_hz > 0, track.f0_hz * factor, 0.0), meta=meta)
    if method != "resample":
        raise ValueError(f"method must be 'resample' or 'librosa', got {method!r}")
    import soxr

    # Read the stem as if it had been recorded at sr * factor: factor times higher, 1/factor long.
    shifted = soxr.resample(track.vocals.astype(np.float32), sr * factor, sr, quality="HQ")
    n = min(len(shifted), len(track.accompaniment))
    times = grid_times(n, sr)
    # A frame at time t of the result shows what the original had at t * factor.
    f0 = f0_to_grid(track.f0_times, track.f0_hz, times * factor) * factor
    return replace(track, vocals=_fit(shifted, n), accompaniment=_fit(track.accompaniment, n),
                   f0_times=times, f0_hz=f0, meta=meta)


def remix(voice: Track, accompaniment: Track, rng: np.random.Generator, *,
          seconds: float | None = None, name: str | None = None) -> Track:
    """The voice of one track over the accompaniment of another, at random offsets.

    seconds : length of the result; None: the shorter of the two tracks. Offsets are drawn
        uniformly (on the 10 ms grid) so that the excerpt fits each track when it can; a track
        shorter than ``seconds`` is zero-padded.
    The accompaniment is resampled to the voice's rate if they differ. The result keeps the voice's
    group (the singer is what a split must keep together) and is not peak-limited: call
    :func:`random_gains` or :func:`limit_peak` after.
    """
    if accompaniment.sample_rate != voice.sample_rate:
        from ...audio.io import resample

        src, dst = accompaniment.sample_rate, voice.sample_rate
        accompaniment = replace(accompaniment, sample_rate=dst,
                                vocals=resample(accompaniment.vocals, src, dst),
                                accompaniment=resample(accompaniment.accompaniment, src, dst))
    if seconds is None:
        seconds = min(voice.duration_seconds, accompaniment.duration_seconds)

    def offset(track: Track) -> float:
        room = track.duration_seconds - seconds
        return float(rng.uniform(0.0, room)) if room > 0 else 0.0

    v = crop(voice, offset(voice), seconds)
    a = crop(accompaniment, offset(accompaniment), seconds)
    return Track(name=name or f"{voice.name}+{accompaniment.name}", group=voice.group,
                 vocals=v.vocals, accompaniment=a.accompaniment, sample_rate=voice.sample_rate,
                 f0_times=v.f0_times, f0_hz=v.f0_hz,
                 meta={"voice": voice.name, "accompaniment_of": accompaniment.name,
                       "offsets_seconds": (v.meta["crop_start_seconds"],
                                           a.meta["crop_start_seconds"])})


class RemixDataset(Dataset):
    """``n_items`` augmented excerpts drawn from ``source``; item i depends only on (seed, i).

    Each item: a voice track and, with probability ``1 - p_original``, the accompaniment of a
    different track (of another group when there is one); excerpts of ``seconds`` at random offsets
    (the voice's excerpt is re-drawn up to 4 times to contain some singing); with probability
    ``p_shift`` the voice is shifted by U(-max_shift, +max_shift) semitones; with probability
    ``p_silence`` the voice is removed; random gains (:func:`random_gains`) last.
    Names are "remix_000012", groups the voice tracks' groups. The last ``cache_size`` loaded source
    tracks are kept in memory (a MUSDB song is ~85 MB as mono float32 stems).
    """

    def __init__(self, source: Dataset, n_items: int, *, seconds: float = 6.0, seed: int = 0,
                 p_original: float = 0.3, p_silence: float = 0.05, p_shift: float = 0.3,
                 max_shift: float = 3.0, vocals_db: tuple[float, float] = (-6.0, 6.0),
                 accompaniment_db: tuple[float, float] = (-6.0, 3.0), cache_size: int = 4):
        if len(source) == 0:
            raise ValueError("RemixDataset needs a source with at least one track")
        self.source = source
        self.seconds = float(seconds)
        self.seed = int(seed)
        self.p_original, self.p_silence, self.p_shift = p_original, p_silence, p_shift
        self.max_shift = float(max_shift)
        self.vocals_db, self.accompaniment_db = vocals_db, accompaniment_db
        self.cache_size = int(cache_size)
        self._cache: OrderedDict[int, Track] = OrderedDict()
        # Which items use which voice is fixed up front so that names and groups are known
        # without loading audio.
        self._voice_index = [int(np.random.default_rng([self.seed, i, 0]).integers(len(source)))
                             for i in range(n_items)]
        self.names = [f"remix_{i:06d}" for i in range(n_items)]
        self.groups = [source.groups[v] for v in self._voice_index]

    def _track(self, index: int) -> Track:
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        track = self.source.load(index)
        if self.cache_size > 0:
            self._cache[index] = track
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return track

    def load(self, index: int) -> Track:
        if not 0 <= index < len(self.names):
            raise IndexError(f"item {index} out of range (0..{len(self.names) - 1})")
        rng = np.random.default_rng([self.seed, index, 1])
        vi = self._voice_index[index]
        ai = vi
        if len(self.source) > 1 and rng.random() >= self.p_original:
            others = [j for j in range(len(self.source))
                      if self.source.groups[j] != self.source.groups[vi]]
            others = others or [j for j in range(len(self.source)) if j != vi]
            ai = int(others[int(rng.integers(len(others)))])
        voice = self._track(vi)
        accomp = voice if ai == vi else self._track(ai)
        shift = 0.0
        if rng.random() < self.p_shift:
            shift = float(rng.uniform(-self.max_shift, self.max_shift))
        silence = rng.random() < self.p_silence
        # Shifting up by resampling shortens the voice by 2**(s/12) (shifting down lengthens it,
        # and the excess is cut): take a longer voice excerpt so the item keeps its length.
        factor = 2.0 ** (shift / 12.0)
        voice_seconds = self.seconds * max(factor, 1.0)
        v, voice_start = None, 0.0
        for _ in range(4):
            room = voice.duration_seconds - voice_seconds
            v = crop(voice, float(rng.uniform(0.0, room)) if room > 0 else 0.0, voice_seconds)
            voice_start = v.meta["crop_start_seconds"]
            if np.any(v.f0_hz > 0):
                break
        if shift != 0.0:
            v = crop(pitch_shift_vocals(v, shift), 0.0, self.seconds)
        room = accomp.duration_seconds - self.seconds
        a = crop(accomp, float(rng.uniform(0.0, room)) if room > 0 else 0.0, self.seconds)
        acc = a.accompaniment
        if accomp.sample_rate != voice.sample_rate:
            from ...audio.io import resample

            acc = resample(acc, accomp.sample_rate, voice.sample_rate)
        n = len(v.vocals)
        times = grid_times(n, voice.sample_rate)
        item = Track(name=self.names[index], group=self.groups[index], vocals=v.vocals,
                     accompaniment=_fit(acc, n), sample_rate=voice.sample_rate,
                     f0_times=times, f0_hz=_fit(v.f0_hz, len(times), np.float64),
                     meta={"voice": voice.name, "accompaniment_of": accomp.name,
                           "offsets_seconds": (voice_start, a.meta["crop_start_seconds"]),
                           "pitch_shift_semitones": shift, "silenced": bool(silence)})
        if silence:
            item = silence_vocals(item)
        return random_gains(item, rng, vocals_db=self.vocals_db,
                            accompaniment_db=self.accompaniment_db)
