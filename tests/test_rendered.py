"""Rendered accompaniment: real FluidSynth renders of short songs, mixed and cached."""
from __future__ import annotations

import numpy as np
import pytest

from core.errors import IsoldeError
from core.training.data.songs import rendered
from core.training.data.songs.arrangement import STYLES, arrange
from core.training.data.songs.rendered import RenderedSongs, render_song, song_style

SECONDS = 4.0
RATE = 44100


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    """Two 4 s songs, rendered once into a fresh cache."""
    cache = tmp_path_factory.mktemp("rendered")
    data = RenderedSongs(2, seed=3, seconds=SECONDS, sample_rate=RATE, cache_dir=cache)
    return data, [data.load(i) for i in range(2)]


def test_tracks_are_accompaniment_only_with_a_silent_voice(songs):
    data, tracks = songs
    n = int(SECONDS * RATE)
    for i, track in enumerate(tracks):
        assert track.name == f"rendered_{i:05d}"
        assert track.group == track.meta["style"] == data.groups[i]
        assert track.accompaniment.dtype == np.float32 and track.accompaniment.shape == (n,)
        assert track.vocals.shape == (n,) and not np.any(track.vocals)
        assert track.f0_times.shape == track.f0_hz.shape
        assert np.allclose(np.diff(track.f0_times), 0.01) and not np.any(track.f0_hz)
        assert track.meta["tempo"] > 40 and track.meta["instruments"]
        assert np.sqrt(np.mean(track.accompaniment ** 2)) > 0.02


def test_stereo_record_level_and_peaks(songs):
    data, _ = songs
    for i in range(2):
        audio, meta = data.stereo(i)
        assert audio.shape == (2, int(SECONDS * RATE)) and audio.dtype == np.float32
        assert np.max(np.abs(audio)) <= 1.0
        rms_db = 20 * np.log10(np.sqrt(np.mean(audio ** 2)))
        assert -17.0 < rms_db < -8.5, rms_db
        # Really stereo: the two channels differ, but share most of their content.
        side = np.mean((audio[0] - audio[1]) ** 2) / np.mean((audio[0] + audio[1]) ** 2)
        assert 1e-4 < side < 0.5


def test_cache_hit_gives_identical_samples_and_meta(songs):
    data, tracks = songs
    path = data.cache_path(0)
    assert path.is_file() and path.with_suffix(".json").is_file()
    assert not list(path.parent.glob("*.tmp*"))
    again = RenderedSongs(2, seed=3, seconds=SECONDS, sample_rate=RATE, cache_dir=path.parent)
    track = again.load(0)
    assert track.meta == tracks[0].meta
    assert np.array_equal(track.accompaniment, tracks[0].accompaniment)


def test_render_is_deterministic_for_a_seed_and_differs_between_songs(songs):
    data, _ = songs
    first, meta = render_song(1, seed=3, seconds=SECONDS, sample_rate=RATE)
    second, meta2 = render_song(1, seed=3, seconds=SECONDS, sample_rate=RATE)
    assert meta == meta2 == data.stereo(1)[1]
    assert np.array_equal(first, second)
    # The cached file holds the same render at 24 bits.
    assert np.max(np.abs(data.stereo(1)[0] - first)) < 1e-5
    assert not np.allclose(data.stereo(0)[0], first, atol=1e-3)


def test_styles_choose_their_own_instruments_and_always_have_drums():
    rng_songs = {}
    for style in ("metal", "electronic", "ballad", "rnb"):
        song = arrange(np.random.default_rng(7), 8.0, style)
        assert song.style == style
        drums = [p for p in song.parts if p.is_drum]
        assert len(drums) == 1 and len(drums[0].notes) > 20
        assert any(p.role == "bass" and p.notes for p in song.parts)
        rng_songs[style] = {p.program for p in song.parts if not p.is_drum}
    assert rng_songs["metal"] & {29, 30}                 # distorted guitars
    assert not rng_songs["electronic"] & {29, 30}
    assert rng_songs["metal"] != rng_songs["electronic"] != rng_songs["ballad"]
    styles = {song_style(i, 0) for i in range(60)}
    assert styles == set(STYLES)


def test_lead_instruments_play_in_the_voice_range():
    leads = []
    for i in range(40):
        song = arrange(np.random.default_rng(i), 10.0, "pop")
        leads += [p for p in song.parts if p.role == "lead"]
    assert leads
    pitches = np.array([n[2] for p in leads for n in p.notes])
    assert pitches.min() >= 55 and pitches.max() <= 84


def test_missing_sound_font_gives_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(rendered, "SOUND_FONT", tmp_path / "missing.sf2")
    with pytest.raises(IsoldeError) as info:
        render_song(0, seed=0, seconds=1.0)
    assert "sound font" in str(info.value) and "\n" not in str(info.value)
    data = RenderedSongs(1, seed=0, seconds=1.0, cache_dir=tmp_path)
    with pytest.raises(IsoldeError):
        data.load(0)


def test_missing_fluidsynth_gives_one_line(monkeypatch):
    monkeypatch.setattr(rendered, "FLUIDSYNTH", "no-such-fluidsynth-binary")
    with pytest.raises(IsoldeError, match="FluidSynth is not installed: apt-get install"):
        render_song(0, seed=0, seconds=1.0)


def test_repeated_notes_do_not_overlap_so_no_note_off_cuts_a_later_note():
    notes = [(0.0, 1.0, 60, 90), (0.5, 1.5, 60, 80), (0.5, 0.8, 64, 70)]
    out = rendered._untangle(notes)
    first, second = sorted(n for n in out if n[2] == 60)
    assert first[1] < second[0] and second[1] == 1.5
    assert (0.5, 0.8, 64, 70) in out
