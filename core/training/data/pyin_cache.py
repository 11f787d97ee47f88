"""Reference F0 of a vocal stem by pYIN, cached on disk, and the 10 ms F0 grid every dataset uses.

Datasets without a pitch annotation (MUSDB18-HQ, parts of MedleyDB) get their reference F0 from the
isolated vocal stem: pYIN (librosa) at 16 kHz, 65-1100 Hz, one frame every 10 ms. That is slow
(the Viterbi decoding costs a few seconds per minute of audio), so results are stored as ``.npz``
files keyed by a hash of the audio and of every parameter; a second call with the same audio is a
file read. Only the stretches where the stem is not silent are analysed, which also keeps pYIN from
"hearing" pitch in the near-silent bleed of a stem.

The grid: frame k is centred on ``k * 10 ms`` and a song of n samples has ``1 + n // hop`` frames
(librosa's ``center=True`` convention); ``f0_hz`` is 0 where there is no voice.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np

from ...audio.fileio import atomic_path

#: Spacing of reference F0 frames (s).
F0_HOP_SECONDS = 0.01
#: pYIN settings; part of the cache key.
PYIN_RATE = 16000
PYIN_FMIN = 65.0
PYIN_FMAX = 1100.0
PYIN_FRAME = 1024  # 64 ms at 16 kHz: two periods of the lowest F0 fit in the YIN window
PYIN_RESOLUTION = 0.1  # semitones between pYIN's pitch states
#: Frames whose RMS is this far below the loudest frame of the stem count as silent (dB).
SILENCE_DB = -50.0
#: Changing anything about the analysis must change this, so that old cache files are not reused.
CACHE_VERSION = "pyin-1"


def n_f0_frames(n_samples: int, sample_rate: float) -> int:
    """Number of 10 ms frames for ``n_samples`` at ``sample_rate``: ``1 + n_samples // hop``."""
    return 1 + int(n_samples / (sample_rate * F0_HOP_SECONDS) + 1e-9)


def grid_times(n_samples: int, sample_rate: float) -> np.ndarray:
    """Frame centres (s), float64, shape (n_f0_frames,)."""
    return np.arange(n_f0_frames(n_samples, sample_rate), dtype=np.float64) * F0_HOP_SECONDS


