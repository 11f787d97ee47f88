"""Where training crops come from: the ``--source`` specs, and the crops drawn from their tracks.

:func:`open_source` turns ``KIND:ARG`` into a training and a validation dataset, :func:`pool_track`
brings a track to the model rate, and :class:`CropSampler` draws the random training crops
(remixes, gains, production chains, pitch shifts) with a ``torch.Generator``, so that a resumed
run draws the same crops. Used by :mod:`.train`, :mod:`.evaluate` and :mod:`.simulate`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..audio import spectral
from ..audio.io import resample
from ..errors import IsoldeError
from ..music.pitch import interpolate_f0
from ..progress import Progress


def open_source(spec: str):
    """``KIND:ARG`` -> (train Dataset or None, validation Dataset or None).

    ``produced:PATH`` (:mod:`core.training.data.produced`) is a validation set; the same folders
    as ``produced-train:PATH`` are a training set instead (real produced stems, drawn at the run's
    ``produced_share``), with no validation part: keep the excerpts that choose checkpoints apart.
    ``pairs:PATH`` (:mod:`core.training.data.pairs`, songs with their instrumental versions) and
    ``unlabelled:PATH`` (:mod:`core.training.data.unlabelled`, songs without stems, for the
    adversarial term only) are training sets only: their validation part is None.
    """
    kind, _, arg = spec.partition(":")
    kind = kind.lower()
    if kind == "mir1k":
        from .data.mir1k import MIR1KDataset
        return MIR1KDataset(arg).default_split()
    if kind == "mir1k-songs":
        from .data.mir1k import MIR1KSongs
        return MIR1KSongs(arg).default_split()
    if kind == "musdb":
        from .data.musdb import MusdbDataset
        return MusdbDataset(arg, subset="train"), MusdbDataset(arg, subset="test")
    if kind == "medleydb":
        from .data.medleydb import MedleyDBDataset
        return MedleyDBDataset(arg), None
    if kind == "synthetic":
        n = _count(spec, arg, 200)
        from .data.songs.synthetic import SyntheticDataset
        return SyntheticDataset(n, seed=1), None
    if kind == "rendered":
        n = _count(spec, arg, 100)
        from .data.songs.rendered import RenderedSongs
        return RenderedSongs(n, seed=1), None
    if kind == "pairs":
        from .data.pairs import InstrumentalPairs
        return InstrumentalPairs(arg), None
    if kind == "unlabelled":
        from .data.unlabelled import UnlabelledSongs
        return UnlabelledSongs(arg), None
    if kind in ("produced", "pro", "produced-train"):
        from .data.produced import ProducedExcerpts
        excerpts = ProducedExcerpts(arg)
        return (excerpts, None) if kind == "produced-train" else (None, excerpts)
    raise IsoldeError(f"Unknown data source {spec!r}: use mir1k:PATH, mir1k-songs:PATH (its "
                      "clips joined into songs), musdb:PATH, medleydb:PATH, "
                      "pairs:PATH (songs with their instrumentals), unlabelled:PATH (songs "
                      "without stems), produced:PATH (validation), produced-train:PATH (real "
                      "produced stems to train on), synthetic:N or "
                      "rendered:N")


def _count(spec: str, text: str, default: int) -> int:
    """The N of ``synthetic:N`` / ``rendered:N``: a positive whole number."""
    if not text:
        return default
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n <= 0:
        raise IsoldeError(f"Bad data source {spec!r}: N must be a positive whole number")
    return n


@dataclass
class PooledTrack:
    """A training track at the model rate: stems (n_samples,) and F0 per model frame (Hz).
    ``produced``: the stems of a real produced song (``produced-train:``), mixed and mastered
    already."""

    name: str
    vocals: np.ndarray
    accompaniment: np.ndarray
    f0_frames: np.ndarray
    produced: bool = False


def jittered_level_gain(mixture: np.ndarray, jitter_db: float, uniform: float) -> float:
    """The gain that brings ``mixture`` (samples at the model rate) to the networks' reference
    level, give or take ``jitter_db``: ``uniform`` in [0, 1) picks where in that range."""
    return spectral.level_gain(spectral.model_magnitude(mixture),
                               spectral.REFERENCE_LEVEL_DBFS + (uniform * 2 - 1) * jitter_db)


def pool_track(track) -> PooledTrack:
    rate = spectral.MODEL_SAMPLE_RATE
    vocals = resample(track.vocals, track.sample_rate, rate)
    accompaniment = resample(track.accompaniment, track.sample_rate, rate)
    n_frames = spectral.n_frames_for(len(vocals))
    f0 = interpolate_f0(track.f0_times, track.f0_hz, spectral.frame_times(n_frames))
    return PooledTrack(track.name, vocals, accompaniment, f0,
                       produced=track.meta.get("dataset") == "produced")


class CropSampler:
    """Random training crops from a pool of tracks, drawn with a torch.Generator (resumable).

    Each crop: a voice from a track that has one (maybe transposed by resampling, its F0 scaled
    to match, and maybe sent through a random vocal production chain whose reverb and delay tails
    belong to the voice, as in MUSDB18's stems), over its own or another track's accompaniment,
    or, with probability ``accompaniment_only_share``, that of a song without a voice (maybe
    through a random bus chain), each at a random gain. A share ``produced_share`` of the crops
    come from real produced songs (``produced-train:``) instead: a produced voice over its own or
    (``remix_probability``) another produced song's accompaniment, transposed at most, with no
    production chain. A share ``produced_accompaniment_share`` of the other crops put their voice
    (through its chain as usual) over a crop of a real produced song's accompaniment instead,
    with no bus chain: more pairs of a hand-labelled voice and a real record's accompaniment
    than the produced songs give alone (0.3 scored 0.26 dB lower in cross-validation: see
    ``docs/research-notes.md``; off by default). Then the mixture (and the voice with it) is
    brought to the networks' reference level give or take ``level_jitter_db``, as separation
    does for a whole song (:func:`core.audio.spectral.level_gain`). ``config`` is the run's
    :class:`~.train.TrainConfig`: its crop length and augmentation settings.
    """

    def __init__(self, pool: list[PooledTrack], config, generator: torch.Generator):
        long_enough = [t for t in pool if len(t.vocals) > config.crop_frames * spectral.HOP]
        # Songs without a voice (rendered accompaniments) only ever give accompaniment.
        self.pool = [t for t in long_enough if np.any(t.vocals)]
        self.accompaniment_pool = [t for t in long_enough if not np.any(t.vocals)]
        # Real produced songs come at their own share when one is set, and only then.
        self.produced_pool: list[PooledTrack] = []
        if config.produced_share > 0 or config.produced_accompaniment_share > 0:
            self.produced_pool = [t for t in self.pool if t.produced]
            self.pool = [t for t in self.pool if not t.produced] or self.produced_pool
        if not self.pool:
            raise IsoldeError("No training track with a voice is long enough for one training crop")
        self.config = config
        self.generator = generator
        self.n_samples = (config.crop_frames - 1) * spectral.HOP

    def _uniform(self) -> float:
        return float(torch.rand((), generator=self.generator))

    def _numpy_rng(self) -> np.random.Generator:
        return np.random.default_rng(int(torch.randint(0, 2 ** 31 - 1, (),
                                                       generator=self.generator)))

    def _pick(self, tracks: list[PooledTrack]) -> PooledTrack:
        return tracks[int(torch.randint(0, len(tracks), (), generator=self.generator))]

    def _other_accompaniment(self, tracks: list[PooledTrack]) -> np.ndarray:
        """The accompaniment of a random crop of a random track of ``tracks``, (n_samples,); a
        real produced song's is transposed at ``accompaniment_shift_probability`` (it sits under
        another voice, whose key it need not keep)."""
        other = self._pick(tracks)
        _, start = self._crop(other)
        p = self.config.accompaniment_shift_probability
        if not (other.produced and p > 0 and self._uniform() < p):
            return other.accompaniment[start:start + self.n_samples]
        import soxr

        rate, n = spectral.MODEL_SAMPLE_RATE, self.n_samples
        factor = 2.0 ** ((self._uniform() * 2 - 1) * self.config.max_pitch_shift / 12)
        segment = np.zeros(int(math.ceil(n * factor)) + 8, dtype=np.float32)
        available = other.accompaniment[start:start + len(segment)]
        segment[:len(available)] = available
        # Read as if recorded at rate * factor: factor times higher and 1/factor as long.
        shifted = soxr.resample(segment, rate * factor, rate).astype(np.float32)[:n]
        return np.pad(shifted, (0, n - len(shifted)))

    def _crop(self, track: PooledTrack) -> tuple[int, int]:
        frames = (len(track.vocals) - self.n_samples) // spectral.HOP
        k = int(torch.randint(0, max(frames, 1), (), generator=self.generator))
        return k, k * spectral.HOP

    def _voice(self, track: PooledTrack, k: int, start: int) -> tuple[np.ndarray, np.ndarray]:
        """The crop's voice (n_samples,) and F0 per frame (crop_frames,), augmented (a produced
        song's voice is transposed at most: it went through its own vocal chain already)."""
        cfg = self.config
        n, rate = self.n_samples, spectral.MODEL_SAMPLE_RATE
        shift = cfg.pitch_shift_probability > 0 and self._uniform() < cfg.pitch_shift_probability
        factor = 2.0 ** ((self._uniform() * 2 - 1) * cfg.max_pitch_shift / 12) if shift else 1.0
        chain = (not track.produced and cfg.vocal_chain_probability > 0
                 and self._uniform() < cfg.vocal_chain_probability)
        if factor == 1.0 and not chain:
            return (track.vocals[start:start + n],
                    track.f0_frames[k:k + cfg.crop_frames])
        pre = min(start, rate) if chain else 0  # up to 1 s feeds the reverb and delay tails
        stop = start + int(math.ceil(n * factor)) + 8
        segment = np.zeros(pre + stop - start, dtype=np.float32)
        available = track.vocals[start - pre:stop]
        segment[:len(available)] = available
        if factor != 1.0:
            import soxr

            # Read as if recorded at rate * factor: factor times higher and 1/factor as long.
            segment = soxr.resample(segment, rate * factor, rate).astype(np.float32)
            pre = int(round(pre / factor))
        segment = segment[:pre + n]
        if len(segment) < pre + n:
            segment = np.pad(segment, (0, pre + n - len(segment)))
        # Frame j of the transposed crop shows what the original had at frame k + j * factor.
        source = np.round(k + np.arange(cfg.crop_frames) * factor).astype(np.int64)
        inside = source < len(track.f0_frames)
        f0 = np.where(inside, track.f0_frames[np.minimum(source, len(track.f0_frames) - 1)], 0.0)
        f0 = f0 * factor
        if chain:
            from .data.production import vocal_chain

            voice = vocal_chain(segment, rate, self._numpy_rng(), pre_roll=pre)
        else:
            voice = segment[pre:]
        return voice, f0

    def _maybe_eq(self, stem: np.ndarray) -> np.ndarray:
        """A real produced stem through a random EQ at ``produced_eq_probability``."""
        if self._uniform() >= self.config.produced_eq_probability:
            return stem
        from .data.production import stem_eq

        return stem_eq(stem, spectral.MODEL_SAMPLE_RATE, self._numpy_rng())

    def batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(mixture, vocals) samples (batch, n_samples) and F0 (batch, crop_frames) in Hz."""
        cfg = self.config
        mixtures, voices, f0s = [], [], []
        for _ in range(cfg.batch_size):
            from_produced = bool(self.produced_pool) and self._uniform() < cfg.produced_share
            voices_pool = self.produced_pool if from_produced else self.pool
            track = self._pick(voices_pool)
            produced = track.produced  # mixed already: no production chain on either stem
            k, start = self._crop(track)
            vocals, f0 = self._voice(track, k, start)
            # Guarded so that runs without the option draw exactly the crops they always drew.
            over_produced = bool(not produced and self.produced_pool
                             and cfg.produced_accompaniment_share > 0
                             and self._uniform() < cfg.produced_accompaniment_share)
            if over_produced:
                accompaniment = self._other_accompaniment(self.produced_pool)
            elif (not produced and self.accompaniment_pool
                    and self._uniform() < cfg.accompaniment_only_share):
                accompaniment = self._other_accompaniment(self.accompaniment_pool)
            elif self._uniform() < cfg.remix_probability:
                accompaniment = self._other_accompaniment(voices_pool)
            else:
                accompaniment = track.accompaniment[start:start + self.n_samples]
            if (not produced and not over_produced and cfg.accompaniment_bus_probability > 0
                    and self._uniform() < cfg.accompaniment_bus_probability):
                from .data.production import accompaniment_bus

                accompaniment = accompaniment_bus(accompaniment, spectral.MODEL_SAMPLE_RATE,
                                                  self._numpy_rng())
            if produced and cfg.produced_eq_probability > 0:
                vocals, accompaniment = (self._maybe_eq(vocals), self._maybe_eq(accompaniment))
            vocal_gain = 10 ** ((cfg.vocal_gain_min_db + self._uniform()
                                 * (cfg.vocal_gain_max_db - cfg.vocal_gain_min_db)) / 20)
            accompaniment_gain = 10 ** ((self._uniform() * 12 - 6) / 20)
            if self._uniform() < cfg.silence_probability:
                vocal_gain, f0 = 0.0, np.zeros_like(f0)
            vocals = vocals * vocal_gain
            mixture = vocals + accompaniment * accompaniment_gain
            if cfg.normalize_level:
                scale = jittered_level_gain(mixture, cfg.level_jitter_db, self._uniform())
            else:
                peak = max(float(np.abs(mixture).max()), 1e-6)
                scale = min(1.0, 0.99 / peak)
            mixtures.append(mixture * scale)
            voices.append(vocals * scale)
            f0s.append(f0)
        return (torch.from_numpy(np.stack(mixtures)).float(),
                torch.from_numpy(np.stack(voices)).float(),
                torch.from_numpy(np.stack(f0s)).float())


def _load_track(dataset, index: int):
    return pool_track(dataset.load(index))


def load_pool(train_sets: list, workers: int):
    """Every training track at the model rate (yields progress; returns the list). With
    ``workers`` > 0 the tracks load (and generated songs render) in that many processes."""
    jobs = [(d, i) for d in train_sets for i in range(len(d))]
    pool: list[PooledTrack] = []
    if workers <= 0 or not jobs:
        for d, i in jobs:
            pool.append(_load_track(d, i))
            if len(pool) % 20 == 0:
                yield Progress("loading data", 0.0, f"{len(pool)}/{len(jobs)} tracks")
        return pool
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as executor:
        for track in executor.map(_load_track, *zip(*jobs), chunksize=4):
            pool.append(track)
            if len(pool) % 20 == 0:
                yield Progress("loading data", 0.0, f"{len(pool)}/{len(jobs)} tracks")
    return pool


class _CropStream(torch.utils.data.IterableDataset):
    """Endless training batches from a :class:`CropSampler` in each DataLoader worker, each
    worker with its own generator (``first_seed`` + worker number)."""

    def __init__(self, pool: list, config, first_seed: int):
        self.pool, self.config, self.first_seed = pool, config, first_seed

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker = info.id if info is not None else 0
        generator = torch.Generator().manual_seed(self.first_seed + 7919 * (worker + 1))
        sampler = CropSampler(self.pool, self.config, generator)
        while True:
            yield sampler.batch()


def crop_batches(pool: list, config, generator: torch.Generator, first_seed: int):
    """An endless iterator of (mixture, vocals, f0) training batches.

    Without data workers the crops come from the run's own generator, saved in the checkpoint,
    so that a resumed run draws the same crops as an unbroken one. With ``data_workers`` > 0 they
    are drawn in that many processes beside training (what keeps a GPU busy: a batch of 32 crops
    with the production chains takes about 0.2 s of one CPU core), each seeded from
    ``first_seed`` (the step included), so a resumed run draws new crops instead."""
    if config.data_workers <= 0:
        sampler = CropSampler(pool, config, generator)
        while True:
            yield sampler.batch()
    loader = torch.utils.data.DataLoader(_CropStream(pool, config, first_seed), batch_size=None,
                                         num_workers=config.data_workers, prefetch_factor=4,
                                         persistent_workers=True)
    yield from loader
