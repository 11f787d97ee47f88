"""Beat and downbeat tracking: madmom's joint beat/downbeat network plus a DBN, librosa as fallback.

Input is audio as float32, mono ``(n_samples,)`` or ``(n_channels, n_samples)``, at any sample
rate (Hz). Output is a :class:`BeatGrid` of beat and downbeat times in seconds (float64).

Why this pipeline
-----------------
madmom's default ``RNNBeatProcessor`` averages 8 BLSTMs (about 3 s of CPU per 30 s of audio), far
too much for ``isolde separate``'s budget of 0.1x real time on 2 cores. So *one* network of
madmom's 8-fold downbeat ensemble (``NETWORK_INDEX`` 3: the best downbeats on accented clicks and
the closest to the ensemble on MIR-1K, beat F 0.93) gives beat and downbeat activations in one
pass at 100 frames/s, decoded by madmom's bar-pointer DBN (3 and 4 beats per bar; the more
probable bar length wins). :meth:`_MadmomPipeline.features` computes madmom's spectrogram with
batched FFTs (the same numbers to ~1e-6, twice as fast). Audio over a minute is decoded in ~50 s
windows with 6 s of context each side (:func:`_windows`): the Viterbi back-pointers of one
whole-song decode would take 1.4 GB for 4 minutes, the windows 376 MB, and agree with it at
F = 0.99. ``num_tempi`` stays at madmom's 60. The whole costs about 0.03x real time on 4 minutes
(2-core CPU). The measurements and the alternatives: ``docs/research-notes.md``, "Beat tracking".

madmom 0.16.1 on Python 3.11 / NumPy 2
---------------------------------------
madmom's last release imports ``collections.MutableSequence`` and uses ``np.float`` / ``np.int``,
all removed since. :func:`_apply_madmom_compat` puts those names back right before madmom is
first imported (never at ``import core``), and this is the only place in Isolde that does so.
``np.bool`` is deliberately not restored: it breaks ``numpy.ma``. madmom's
``DBNDownBeatTrackingProcessor.process`` also fails on NumPy 2 (it builds an array from a ragged
list of ``(path, log_prob)`` tuples), so :func:`_decode_bars` does the decoding with the
processor's HMMs directly.

If madmom cannot be imported at all, :func:`track_beats` falls back to ``librosa.beat.beat_track``
(beats only, no downbeats, ``source="librosa"``) and warns once per process.
"""
from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Generator

import numpy as np

from ..audio.fileio import write_text_atomic
from ..audio.io import resample, to_mono
from ..progress import Progress, run

#: madmom's features and networks are defined at 44.1 kHz and 100 frames per second.
MADMOM_RATE = 44100
FPS = 100
#: Bar lengths (beats per bar) the DBN considers; the more probable one is kept.
BEATS_PER_BAR = (3, 4)
#: Which network of madmom's 8-fold downbeat ensemble (``madmom.models.DOWNBEATS_BLSTM``) to run;
#: see the module docstring for why this one.
NETWORK_INDEX = 3
#: Long audio is decoded in windows of this many seconds, each with this much context either side
#: (see _windows).
WINDOW_SECONDS = 50.0
WINDOW_MARGIN_SECONDS = 6.0
#: Shorter audio than this (seconds) cannot show a beat period; it gets an empty grid.
MIN_SECONDS = 1.0
#: Peak level at or below which audio counts as silence (no beats).
SILENCE_LEVEL = 1e-4
#: Rate used for the librosa fallback (its default; plenty for onset envelopes).
LIBROSA_RATE = 22050

STAGE = "beats"


@dataclass
class BeatGrid:
    """Beat positions of a piece of audio.

    beat_times : float64 seconds from the start of the audio, shape (n_beats,), increasing
    downbeat_times : float64 seconds, the beats that start a bar (a subset of ``beat_times``);
        empty when unknown (librosa fallback) or when there are no beats
    source : which tracker produced the grid, "madmom" or "librosa"
    """

    beat_times: np.ndarray
    downbeat_times: np.ndarray
    source: str

    def __post_init__(self) -> None:
        self.beat_times = np.asarray(self.beat_times, dtype=np.float64).reshape(-1)
        self.downbeat_times = np.asarray(self.downbeat_times, dtype=np.float64).reshape(-1)

    def shifted(self, seconds: float) -> "BeatGrid":
        """The same grid with ``seconds`` added to every time (a section's beats on the song's
        clock)."""
        return BeatGrid(self.beat_times + seconds, self.downbeat_times + seconds, self.source)