def f0_to_grid(times: np.ndarray, f0_hz: np.ndarray, new_times: np.ndarray) -> np.ndarray:
    """Resample an F0 track (Hz, 0 = unvoiced) to ``new_times`` (s).

    Between two voiced samples the F0 is interpolated linearly in log frequency (cents); next to an
    unvoiced one the nearest sample decides, so voicing boundaries move by at most half a source
    frame and no F0 is invented across a rest. Outside the source's time span: 0.
    times : (n,) increasing; f0_hz : (n,); new_times : (m,) -> (m,) float64.
    """
    times = np.asarray(times, dtype=np.float64)
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    new_times = np.asarray(new_times, dtype=np.float64)
    out = np.zeros(len(new_times))
    if len(times) == 0:
        return out
    if len(times) == 1:
        near = np.abs(new_times - times[0]) <= F0_HOP_SECONDS / 2
        out[near] = f0_hz[0]
        return out
    right = np.clip(np.searchsorted(times, new_times), 1, len(times) - 1)
    left = right - 1
    t0, t1 = times[left], times[right]
    f_l, f_r = f0_hz[left], f0_hz[right]
    u = np.clip((new_times - t0) / np.maximum(t1 - t0, 1e-12), 0.0, 1.0)
    both = (f_l > 0) & (f_r > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        # f_l * (f_r / f_l) ** u: exact at the samples and between equal values
        interp = f_l * np.exp2(u * np.log2(np.where(both, f_r / np.where(both, f_l, 1.0), 1.0)))
    nearest = np.where(u < 0.5, f_l, f_r)
    out = np.where(both, interp, nearest)
    step = np.median(np.diff(times))
    inside = (new_times >= times[0] - step / 2) & (new_times <= times[-1] + step / 2)
    return np.where(inside, out, 0.0)


def power_around(samples: np.ndarray, sample_rate: float, times: np.ndarray,
                 window_seconds: float = 0.04) -> np.ndarray:
    """Mean power of ``samples`` (n,) in a window of ``window_seconds`` centred on each of
    ``times`` (s), cut at the ends of the samples -> times' shape."""
    x = np.asarray(samples, dtype=np.float64)
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    centres = np.round(np.asarray(times, dtype=np.float64) * sample_rate).astype(np.int64)
    half = max(1, int(round(window_seconds * sample_rate / 2)))
    lo = np.clip(centres - half, 0, len(x))
    hi = np.clip(centres + half, 0, len(x))
    return (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)


def frame_rms_db(samples: np.ndarray, sample_rate: float, n_frames: int,
                 window_seconds: float = 0.04) -> np.ndarray:
    """RMS level (dB re full scale) of ``samples`` (n,) in a window around each 10 ms frame
    centre -> (n_frames,)."""
    energy = power_around(samples, sample_rate, np.arange(n_frames) * F0_HOP_SECONDS,
                          window_seconds)
    return 10.0 * np.log10(energy + 1e-20)


def active_frames(samples: np.ndarray, sample_rate: float, n_frames: int,
                  threshold_db: float = SILENCE_DB) -> np.ndarray:
    """Frames (bool, (n_frames,)) where the stem is within ``threshold_db`` of its loudest frame
    (and above -100 dBFS)."""
    level = frame_rms_db(samples, sample_rate, n_frames)
    if len(level) == 0:
        return np.zeros(0, dtype=bool)
    return level > max(float(level.max()) + threshold_db, -100.0)


def default_cache_dir() -> Path:
    """Where reference F0s are cached when a dataset is not told: the user's cache folder."""
    try:
        import platformdirs

        base = Path(platformdirs.user_cache_dir("isolde"))
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        base = Path.home() / ".cache" / "isolde"
    return base / "f0"


def _params() -> dict:
    return {"version": CACHE_VERSION, "rate": PYIN_RATE, "fmin": PYIN_FMIN, "fmax": PYIN_FMAX,
            "frame": PYIN_FRAME, "resolution": PYIN_RESOLUTION, "hop": F0_HOP_SECONDS,
            "silence_db": SILENCE_DB}


def cache_path(vocals: np.ndarray, sample_rate: int, cache_dir: str | os.PathLike,
               key: str) -> Path:
    """The .npz file that holds (or will hold) the reference F0 of ``vocals``."""
    digest = hashlib.sha256()
    params = {**_params(), "sample_rate": int(sample_rate)}
    digest.update(json.dumps(params, sort_keys=True).encode())
    audio = np.ascontiguousarray(vocals, dtype=np.float32)
    digest.update(str(audio.shape).encode())
    digest.update(audio.tobytes())
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._")[:80] or "track"
    return Path(cache_dir) / f"{safe}_{digest.hexdigest()[:20]}.npz"


def reference_f0(vocals: np.ndarray, sample_rate: int, cache_dir: str | os.PathLike | None,
                 key: str) -> tuple[np.ndarray, np.ndarray]:
    """pYIN F0 of a vocal stem on the 10 ms grid, from the cache when it is there.

    vocals : mono float, shape (n_samples,), at ``sample_rate`` Hz
    cache_dir : folder for the .npz files (created if missing); None: do not cache
    key : a readable name for the cache file (the track's name); the hash does the identifying
    Returns (times, f0_hz): float64 arrays of shape (n_f0_frames(n_samples, sample_rate),), seconds
    and Hz, f0 = 0 where unvoiced or silent.
    """
    vocals = np.asarray(vocals, dtype=np.float32)
    if vocals.ndim != 1:
        raise ValueError(f"vocals must be mono (n_samples,), got shape {vocals.shape}")
    path = cache_path(vocals, sample_rate, cache_dir, key) if cache_dir is not None else None
    if path is not None and path.exists():
        try:
            with np.load(path, allow_pickle=False) as data:
                return data["times"].astype(np.float64), data["f0_hz"].astype(np.float64)
        except (OSError, ValueError, KeyError, EOFError):
            pass  # a damaged cache file: compute again and replace it
    times, f0 = compute_reference_f0(vocals, sample_rate)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            np.savez(tmp, times=times, f0_hz=f0)
    return times, f0


def compute_reference_f0(vocals: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """pYIN without the cache; see :func:`reference_f0`."""
    import librosa

    from ...audio.io import resample

    vocals = np.asarray(vocals, dtype=np.float32)
    n_f0 = n_f0_frames(len(vocals), sample_rate)
    times = np.arange(n_f0, dtype=np.float64) * F0_HOP_SECONDS
    f0 = np.zeros(n_f0)
    if len(vocals) == 0:
        return times, f0
    y = resample(vocals, int(sample_rate), PYIN_RATE)
    hop = int(round(PYIN_RATE * F0_HOP_SECONDS))
    active = active_frames(y, PYIN_RATE, n_f0)
    # Analyse only the non-silent stretches (pYIN's Viterbi costs the same for silence), each
    # padded by 100 ms, joining those less than half a second apart so that a note is not cut.
    pad, join = 10, 50
    runs = []
    idx = np.flatnonzero(active)
    if len(idx):
        starts = [idx[0]]
        ends = []
        for a, b in zip(idx[:-1], idx[1:]):
            if b - a > join:
                ends.append(a)
                starts.append(b)
        ends.append(idx[-1])
        runs = [(max(0, s - pad), min(n_f0, e + pad + 1)) for s, e in zip(starts, ends)]
    for s, e in runs:
        segment = y[s * hop:e * hop]
        if len(segment) < PYIN_FRAME // 2:
            segment = np.pad(segment, (0, PYIN_FRAME // 2 - len(segment)))
        est, voiced, _ = librosa.pyin(segment, fmin=PYIN_FMIN, fmax=PYIN_FMAX, sr=PYIN_RATE,
                                      frame_length=PYIN_FRAME, hop_length=hop,
                                      resolution=PYIN_RESOLUTION, center=True)
        est = np.where(voiced & np.isfinite(est), est, 0.0)
        m = min(e - s, len(est))
        f0[s:s + m] = est[:m]
    f0[~active] = 0.0
    return times, f0
