"""Long files are separated block by block (core.separation.stream), with the same results."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import synth_song, tiny_model
from core.audio.io import load_audio
from core.cli import main
from core.errors import AudioError, IsoldeError
from core.progress import run
from core.separation import stream
from core.separation.separate import separate_iter


@pytest.fixture
def song(tmp_path):
    mixture, _, _ = synth_song(seconds=12.0)
    path = tmp_path / "song.flac"
    sf.write(path, mixture.T, 44100, subtype="PCM_24")
    return path


def test_streamed_separation_equals_the_in_memory_one(song, tmp_path):
    model = tiny_model()
    expected = run(separate_iter(load_audio(song), model))
    downmix = run(stream.read_downmix_iter(song))
    assert (downmix.sample_rate, downmix.n_channels, downmix.n_samples) == (44100, 2, 12 * 44100)
    analysis, beats = run(stream.analyse_file_iter(downmix, model))
    np.testing.assert_allclose(analysis.vocal_mask, expected.analysis.vocal_mask, atol=1e-6)
    np.testing.assert_array_equal(beats.beat_times, expected.beats.beat_times)
    out = tmp_path / "out"
    out.mkdir()
    run(stream.write_stems_iter(downmix, analysis.vocal_mask, out, block_frames=64))  # many blocks
    vocals, rate = sf.read(out / "vocals.wav", always_2d=True, dtype="float32")
    accompaniment, _ = sf.read(out / "accompaniment.wav", always_2d=True, dtype="float32")
    assert rate == 44100 and sf.info(str(out / "vocals.wav")).subtype == "FLOAT"
    np.testing.assert_allclose(vocals.T, expected.vocals, atol=1e-5)
    np.testing.assert_allclose(accompaniment.T, expected.accompaniment, atol=1e-5)


def test_the_command_streams_long_files_with_the_same_results(song, tmp_path, tiny_model_file,
                                                               monkeypatch):
    args = ["separate", str(song), "--model", str(tiny_model_file), "--device", "cpu"]
    assert not stream.should_stream(song)
    assert main([*args, "-o", str(tmp_path / "memory")]) == 0
    monkeypatch.setattr(stream, "STREAM_SECONDS", 5.0)
    assert stream.should_stream(song)
    read = []
    monkeypatch.setattr(stream, "read_downmix_iter",
                        lambda path, real=stream.read_downmix_iter: read.append(path) or real(path))
    assert main([*args, "-o", str(tmp_path / "streamed")]) == 0
    assert read == [song]  # it did take the streaming path
    for name in ("vocals.wav", "accompaniment.wav"):
        a, _ = sf.read(tmp_path / "memory" / name, dtype="float32")
        b, _ = sf.read(tmp_path / "streamed" / name, dtype="float32")
        np.testing.assert_allclose(b, a, atol=1e-5)
    for name in ("f0.csv", "confidence.csv", "beats.csv"):
        assert (tmp_path / "streamed" / name).read_text() == (tmp_path / "memory" / name).read_text()


def test_the_command_streams_pcm16_stems(song, tmp_path, tiny_model_file, monkeypatch):
    monkeypatch.setattr(stream, "STREAM_SECONDS", 5.0)
    assert stream.should_stream(song)
    out = tmp_path / "out"
    assert main(["separate", str(song), "--model", str(tiny_model_file), "--device", "cpu",
                 "-o", str(out), "--sample-format", "pcm16"]) == 0
    vocals, _ = sf.read(out / "vocals.wav", always_2d=True, dtype="float32")
    accompaniment, _ = sf.read(out / "accompaniment.wav", always_2d=True, dtype="float32")
    assert sf.info(str(out / "vocals.wav")).subtype == "PCM_16"
    source, _ = sf.read(song, always_2d=True, dtype="float32")
    np.testing.assert_allclose(vocals + accompaniment, source, atol=2.5 / 32768)


def test_streaming_refuses_bad_files_in_one_line(tmp_path):
    bad = tmp_path / "nan.wav"
    samples = np.zeros((44100, 2), dtype=np.float32)
    samples[30000, 1] = np.nan
    sf.write(bad, samples, 44100, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        run(stream.read_downmix_iter(bad))
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros((100, 1), dtype=np.float32), 44100)
    with pytest.raises(AudioError, match="too short"):
        run(stream.read_downmix_iter(short))
    cut = tmp_path / "cut.wav"
    sf.write(cut, np.zeros((44100, 2), dtype=np.float32), 44100, subtype="PCM_16")
    data = cut.read_bytes()
    cut.write_bytes(data[:len(data) // 2])  # the header still promises a second
    with pytest.raises(AudioError, match="truncated"):
        run(stream.read_downmix_iter(cut))
    with pytest.raises(AudioError):
        run(stream.read_downmix_iter(tmp_path))  # a folder


def test_a_full_disk_while_writing_the_stems_says_so(song, tmp_path, monkeypatch):
    from core.audio import io

    downmix = run(stream.read_downmix_iter(song))
    analysis, _ = run(stream.analyse_file_iter(downmix, tiny_model(), with_beats=False))

    def no_room(self, data):
        raise sf.LibsndfileError(0, "System error.")

    monkeypatch.setattr(sf.SoundFile, "write", no_room)
    monkeypatch.setattr(io, "_nearly_full", lambda folder: True)
    with pytest.raises(IsoldeError, match="Disk full") as caught:
        run(stream.write_stems_iter(downmix, analysis.vocal_mask, tmp_path))
    assert isinstance(caught.value.__cause__, OSError)
    monkeypatch.setattr(io, "_nearly_full", lambda folder: False)
    with pytest.raises(AudioError, match="Cannot write the stems into"):
        run(stream.write_stems_iter(downmix, analysis.vocal_mask, tmp_path))


def test_the_beat_tracker_reads_the_file_again_as_it_goes(tmp_path):
    from core.audio.io import resample, to_mono
    from core.music.beats import MADMOM_RATE, track_beats, track_beats_source_iter

    mixture, _, _ = synth_song(seconds=26.0, sample_rate=48000)  # two feature blocks a pass
    path = tmp_path / "song48.flac"
    sf.write(path, mixture.T, 48000, subtype="PCM_24")
    audio = load_audio(path)
    whole = resample(to_mono(audio.samples), 48000, MADMOM_RATE)
    downmix = run(stream.read_downmix_iter(path))
    signal = stream.FileMono(downmix, MADMOM_RATE)
    assert signal.size == len(whole)
    for lo, hi in ((0, 1000), (500, 700_000), (650_000, len(whole)), (10, 20),
                   (len(whole) - 5, len(whole) + 10)):  # overlapping, then a new pass, then the end
        np.testing.assert_array_equal(signal[lo:hi], whole[lo:min(hi, len(whole))])
    beats = run(track_beats_source_iter(signal, downmix.peak))
    signal.close()
    expected = track_beats(audio.samples, 48000)
    assert len(expected.beat_times) > 10
    np.testing.assert_array_equal(beats.beat_times, expected.beat_times)
    np.testing.assert_array_equal(beats.downbeat_times, expected.downbeat_times)
    # Silence has no beats; a file cut short after the first pass is refused in one line.
    assert run(track_beats_source_iter(stream.FileMono(downmix, MADMOM_RATE), 0.0)).beat_times.size == 0
    sf.write(path, mixture.T[:48000 * 5], 48000, subtype="PCM_24")
    with pytest.raises(AudioError, match="changed while it was separated"):
        stream.FileMono(downmix, MADMOM_RATE)[0:len(whole)]
