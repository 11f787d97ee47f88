"""Tiny on-disk datasets in the layouts Isolde reads, written by the tests themselves."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from core.music.pitch import hz_to_midi


def write_fake_mir1k(root: Path, singers=("abjones", "zoe"), clips_per_singer: int = 2,
                     seconds: float = 3.0, seed: int = 0) -> Path:
    """MIR-1K flat layout: audio/<singer>_<song>_<part>.flac (left accompaniment, right voice,
    16 kHz) and pitch/<clip>.pv (MIDI per 20 ms frame, frame i centred at 0.02 (i + 1) s)."""
    rng = np.random.default_rng(seed)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    (root / "pitch").mkdir(exist_ok=True)
    rate = 16000
    n = int(seconds * rate)
    t = np.arange(n) / rate
    for s, singer in enumerate(singers):
        for c in range(clips_per_singer):
            base = 150.0 * 2 ** (rng.integers(0, 12) / 12)
            f0 = base * 2 ** (np.floor(t * 2) % 3 * 2 / 12)
            voiced = (t % 1.0) < 0.8
            phase = 2 * np.pi * np.cumsum(f0) / rate
            voice = 0.2 * sum(np.sin(h * phase) / h for h in range(1, 10)) * voiced
            accompaniment = 0.1 * np.sin(2 * np.pi * 82.4 * t) + 0.02 * rng.standard_normal(n)
            name = f"{singer}_{c + 1}_0{s + 1}"
            sf.write(root / "audio" / f"{name}.flac",
                     np.stack([accompaniment, voice], axis=1).astype(np.float32), rate)
            frame_t = 0.02 * (np.arange(int(seconds / 0.02) - 1) + 1)
            idx = np.minimum((frame_t * rate).astype(int), n - 1)
            midi = np.where(voiced[idx], hz_to_midi(f0[idx]), 0.0)
            np.savetxt(root / "pitch" / f"{name}.pv", midi, fmt="%.4f")
    return root


def write_fake_produced(root: Path, names=("Artist_-_Song", "Other_-_Tune"), seconds: float = 2.0,
                        rate: int = 44100, channels: int = 2, seed: int = 0) -> Path:
    """Produced-excerpt layout: <name>/mix.flac, vocals.flac, accompaniment.flac (stereo,
    mix = vocals + accompaniment) and f0_ref.csv (``time,f0``, 10 ms hop, 0 = unvoiced)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    for k, name in enumerate(names):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        f0 = 200.0 * 2 ** (k / 12) * np.ones(n)
        voiced = (t % 1.0) < 0.7
        phase = 2 * np.pi * np.cumsum(f0) / rate
        voice = 0.1 * sum(np.sin(h * phase) / h for h in range(1, 8)) * voiced
        accompaniment = 0.05 * rng.standard_normal((channels, n))
        vocals = np.stack([voice] * channels)
        sf.write(folder / "vocals.flac", vocals.T.astype(np.float32), rate)
        sf.write(folder / "accompaniment.flac", accompaniment.T.astype(np.float32), rate)
        sf.write(folder / "mix.flac", (vocals + accompaniment).T.astype(np.float32), rate)
        frames = np.arange(0, seconds, 0.01)
        with open(folder / "f0_ref.csv", "w") as handle:
            handle.write("time,f0\n")
            for time, on in zip(frames, (frames % 1.0) < 0.7):
                handle.write(f"{time:.4f},{f0[0] if on else 0.0:.4f}\n")
    return root
