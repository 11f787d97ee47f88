"""Synthetic multitrack songs whose vocal F0 is known exactly.

Every song is generated from a random generator alone (no samples, no files): a singing voice over
an accompaniment of drums, bass, chords, pads and, most of the time, *distractors*: lead instruments
(guitar, sax, violin, flute, synth, clarinet) that play melodies in the singer's range, in the
voice's rests and sometimes over it. Those are the classic error a melody tracker makes and the user
of Isolde has to correct, so the model must learn that they belong to the accompaniment.

The voice
    Notes on a scale at the song's tempo, in phrases separated by rests with breaths before them.
    The source is a band-limited glottal-like pulse train (all harmonics up to Nyquist, in closed
    form, so there is no aliasing) shaped per STFT frame by a spectral tilt and five vowel formants
    that move from vowel to vowel (diphthongs, nasal murmurs, formant tuning on high notes).
    Vibrato of 5-7 Hz whose depth varies and which starts late in each note, portamento between
    legato notes, scoops, overshoots and falls, slow drift and jitter, aspiration noise, fricative
    and plosive consonants at note onsets (unvoiced: F0 = 0 there), and a register that is either
    male or female (F0 about 90-900 Hz).

The F0
    ``Track.f0_hz[k]`` is the instantaneous F0 the synthesis used at ``f0_times[k] = k * 10 ms``,
    exactly: the oscillator's phase is the running sum of that same curve. It is 0 in rests, during
    unvoiced consonants and breaths, and where the voiced amplitude is below
    :data:`.voice.VOICED_THRESHOLD` of its full level (the first and last few ms of each voiced
    stretch). So the vocal stem is not silent everywhere f0 = 0: consonants, breaths and (in half
    of the songs) the reverb tail of the voice are there, as in real vocal stems.

The parts
    The voice is made in :mod:`.voice`, the accompaniment and the lead instruments in
    :mod:`.instruments`, the key, tempo and chords they share in :mod:`.harmony`, from the
    oscillators and filters of :mod:`.dsp`. :func:`generate_track` here draws the parts and mixes
    them: each accompaniment part at a random level, a shared reverb in half of the songs, the
    voice at -6 to +6 dB against the accompaniment, the whole scaled to a random peak below 1.

Speed: everything is vectorised numpy/scipy (the harmonic series is summed in closed form, dark
accompaniment parts are rendered at a quarter of the rate and upsampled); an 8 s song at 44.1 kHz
takes about 0.2 s of CPU on one core
(``python -m core.training.data.songs.synthetic --benchmark``).
"""
from __future__ import annotations

import time

import numpy as np
from scipy import signal

from ..base import Dataset, Track
from ..pyin_cache import F0_HOP_SECONDS, n_f0_frames
from .dsp import CTRL_RATE, lowpass
from .harmony import make_song
from .instruments import (LEAD_INSTRUMENTS, plan_lead_notes, render_bass, render_chords,
                          render_drums, render_lead, voice_rests)
from .voice import make_singer, render_voice


def _reverb_ir(rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    rt60 = rng.uniform(0.3, 1.4)
    length = int(min(rt60, 1.0) * sample_rate)
    t = np.arange(length) / sample_rate
    ir = rng.standard_normal(length) * np.exp(-6.9 * t / rt60)
    ir = signal.sosfilt(lowpass(float(sample_rate), rng.uniform(3000.0, 8000.0), 1), ir)
    pre = int(rng.uniform(0.01, 0.03) * sample_rate)
    return np.concatenate([np.zeros(pre), ir / np.sqrt(np.sum(ir ** 2))])


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) + 1e-12


def _to_grid(ctrl: np.ndarray, n_f0: int) -> np.ndarray:
    """Control-rate curve -> the 10 ms grid (every 10th control point, exactly)."""
    step = int(round(F0_HOP_SECONDS * CTRL_RATE))
    idx = np.minimum(np.arange(n_f0) * step, len(ctrl) - 1)
    return ctrl[idx].astype(np.float64)


