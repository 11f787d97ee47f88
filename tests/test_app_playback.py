"""Playback on a real PortAudio stream, with ALSA's default device pointed at the null plugin.

The ALSA configuration is set here at import, before anything imports sounddevice (the editor
imports it only when it first plays); pytest imports every test module before running any test,
so this holds for the whole run. The null device takes samples as fast as the callback makes them,
so a 2 s song plays in milliseconds: the tests check where the playhead goes, not how fast.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

_ALSA_CONF = Path(tempfile.mkdtemp(prefix="isolde-alsa-")) / "asound.conf"
_SYSTEM_CONF = Path("/usr/share/alsa/alsa.conf")
_ALSA_CONF.write_text((f"<{_SYSTEM_CONF}>\n" if _SYSTEM_CONF.is_file() else "")
                      + "pcm.!default { type null }\n")
os.environ["ALSA_CONFIG_PATH"] = str(_ALSA_CONF)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

from app.playback import Player  # noqa: E402
from tests.app_helpers import open_and_analyse, write_song  # noqa: E402

pytest_plugins = ["tests.app_fixtures"]  # the window fixtures


@pytest.fixture(scope="module")
def null_output():
    """sounddevice, re-initialised so PortAudio sees the null device (skip if it cannot)."""
    try:
        import sounddevice as sd
    except OSError as exc:
        pytest.skip(f"PortAudio is not installed: {exc}")
    sd._terminate()  # in case something initialised PortAudio before the config was set
    sd._initialize()
    try:
        sd.query_devices(kind="output")
    except sd.PortAudioError as exc:
        pytest.skip(f"no PortAudio output device even with ALSA's null plugin: {exc}")
    return sd


def _tone(seconds: float, rate: int = 44100, channels: int = 2) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return np.tile(0.1 * np.sin(2 * np.pi * 440 * t), (channels, 1)).astype(np.float32)


def test_player_plays_to_the_end(qtbot, null_output):
    player = Player()
    player.set_sources([_tone(1.0)], 44100, 2)
    player.play()
    try:
        qtbot.waitUntil(lambda: player.ended, timeout=5000)
        assert player.position == player.n_samples
    finally:
        player.close()


def test_player_loops_inside_the_loop(qtbot, null_output):
    player = Player()
    player.set_sources([_tone(2.0), _tone(2.0, channels=1)], 44100, 2)  # stereo + mono guide
    player.set_loop((0.5, 0.75))
    player.seek(0.1)
    seen = []
    player.play()
    try:
        for _ in range(20):
            qtbot.wait(5)
            seen.append(player.time)
        assert player.playing and not player.ended
        assert all(0.5 <= t <= 0.75 for t in seen[1:])
    finally:
        player.close()
    assert not player.playing


def test_callback_sums_sources_and_pads_with_silence():
    player = Player()
    stereo = _tone(0.01)
    mono = np.full((1, stereo.shape[1]), 0.5, dtype=np.float32)
    player.set_sources([stereo, mono], 44100, 2)
    out = np.ones((1024, 2), dtype=np.float32)
    player._callback(out, 1024, None, None)
    n = stereo.shape[1]
    assert np.allclose(out[:n], stereo.T + 0.5) and np.all(out[n:] == 0.0) and player.ended


def test_space_plays_and_the_playhead_moves(qtbot, window, tmp_path, null_output):
    open_and_analyse(qtbot, window, write_song(tmp_path / "song.wav", seconds=2.0))
    window.seek(0.2)
    with qtbot.waitSignal(window.playback.playing_changed, timeout=5000):
        qtbot.keyClick(window, Qt.Key.Key_Space)
    # The null device plays the song at once; the timer notices the end and stops.
    qtbot.waitUntil(lambda: not window.playback.player.playing, timeout=5000)
    assert window.f0_view.playhead.value() == pytest.approx(2.0, abs=0.05)
    assert window.mixture_view.playhead.value() == pytest.approx(2.0, abs=0.05)


def test_listening_modes_and_the_sine_guide(qtbot, window, tmp_path, null_output):
    open_and_analyse(qtbot, window, write_song(tmp_path / "song.wav", seconds=2.0))
    s, player = window.session, window.playback.player
    s.draw(np.arange(0.5, 1.5, 0.01), np.full(100, 440.0), free=True)  # exactly A4
    for mode, expected in (("vocals", s.result.vocals), ("accompaniment", s.result.accompaniment),
                           ("mixture", s.audio.samples)):
        s.set_view_options(listen=mode)
        assert player._state[0][0] is expected
        assert window.actions_.listen_box.currentData() == mode
    s.set_view_options(listen="vocals+guide")
    qtbot.waitUntil(lambda: window.playback.guide is not None, timeout=10000)
    sources = player._state[0]
    assert len(sources) == 2 and sources[0] is s.result.vocals
    guide = window.playback.guide
    rate = s.audio.sample_rate
    middle = guide[int(0.8 * rate):int(1.2 * rate)]
    crossings = np.count_nonzero(np.diff(np.signbit(middle).astype(np.int8)))
    assert crossings / 0.4 / 2 == pytest.approx(440.0, rel=0.02)  # the guide sings A4 there
    player.seek(0.0)
    window.playback.play()
    qtbot.waitUntil(lambda: player.ended or not player.playing, timeout=5000)


def test_loop_selection_from_the_window(qtbot, window, tmp_path, null_output):
    open_and_analyse(qtbot, window, write_song(tmp_path / "song.wav", seconds=2.0))
    window.session.set_selection(1.0, 1.5)
    qtbot.keyClick(window, Qt.Key.Key_L)
    assert window.session.view.loop and window.playback.player._state[2] is not None
    window.seek(0.0)
    window.playback.play()
    try:
        qtbot.wait(100)
        assert window.playback.player.playing
        assert 1.0 <= window.playback.player.time <= 1.5
    finally:
        window.playback.pause()
    assert not window.playback.player.playing


def _play_blocks(player, n_blocks: int, frames: int = 256) -> np.ndarray:
    out = []
    for _ in range(n_blocks):
        block = np.zeros((frames, player.channels), dtype=np.float32)
        player._callback(block, frames, None, None)
        out.append(block)
    return np.concatenate(out)


def test_switching_sources_crossfades_without_a_click_or_a_gap():
    rate = 44100
    t = np.arange(rate) / rate
    sine = np.tile(0.3 * np.sin(2 * np.pi * 220 * t), (2, 1)).astype(np.float32)
    cosine = np.tile(0.3 * np.cos(2 * np.pi * 220 * t), (2, 1)).astype(np.float32)
    player = Player()
    player._fade_always = True  # as while playing: the callback is driven by hand here
    player.set_sources([sine], rate, 2)
    before = _play_blocks(player, 3)
    player.set_sources([cosine], rate, 2)  # what is heard changes mid-play
    after = _play_blocks(player, 6)
    out = np.concatenate([before, after])[:, 0]
    smooth_step = 2 * np.pi * 220 / rate * 0.3  # the largest step of the sine itself
    assert np.abs(np.diff(out)).max() < 1.5 * smooth_step  # a hard switch jumps up to 0.42
    windows = out[: len(out) // 64 * 64].reshape(-1, 64)
    assert np.sqrt((windows ** 2).mean(axis=1)).min() > 0.1  # no dropout anywhere
    start = len(before) + 512  # after the crossfade: the new source exactly
    assert np.allclose(out[start:], cosine[0, start:len(out)], atol=1e-6)
    # Setting the same sources again (any view change does) starts no fade.
    player.set_sources([cosine], rate, 2)
    assert player._fade is None
    # Paused: no fade, and the old sources are not kept.
    player._fade_always = False
    player.set_sources([sine], rate, 2)
    assert not player.playing and player._fade is None


def test_gains_scale_each_source():
    rate = 44100
    ones = np.ones((2, rate), dtype=np.float32)
    guide = np.ones((1, rate), dtype=np.float32)
    player = Player()
    player._fade_always = True
    player.set_sources([ones, guide], rate, 2, [0.5, 0.25])
    out = _play_blocks(player, 2)
    assert np.allclose(out, 0.75)
    player.set_sources([ones, guide], rate, 2, [0.5, 0.0])  # a level change fades too
    out = _play_blocks(player, 4)
    assert out[0, 0] > 0.5 and np.allclose(out[600:], 0.5)
    assert np.all(np.diff(out[:, 0]) <= 1e-6)  # a ramp, not a step