def _empty_grid(source: str) -> BeatGrid:
    return BeatGrid(np.zeros(0), np.zeros(0), source)


# --------------------------------------------------------------------------------------------
# madmom loading (lazy, once per process)

_lock = threading.Lock()
#: The built madmom pipeline, or None before the first use / after a failed import.
_madmom: "_MadmomPipeline | None" = None
#: Set when madmom failed to import or load: not retried, and the fallback warning was issued.
_madmom_failed = False


def _apply_madmom_compat() -> None:
    """Restore the names madmom 0.16.1 needs that Python 3.10+ and NumPy 1.24+ removed."""
    import collections
    import collections.abc

    for name in ("MutableSequence", "Sequence", "MutableMapping", "Mapping", "Iterable",
                 "Callable"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    # Plain Python types are exactly what the removed aliases used to be.
    if "float" not in np.__dict__:
        np.float = float  # type: ignore[attr-defined]
    if "int" not in np.__dict__:
        np.int = int  # type: ignore[attr-defined]


def _import_madmom() -> dict[str, Any]:
    """Import the madmom pieces we use (after the compatibility shim); raises on any failure."""
    _apply_madmom_compat()
    # Import-time noise (pkg_resources, old NumPy idioms) is dropped here; later warnings raised
    # from madmom's own modules by a process-wide filter, which unlike catch_warnings is safe when
    # beats are tracked on a worker thread. NumPy floating-point warnings are kept out with
    # np.errstate where madmom code runs.
    warnings.filterwarnings("ignore", module=r"madmom(\.|$)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from madmom.audio.filters import LogarithmicFilterbank
        from madmom.audio.stft import fft_frequencies
        from madmom.features.downbeats import DBNDownBeatTrackingProcessor
        from madmom.ml.nn import NeuralNetworkEnsemble
        from madmom.models import DOWNBEATS_BLSTM
    return dict(locals())


#: (frame size in samples at 44.1 kHz, filter bands per octave) of the three spectrogram
#: resolutions the downbeat networks read, as in madmom's RNNDownBeatProcessor.
_RESOLUTIONS = ((1024, 3), (2048, 6), (4096, 12))
#: STFT frames processed at once: bounds the temporary frame and spectrum matrices (~70 MB).
_STFT_BLOCK = 2048


class _MadmomPipeline:
    """Features, one downbeat BLSTM and the bar DBN, built once and reused.

    madmom's network layers keep recurrent state on the instance, so calls are serialised with
    ``lock``.
    """

    def __init__(self, mm: dict[str, Any]) -> None:
        # Log-filtered spectrogram filterbanks, madmom's own (fmin 30 Hz, fmax 17 kHz, area-1
        # filters), one per resolution; (n_fft_bins, n_bands) float32 each.
        self.filterbanks = []
        for frame_size, bands in _RESOLUTIONS:
            freqs = mm["fft_frequencies"](frame_size // 2, MADMOM_RATE)
            fb = mm["LogarithmicFilterbank"](freqs, num_bands=bands, fmin=30, fmax=17000,
                                             norm_filters=True, unique_filters=True)
            self.filterbanks.append(np.asarray(fb, dtype=np.float32))
        models = mm["DOWNBEATS_BLSTM"]
        if len(models) <= NETWORK_INDEX:
            raise ImportError("madmom's downbeat models are missing from the installation")
        self.network = mm["NeuralNetworkEnsemble"].load([models[NETWORK_INDEX]])
        # Only the HMMs of this processor are used (see _decode_bars); num_threads=1 avoids a
        # multiprocessing pool.
        self.dbn = mm["DBNDownBeatTrackingProcessor"](beats_per_bar=list(BEATS_PER_BAR), fps=FPS,
                                                      num_threads=1)
        self.lock = threading.Lock()

    def features(self, signal) -> np.ndarray:
        """The downbeat networks' input for mono float32 audio at 44.1 kHz: an array, or a
        source read piece by piece (``size`` samples, ``[lo:hi]`` slices asked for in
        increasing order within each of three passes; see :func:`track_beats_source_iter`).

        Returns float32 (n_frames, 314), n_frames = ceil(n_samples / 441): for each resolution
        the log10(1 + filtered magnitude) spectrogram and its positive difference, in madmom's
        order. Numerically the same as madmom's RNNDownBeatProcessor pre-processing (checked in
        the tests), but madmom runs one FFT per frame in Python, which made features cost more
        than the network; here the FFTs are batched.
        """
        import scipy.fft

        if isinstance(signal, (np.ndarray, list, tuple)):  # else a source, read as it goes
            signal = np.asarray(signal, dtype=np.float32).reshape(-1)
        hop = MADMOM_RATE // FPS
        n_frames = -(-signal.size // hop)
        # Written straight into the output, and each block of frames cut from the signal with its
        # own zero padding: a 60-minute song's features are 0.45 GB, and a padded copy of the
        # signal per resolution plus a stacked copy of the features would add 1.1 GB.
        out = np.zeros((n_frames, 2 * sum(fb.shape[1] for fb in self.filterbanks)),
                       dtype=np.float32)
        column = 0
        for (frame_size, _), fb in zip(_RESOLUTIONS, self.filterbanks):
            half, bands = frame_size // 2, fb.shape[1]
            window = np.hanning(frame_size)
            window32 = window.astype(np.float32)
            spec = out[:, column:column + bands]
            for start in range(0, n_frames, _STFT_BLOCK):
                stop = min(start + _STFT_BLOCK, n_frames)
                # Frame i is centred on sample i * hop, zero-padded beyond both ends.
                first = start * hop - half
                piece = np.zeros((stop - 1 - start) * hop + frame_size, dtype=np.float32)
                lo, hi = max(first, 0), min(first + piece.size, signal.size)
                if hi > lo:
                    piece[lo - first:hi - first] = signal[lo:hi]
                frames = np.lib.stride_tricks.sliding_window_view(piece, frame_size)[::hop]
                # Single precision throughout: after the log the features differ from madmom's
                # float64 FFT by ~1e-6, and it is about twice as fast.
                block = scipy.fft.rfft(frames[:stop - start] * window32, axis=1)
                spec[start:stop] = np.abs(block[:, :half]) @ fb
            np.log10(spec + 1.0, out=spec)
            # Difference to the frame whose window overlaps this one by about half (madmom's
            # diff_ratio 0.5): the lag is the distance from the window centre to where the Hann
            # window first exceeds half its peak, in hops.
            rise = int(np.argmax(window > 0.5 * window.max()))
            lag = max(1, int(round((frame_size / 2 - rise) / hop)))
            diff = out[:, column + bands:column + 2 * bands]
            np.maximum(spec[lag:] - spec[:-lag], 0.0, out=diff[lag:])
            column += 2 * bands
        return out

    def activations(self, signal) -> np.ndarray:
        """Beat and downbeat probabilities, float32 shape (n_frames, 2), 100 frames per second."""
        feats = self.features(signal)
        with np.errstate(all="ignore"):
            out = self.network(feats)
        # The network outputs (no beat, beat, downbeat); the first column is redundant.
        return np.asarray(out, dtype=np.float32)[:, 1:]


def _get_madmom() -> _MadmomPipeline | None:
    """The shared madmom pipeline, built on first use; None if madmom is unusable.

    A failure is remembered for the rest of the process (no repeated half-imports) and reported
    with one warning.
    """
    global _madmom, _madmom_failed
    with _lock:
        if _madmom is not None or _madmom_failed:
            return _madmom
        try:
            _madmom = _MadmomPipeline(_import_madmom())
        except Exception as exc:  # ImportError, or anything the shim or model loading throws
            _madmom_failed = True
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            warnings.warn(f"madmom is unavailable ({reason}); beat tracking falls back to "
                          "librosa, without downbeats", RuntimeWarning, stacklevel=3)
        return _madmom


# --------------------------------------------------------------------------------------------
# decoding


def _decode_bars(dbn: Any, activations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run the bar-pointer HMMs of ``dbn`` on (n_frames, 2) activations.

    Returns (beat_frames, beat_numbers): int arrays of the same length; beat_numbers count from 1
    at each downbeat. Replaces ``DBNDownBeatTrackingProcessor.process``, which breaks on NumPy 2.
    """
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    # Decode only the span where anything happens: leading/trailing silence would otherwise be
    # filled with beats the HMM has to place somewhere.
    active = np.flatnonzero((activations >= dbn.threshold).any(axis=1))
    if active.size == 0:
        return empty
    offset = int(active[0])
    acts = np.ascontiguousarray(activations[offset:int(active[-1]) + 1], dtype=np.float32)
    if acts.shape[0] < 2:
        return empty

    best_path, best_logp, best_hmm = None, -np.inf, None
    for hmm in dbn.hmms:
        with np.errstate(all="ignore"):  # log(0) of impossible states is expected
            path, log_prob = hmm.viterbi(acts)
        if len(path) and float(log_prob) > best_logp:
            best_path, best_logp, best_hmm = np.asarray(path), float(log_prob), hmm
    if best_hmm is None:
        return empty

    space = best_hmm.transition_model.state_space
    numbers = space.state_positions[best_path].astype(np.int64) + 1
    # States whose observation pointer is >= 1 belong to the short "beat" window at the start of
    # each beat period. Each run of such frames holds one beat; place it on the strongest
    # activation inside the run, which is sharper than the state boundary itself.
    in_beat = (best_hmm.observation_model.pointers[best_path] >= 1).astype(np.int8)
    edges = np.diff(np.concatenate(([0], in_beat, [0])))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    strength = acts.max(axis=1)
    frames = np.array([s + int(np.argmax(strength[s:e])) for s, e in zip(starts, stops)],
                      dtype=np.int64)
    if frames.size == 0:
        return empty
    return frames + offset, numbers[frames]


def _is_empty_input(mono: np.ndarray, sample_rate: int) -> bool:
    return (mono.size < MIN_SECONDS * sample_rate
            or not np.isfinite(mono).all()
            or float(np.max(np.abs(mono))) <= SILENCE_LEVEL)


def _windows(n_frames: int) -> list[tuple[int, int, int, int]]:
    """Split ``n_frames`` into decoding windows: (start, stop, keep_start, keep_stop) in frames.

    The Viterbi back-pointers take n_frames x n_states x 4 bytes (about 1.4 GB for 4 minutes with
    the 3/4 bar model, and time grows faster than linearly), so long audio is decoded in windows
    of about a minute. Each window keeps only the beats of its middle part ("keep" span); the
    margins on both sides give the HMM context so neighbouring windows agree at the seams.
    """
    window, margin = int(WINDOW_SECONDS * FPS), int(WINDOW_MARGIN_SECONDS * FPS)
    if n_frames <= window + 2 * margin:
        return [(0, n_frames, 0, n_frames)]
    n_windows = int(np.ceil(n_frames / window))
    bounds = np.linspace(0, n_frames, n_windows + 1).round().astype(int)
    return [(max(0, a - margin), min(n_frames, b + margin), int(a), int(b))
            for a, b in zip(bounds[:-1], bounds[1:])]


def _seam_mask(frames: np.ndarray, keep_start: int, keep_stop: int, last_kept: float) -> np.ndarray:
    """Which beats (sorted int frames) of one window to keep when stitching windows together.

    A window owns its "keep" span. Near a seam the two windows may place the same beat a frame
    apart on either side, which would double or lose it; so the span is widened by half a beat
    period at its start, and any beat within half a period of the last beat already kept
    (``last_kept``, a frame number or -inf) is taken to be that beat.
    """
    half = 0.5 * float(np.median(np.diff(frames))) if frames.size > 1 else 0.0
    return ((frames >= keep_start - half) & (frames < keep_stop)
            & (frames > last_kept + half))


def _track_madmom(pipe: _MadmomPipeline, signal) -> Generator[Progress, None, BeatGrid]:
    """Beats of ``signal``, mono at :data:`MADMOM_RATE` (an array or a source, as
    :meth:`_MadmomPipeline.features` reads it)."""
    yield Progress(STAGE, 0.05, "activations")
    with pipe.lock:
        acts = pipe.activations(signal)
    # Progress after the network: features + network take a bit more than half the time.
    done, share = 0.55, 0.45
    yield Progress(STAGE, done, "bars")
    windows = _windows(acts.shape[0])
    kept_frames, kept_numbers, last_kept = [], [], -np.inf
    for k, (start, stop, keep_start, keep_stop) in enumerate(windows):
        frames, numbers = _decode_bars(pipe.dbn, acts[start:stop])
        frames = frames + start
        keep = _seam_mask(frames, keep_start, keep_stop, last_kept)
        if keep.any():
            kept_frames.append(frames[keep])
            kept_numbers.append(numbers[keep])
            last_kept = float(frames[keep][-1])
        yield Progress(STAGE, done + share * (k + 1) / len(windows), "bars")
    frames = np.concatenate(kept_frames) if kept_frames else np.zeros(0, dtype=np.int64)
    numbers = np.concatenate(kept_numbers) if kept_numbers else np.zeros(0, dtype=np.int64)
    beats = frames / float(FPS)
    return BeatGrid(beats, beats[numbers == 1], "madmom")


def _track_librosa(mono: np.ndarray, sample_rate: int) -> Generator[Progress, None, BeatGrid]:
    import librosa

    signal = resample(mono, sample_rate, LIBROSA_RATE)
    yield Progress(STAGE, 0.3, "librosa")
    _, beats = librosa.beat.beat_track(y=signal, sr=LIBROSA_RATE, units="time")
    return BeatGrid(np.asarray(beats, dtype=np.float64), np.zeros(0), "librosa")


# --------------------------------------------------------------------------------------------
# public API


def track_beats_iter(samples: np.ndarray, sample_rate: int) -> Generator[Progress, None, BeatGrid]:
    """Track beats and downbeats, yielding a few ``Progress("beats", fraction)`` reports.

    samples : float32 audio, shape (n_samples,) or (n_channels, n_samples), any sample rate;
        channels are averaged and the signal is resampled to what the tracker needs
    sample_rate : Hz
    Returns a :class:`BeatGrid` (``StopIteration.value``): empty for silence (peak <= -80 dBFS),
    audio shorter than ``MIN_SECONDS``, or non-finite samples.
    """
    yield Progress(STAGE, 0.0)
    mono, sample_rate = to_mono(samples), int(sample_rate)
    return (yield from _track_iter(_is_empty_input(mono, sample_rate),
                                   lambda: resample(mono, sample_rate, MADMOM_RATE),
                                   lambda: (mono, sample_rate)))


def track_beats_source_iter(signal, peak: float) -> Generator[Progress, None, BeatGrid]:
    """:func:`track_beats_iter` for audio too long to hold (``isolde separate`` on an hour).

    signal : mono float32 at :data:`MADMOM_RATE`, ``signal.size`` samples, read piece by piece:
        ``signal[lo:hi]`` returns those samples, asked for in increasing order in each of three
        passes (:class:`core.separation.stream.FileMono`, the file read as it goes); with
        madmom the whole signal is never held, only its features (0.45 GB for an hour)
    peak : the largest absolute sample (silence gets an empty grid); the samples must be finite
    """
    yield Progress(STAGE, 0.0)
    empty = signal.size < MIN_SECONDS * MADMOM_RATE or not peak > SILENCE_LEVEL
    return (yield from _track_iter(empty, lambda: signal,
                                   lambda: (signal[0:signal.size], MADMOM_RATE)))


def _track_iter(empty: bool, madmom_signal, librosa_input) -> Generator[Progress, None, BeatGrid]:
    """madmom's beats of ``madmom_signal()`` (mono at :data:`MADMOM_RATE`), or librosa's of
    ``librosa_input()`` (mono, rate) without madmom; an empty grid when ``empty``."""
    # Choose the tracker first so that even an empty grid names the one that would have run.
    pipe = _get_madmom()
    if empty:
        yield Progress(STAGE, 1.0)
        return _empty_grid("madmom" if pipe is not None else "librosa")
    if pipe is not None:
        grid = yield from _track_madmom(pipe, madmom_signal())
    else:
        grid = yield from _track_librosa(*librosa_input())
    yield Progress(STAGE, 1.0)
    return grid


def track_beats(samples: np.ndarray, sample_rate: int) -> BeatGrid:
    """Track beats and downbeats of ``samples`` (see :func:`track_beats_iter`) without progress."""
    return run(track_beats_iter(samples, sample_rate))


def write_beats_csv(path: str | os.PathLike, grid: BeatGrid) -> None:
    """Write the beat times as CSV: a header ``time``, then one time in seconds per row (6 decimals).

    Written atomically: a reader sees the old file or the complete new one.
    """
    lines = ["time"] + [f"{t:.6f}" for t in grid.beat_times]
    write_text_atomic(path, "\n".join(lines) + "\n")