def generate_track(rng: np.random.Generator, seconds: float = 8.0, sample_rate: int = 44100,
                   *, name: str = "synthetic", group: str | None = None) -> Track:
    """One synthetic song.

    rng : the only source of randomness (same generator state -> same song, bit for bit)
    seconds : duration (s); sample_rate : Hz (the STFT and filters adapt to it)
    Returns a :class:`Track`: mono float32 ``vocals`` and ``accompaniment`` of
    ``round(seconds * sample_rate)`` samples, ``f0_times = k * 0.01`` s and ``f0_hz`` the voice's
    exact F0 (0 = unvoiced). ``meta`` holds the song's parameters and, under "distractors", one
    entry per lead line: {"instrument", "role" ("fills" | "counter" | "harmony"), "f0_hz" (on the
    same grid, 0 where it is silent)}.
    """
    sr = int(sample_rate)
    n = int(round(seconds * sr))
    if n < sr // 4:
        raise ValueError(f"seconds must be at least 0.25, got {seconds}")
    n_f0 = n_f0_frames(n, sr)
    song = make_song(rng, seconds)
    singer = make_singer(rng)
    vocals, f0_ctrl, voiced_ctrl, phrases = render_voice(rng, song, singer, seconds, sr, n)
    f0_hz = np.where(_to_grid(voiced_ctrl.astype(float), n_f0) > 0, _to_grid(f0_ctrl, n_f0), 0.0)

    # Accompaniment parts, each normalised to unit RMS, then mixed at random levels (dB).
    parts: dict[str, np.ndarray] = {}
    if rng.random() < 0.85:
        parts["drums"] = render_drums(rng, song, n, sr)
    if rng.random() < 0.9:
        parts["bass"] = render_bass(rng, song, n, sr)
    chord_instruments = ["piano", "guitar", "epiano", "organ"]
    n_chord = 1 if rng.random() < 0.7 else 2
    for inst in rng.choice(chord_instruments, size=n_chord, replace=False):
        parts[str(inst)] = render_chords(rng, song, n, sr, str(inst))
    if rng.random() < 0.5:
        parts["pad"] = render_chords(rng, song, n, sr, "pad")
    levels_db = {"drums": (-3, 3), "bass": (-6, 0), "piano": (-8, -1), "guitar": (-8, -1),
                 "epiano": (-9, -2), "organ": (-10, -3), "pad": (-12, -5), "lead": (-7, 0)}

    distractors = []
    leads = list(rng.permutation(LEAD_INSTRUMENTS))
    # Where the voice actually sings (its notes wander around the singer's centre).
    sung = [nt.cents / 100.0 for p in phrases for nt in p]
    voice_center = float(np.median(sung)) if sung else singer.center
    lead_parts = []
    if rng.random() < 0.8:  # fills in the vocal rests, in the singer's range
        rests = voice_rests(phrases, seconds)
        center = voice_center + float(rng.choice([0, 0, 0, 0, 12, -12, 7, -5]))
        notes = plan_lead_notes(rng, song, rests, center, long_notes=False)
        if notes:
            inst = str(leads.pop())
            audio, f0c = render_lead(rng, notes, inst, n, sr)
            lead_parts.append(audio)
            distractors.append({"instrument": inst, "role": "fills", "f0_hz": _to_grid(f0c, n_f0)})
    if rng.random() < 0.4:  # a second melody over the voice
        inst = str(leads.pop())
        if rng.random() < 0.3:  # harmony: the voice's own notes a third or sixth away
            shift = float(rng.choice([-9, -4, -3, 3, 4, 8, 9]))
            notes = [(nt.start, nt.end, nt.cents + 100 * shift) for p in phrases for nt in p]
            role = "harmony"
        else:
            center = voice_center + float(rng.choice([0, 0, 12, -12, 5]))
            notes = plan_lead_notes(rng, song, [(0.0, seconds)], center, long_notes=True)
            role = "counter"
        if notes:
            audio, f0c = render_lead(rng, notes, inst, n, sr)
            lead_parts.append(audio)
            distractors.append({"instrument": inst, "role": role, "f0_hz": _to_grid(f0c, n_f0)})

    accompaniment = np.zeros(n)
    for key, part in parts.items():
        accompaniment += part * (10.0 ** (rng.uniform(*levels_db[key]) / 20.0) / _rms(part))
    for part in lead_parts:
        # Leads are normalised on their active samples: they may play only a few seconds.
        active = np.abs(part) > 1e-4 * (np.max(np.abs(part)) + 1e-12)
        level = _rms(part[active]) if active.any() else 1.0
        accompaniment += part * (10.0 ** (rng.uniform(*levels_db["lead"]) / 20.0) / level)

    reverb = bool(rng.random() < 0.5)
    if reverb:
        ir = _reverb_ir(rng, sr)
        wet_v, wet_a = 10.0 ** (rng.uniform(-20, -10, size=2) / 20.0)
        vocals = vocals + wet_v * signal.oaconvolve(vocals, ir)[:n]
        accompaniment = accompaniment + wet_a * signal.oaconvolve(accompaniment, ir)[:n]

    ratio_db = float(rng.uniform(-6.0, 6.0))
    if _rms(vocals) > 1e-6:  # a very short song may have no phrase at all
        vocals = vocals * (_rms(accompaniment) / _rms(vocals)) * 10.0 ** (ratio_db / 20.0)
    peak = max(np.max(np.abs(vocals)), np.max(np.abs(accompaniment)),
               np.max(np.abs(vocals + accompaniment)))
    scale = rng.uniform(0.5, 0.95) / peak
    vocals = (vocals * scale).astype(np.float32)
    accompaniment = (accompaniment * scale).astype(np.float32)

    meta = {
        "generator": "isolde-synthetic-1",
        "tempo_bpm": song.tempo,
        "key": int(song.root),
        "mode": song.mode,
        "register": "female" if singer.female else "male",
        "vibrato_rate_hz": singer.vib_rate,
        "vibrato_depth_cents": singer.vib_depth,
        "vocal_to_accompaniment_db": ratio_db,
        "accompaniment_parts": sorted(parts),
        "reverb": reverb,
        "distractors": distractors,
    }
    return Track(name=name, group=group if group is not None else name, vocals=vocals,
                 accompaniment=accompaniment, sample_rate=sr,
                 f0_times=np.arange(n_f0, dtype=np.float64) * F0_HOP_SECONDS, f0_hz=f0_hz,
                 meta=meta)


