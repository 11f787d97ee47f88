"""Regenerate resources/demo/demo_song.flac: a 24 s synthetic song made by Isolde's own generator.

    .venv/bin/python scripts/make_demo_song.py

A female voice with a flute answering in the rests and a sax counter-melody (the distractors a
user learns to correct), over drums, bass and chords; 44.1 kHz stereo, 16-bit FLAC.
"""
from pathlib import Path

import numpy as np

from core.audio.io import save_audio
from core.training.data.songs.synthetic import generate_track

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    rate = 44100
    track = generate_track(np.random.default_rng([2026, 2]), seconds=24.0, sample_rate=rate,
                           name="demo")
    delay = int(0.008 * rate)  # a few ms between the channels widens the band around the voice
    right_accompaniment = np.concatenate([np.zeros(delay, np.float32), track.accompaniment[:-delay]])
    stereo = np.stack([track.vocals + track.accompaniment, track.vocals + right_accompaniment])
    stereo *= 0.9 / max(float(np.abs(stereo).max()), 1e-6)
    out = ROOT / "resources" / "demo" / "demo_song.flac"
    out.parent.mkdir(parents=True, exist_ok=True)
    save_audio(out, stereo, rate, subtype="PCM_16")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
