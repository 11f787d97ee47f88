"""Shared fixtures: tiny models and small songs made by the tests themselves."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
import soundfile as sf
import torch

from core.separation.models import JointModel, ModelConfig

TINY = dict(svs_depth=6, svs_channels=4, svs_max_channels=16, f0_depth=5, f0_channels=4,
            f0_max_channels=8)


def tiny_model(architecture: str = "f0_to_svs", seed: int = 0) -> JointModel:
    """A small untrained model: fast, deterministic, the same code path as the real one."""
    torch.manual_seed(seed)
    return JointModel(ModelConfig(architecture=architecture, **TINY)).eval()


@pytest.fixture
def tiny_model_file(tmp_path):
    from core.separation.models.store import save_model

    return save_model(tiny_model(), tmp_path / "tiny.safetensors")


def synth_song(seconds: float = 3.0, sample_rate: int = 44100, channels: int = 2,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A little song: a harmonic 'voice' gliding between notes over a bass tone and clicks.

    returns (mixture (channels, n), voice (n,), f0 per 10 ms frame (Hz, 0 = rest))
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    notes = 220.0 * 2 ** (np.array([0, 2, 4, 5, 7, 9]) / 12)
    note_index = (t * 2).astype(int) % len(notes)
    f0 = notes[note_index] * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))
    voiced = (t % 0.5) < 0.42
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    voice = sum(np.sin(h * phase) / h for h in range(1, 12)) * voiced * 0.25
    bass = 0.2 * np.sin(2 * np.pi * 55 * t)
    clicks = np.zeros(n)
    for beat in np.arange(0, seconds, 0.5):
        i = int(beat * sample_rate)
        clicks[i:i + 200] += rng.uniform(-0.5, 0.5, len(clicks[i:i + 200]))
    accompaniment = bass + clicks
    mix = voice + accompaniment
    pans = np.linspace(0.8, 1.2, channels)
    mixture = np.stack([mix * p for p in pans]).astype(np.float32) * 0.5
    frame_t = np.arange(0, seconds, 0.01)
    idx = np.minimum((frame_t * sample_rate).astype(int), n - 1)
    return mixture, voice.astype(np.float32), np.where(voiced[idx], f0[idx], 0.0)


@pytest.fixture
def song_file(tmp_path):
    mixture, _, _ = synth_song()
    path = tmp_path / "song.wav"
    sf.write(path, mixture.T, 44100, subtype="PCM_16")
    return path


@pytest.fixture
def opened_session(tmp_path, tiny_model_file, song_file, monkeypatch):
    """A real Session (its settings and recovery copies under tmp_path) with the tiny model and
    ``song_file`` opened, not yet analysed."""
    from core.document.session import Session
    from core.progress import run

    monkeypatch.setenv("ISOLDE_CONFIG_DIR", str(tmp_path / "config"))
    session = Session(recovery_dir=tmp_path / "recovery")
    session.load_model(tiny_model_file)
    run(session.open_iter(song_file))
    return session