class SyntheticDataset(Dataset):
    """``n_tracks`` synthetic songs, generated on demand.

    Track i depends only on (seed, i): ``load(i)`` returns the same song every time, on every
    machine with the same numpy. Names are "synthetic_0007"; each song is its own group (there is
    no singer to keep together: every song draws a new voice).
    """

    def __init__(self, n_tracks: int, seconds: float = 8.0, sample_rate: int = 44100,
                 seed: int = 0):
        if n_tracks < 0:
            raise ValueError("n_tracks must be >= 0")
        self.seconds = float(seconds)
        self.sample_rate = int(sample_rate)
        self.seed = int(seed)
        self.names = [f"synthetic_{i:04d}" for i in range(n_tracks)]
        self.groups = list(self.names)

    def load(self, index: int) -> Track:
        if not 0 <= index < len(self.names):
            raise IndexError(f"track {index} out of range (0..{len(self.names) - 1})")
        rng = np.random.default_rng([self.seed, index])
        return generate_track(rng, self.seconds, self.sample_rate, name=self.names[index])


def _benchmark(n: int = 10, seconds: float = 8.0, sample_rate: int = 44100) -> None:
    ds = SyntheticDataset(n, seconds, sample_rate)
    ds.load(0)  # warm caches (filter designs, imports)
    wall, cpu = [], []
    for i in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        ds.load(i)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(f"{n} tracks of {seconds:g} s at {sample_rate} Hz, per track: wall mean "
          f"{np.mean(wall):.3f} s (max {np.max(wall):.3f}), CPU mean {np.mean(cpu):.3f} s "
          f"(max {np.max(cpu):.3f})")


if __name__ == "__main__":  # pragma: no cover
    import argparse

    parser = argparse.ArgumentParser(description="Synthetic song generator")
    parser.add_argument("--benchmark", action="store_true")
    parser.add_argument("--write", metavar="DIR", help="write a few songs as WAV for listening")
    parser.add_argument("-n", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    if args.write:
        from pathlib import Path

        from ....audio.io import save_audio

        out = Path(args.write)
        out.mkdir(parents=True, exist_ok=True)
        ds = SyntheticDataset(args.n, args.seconds)
        for i in range(args.n):
            track = ds.load(i)
            for part, x in (("mix", track.mixture), ("vocals", track.vocals),
                            ("accompaniment", track.accompaniment)):
                save_audio(out / f"{track.name}_{part}.wav", x, track.sample_rate)
    else:
        _benchmark(args.n, args.seconds)
