"""The ``isolde separate`` contract, and every bad input it must refuse cleanly."""
import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.audio import spectral
from core.audio.io import save_audio
from core.cli import main
from tests.conftest import synth_song

OUTPUTS = ("vocals.wav", "accompaniment.wav", "f0.csv", "confidence.csv", "beats.csv")


def _separate(capsys, *argv):
    code = main(["separate", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.err


@pytest.mark.parametrize("rate,channels", [(44100, 2), (16000, 1), (48000, 3)])
def test_separate_writes_the_contract(tmp_path, capsys, tiny_model_file, rate, channels):
    mixture, _, _ = synth_song(seconds=2.5, sample_rate=rate, channels=channels)
    song = tmp_path / "song.flac"
    save_audio(song, mixture, rate, subtype="PCM_24")
    out = tmp_path / "out"
    code, err = _separate(capsys, song, "-o", out, "--model", tiny_model_file, "--device", "cpu")
    assert code == 0, err
    for name in ("vocals.wav", "accompaniment.wav"):
        info = sf.info(out / name)
        assert (info.samplerate, info.channels, info.frames) == (rate, channels, mixture.shape[1])
    vocals, _ = sf.read(out / "vocals.wav", always_2d=True)
    accompaniment, _ = sf.read(out / "accompaniment.wav", always_2d=True)
    source, _ = sf.read(song, always_2d=True)
    assert np.allclose(vocals + accompaniment, source, atol=1e-5)
    with open(out / "f0.csv") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["time", "f0"]
    n_frames = spectral.n_frames_for(round(mixture.shape[1] * 16000 / rate))
    assert len(rows) - 1 == n_frames
    assert all(float(f) >= 0 for _, f in rows[1:])
    assert np.allclose([float(t) for t, _ in rows[1:4]], [0, 0.016, 0.032])
    assert (out / "beats.csv").read_text().splitlines()[0] == "time"
    confidence = (out / "confidence.csv").read_text().splitlines()
    assert confidence[0] == "time,confidence"
    assert len(confidence) == len((out / "f0.csv").read_text().splitlines())
    values = np.array([float(line.split(",")[1]) for line in confidence[1:]])
    assert values.min() >= 0 and values.max() <= 1
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)


def test_separate_a_section_at_the_chosen_sample_format(tmp_path, capsys, tiny_model_file):
    rate = 48000
    mixture, _, _ = synth_song(seconds=4.0, sample_rate=rate, channels=2)
    song = tmp_path / "song.wav"
    save_audio(song, mixture, rate, subtype="PCM_24")
    out = tmp_path / "out"
    code, err = _separate(capsys, song, "-o", out, "--model", tiny_model_file, "--device", "cpu",
                          "--start", "1.5", "--end", "3.25", "--sample-format", "pcm16")
    assert code == 0, err
    for name in ("vocals.wav", "accompaniment.wav"):
        info = sf.info(out / name)
        assert (info.samplerate, info.channels, info.subtype) == (rate, 2, "PCM_16")
        assert info.frames == round(1.75 * rate)
    vocals, _ = sf.read(out / "vocals.wav", always_2d=True)
    accompaniment, _ = sf.read(out / "accompaniment.wav", always_2d=True)
    source, _ = sf.read(song, always_2d=True, start=round(1.5 * rate), stop=round(3.25 * rate))
    assert np.allclose(vocals + accompaniment, source, atol=2.5 / 32768)
    f0_rows = (out / "f0.csv").read_text().splitlines()[1:]
    assert abs(float(f0_rows[0].split(",")[0]) - 1.5) < 1e-6
    assert float(f0_rows[-1].split(",")[0]) < 3.25 + 0.02
    confidence_rows = (out / "confidence.csv").read_text().splitlines()[1:]
    assert [r.split(",")[0] for r in confidence_rows] == [r.split(",")[0] for r in f0_rows]
    beats = [float(t) for t in (out / "beats.csv").read_text().split()[1:]]
    assert all(1.5 <= t <= 3.25 for t in beats)


@pytest.mark.parametrize("argv,pattern", [
    (("--start", "2", "--end", "1"), "must come after --start"),
    (("--start", "-1",), "0 or more"),
    (("--end", "nan",), "0 or more"),
    (("--start", "9",), "after the end of the song"),
    (("--start", "1.0", "--end", "1.05"), "too short"),
])
def test_separate_refuses_a_section_outside_the_song(tmp_path, capsys, song_file,
                                                     tiny_model_file, argv, pattern):
    out = tmp_path / "out"
    code, err = _separate(capsys, song_file, "-o", out, "--model", tiny_model_file, *argv)
    _assert_clean_failure(code, err, out, pattern)


def _assert_clean_failure(code, err, out, pattern):
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line.startswith("isolde:")]
    assert len(lines) == 1 and pattern.lower() in lines[0].lower(), err
    assert not out.exists() or not any(out.iterdir())


def test_missing_input(tmp_path, capsys, tiny_model_file):
    out = tmp_path / "out"
    code, err = _separate(capsys, tmp_path / "none.wav", "-o", out, "--model", tiny_model_file)
    _assert_clean_failure(code, err, out, "No such file")


def test_not_audio(tmp_path, capsys, tiny_model_file):
    fake = tmp_path / "fake.mp3"
    fake.write_bytes(os.urandom(5000))
    out = tmp_path / "out"
    code, err = _separate(capsys, fake, "-o", out, "--model", tiny_model_file)
    _assert_clean_failure(code, err, out, "audio")


def test_zero_length(tmp_path, capsys, tiny_model_file):
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros((0, 1), np.float32), 44100)
    out = tmp_path / "out"
    code, err = _separate(capsys, empty, "-o", out, "--model", tiny_model_file)
    _assert_clean_failure(code, err, out, "empty")


def test_pure_silence(tmp_path, capsys, tiny_model_file):
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros((44100, 2), np.float32), 44100)
    out = tmp_path / "out"
    code, err = _separate(capsys, silent, "-o", out, "--model", tiny_model_file)
    _assert_clean_failure(code, err, out, "silence")


def test_nan_samples(tmp_path, capsys, tiny_model_file):
    x = np.random.default_rng(0).uniform(-0.1, 0.1, (44100, 1)).astype(np.float32)
    x[100] = np.inf
    bad = tmp_path / "inf.wav"
    sf.write(bad, x, 44100, subtype="FLOAT")
    out = tmp_path / "out"
    code, err = _separate(capsys, bad, "-o", out, "--model", tiny_model_file)
    _assert_clean_failure(code, err, out, "NaN or infinite")


def test_truncated_mp3(tmp_path, capsys, tiny_model_file):
    mixture, _, _ = synth_song(seconds=2.0)
    good = save_audio(tmp_path / "good.mp3", mixture, 44100)
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(good.read_bytes()[:200])
    out = tmp_path / "out"
    code, err = _separate(capsys, cut, "-o", out, "--model", tiny_model_file)
    _assert_clean_failure(code, err, out, "audio")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output_folder_as_user(tmp_path, capsys, song_file, tiny_model_file):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    code, err = _separate(capsys, song_file, "-o", locked, "--model", tiny_model_file)
    _assert_clean_failure(code, err, locked, "not writable")


def test_output_folder_that_cannot_be_created(tmp_path, capsys, song_file, tiny_model_file):
    """Works as root too: nobody can create folders under /proc."""
    code, err = _separate(capsys, song_file, "-o", "/proc/isolde-test-out", "--model",
                          tiny_model_file)
    assert code == 2 and "output folder" in err.lower()


def test_output_folder_that_is_a_file(tmp_path, capsys, song_file, tiny_model_file):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the output folder should be")
    code, err = _separate(capsys, song_file, "-o", blocker / "out", "--model", tiny_model_file)
    assert code == 2 and "output folder" in err.lower()
    assert blocker.read_text().startswith("a file")


def test_model_that_is_not_a_model(tmp_path, capsys, song_file):
    fake = tmp_path / "model.safetensors"
    fake.write_bytes(b"\x80\x04garbage" * 100)
    out = tmp_path / "out"
    code, err = _separate(capsys, song_file, "-o", out, "--model", fake)
    _assert_clean_failure(code, err, out, "model")


def test_cuda_without_gpu(tmp_path, capsys, song_file, tiny_model_file):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    out = tmp_path / "out"
    code, err = _separate(capsys, song_file, "-o", out, "--model", tiny_model_file,
                          "--device", "cuda")
    _assert_clean_failure(code, err, out, "CUDA")


def test_console_script_runs(tmp_path, song_file, tiny_model_file):
    """The installed ``isolde`` entry point, as a user runs it, with a progress bar on stderr."""
    exe = Path(sys.executable).with_name("isolde")
    out = tmp_path / "out"
    proc = subprocess.run([str(exe), "separate", str(song_file), "-o", str(out), "--model",
                           str(tiny_model_file)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("isolde ")


def test_separate_several_songs_goes_on_past_a_bad_one(tmp_path, capsys, tiny_model_file):
    songs = []
    for k, rate in enumerate((44100, 22050)):
        mixture, _, _ = synth_song(seconds=2.0, sample_rate=rate, channels=2, seed=k)
        songs.append(tmp_path / f"song{k}.flac")
        save_audio(songs[-1], mixture, rate, subtype="PCM_24")
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF" + b"\0" * 50)
    out = tmp_path / "out"
    code, err = _separate(capsys, songs[0], broken, songs[1], "-o", out, "--model",
                          tiny_model_file, "--device", "cpu")
    assert code == 2
    assert "[2/3]" in err and "1 of 3 songs could not be separated" in err
    errors = [line for line in err.splitlines() if line.startswith("isolde: error:")]
    assert len(errors) == 1 and "broken.wav" in errors[0]
    for song in songs:
        assert sorted(p.name for p in (out / song.stem).iterdir()) == sorted(OUTPUTS)
        assert sf.info(out / song.stem / "vocals.wav").samplerate == sf.info(song).samplerate
    assert not (out / "broken").exists() or not any((out / "broken").iterdir())


def test_separate_several_refuses_clashing_folders_and_corrections(tmp_path, capsys,
                                                                  tiny_model_file):
    mixture, _, _ = synth_song(seconds=1.0, sample_rate=16000, channels=1)
    wav, flac = tmp_path / "a.wav", tmp_path / "a.flac"
    save_audio(wav, mixture, 16000)
    save_audio(flac, mixture, 16000, subtype="PCM_16")
    out = tmp_path / "out"
    code, err = _separate(capsys, wav, flac, "-o", out, "--model", tiny_model_file)
    _assert_clean_failure(code, err, out, "would both be written")
    corrections = tmp_path / "c.csv"
    corrections.write_text("time,f0\n0.1,220\n")
    code, err = _separate(capsys, wav, tmp_path / "b.wav", "-o", out, "--model", tiny_model_file,
                          "--corrections", corrections)
    _assert_clean_failure(code, err, out, "one song")
    code, err = _separate(capsys, wav, tmp_path / "b.wav", "-o", out, "--model", tiny_model_file,
                          "--start", "2", "--end", "1")
    _assert_clean_failure(code, err, out, "must come after --start")  # once, not per song


def test_separate_a_folder_of_songs(tmp_path, capsys, tiny_model_file):
    album = tmp_path / "album"
    album.mkdir()
    for k in range(2):
        mixture, _, _ = synth_song(seconds=1.5, sample_rate=16000, channels=1, seed=k)
        save_audio(album / f"track{k}.wav", mixture, 16000)
    (album / "cover.jpg").write_bytes(b"\xff\xd8 not audio")
    out = tmp_path / "out"
    code, err = _separate(capsys, album, "-o", out, "--model", tiny_model_file, "--device", "cpu")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["track0", "track1"]
    assert sorted(p.name for p in (out / "track1").iterdir()) == sorted(OUTPUTS)
    empty = tmp_path / "empty"
    empty.mkdir()
    code, err = _separate(capsys, empty, "-o", tmp_path / "none", "--model", tiny_model_file)
    _assert_clean_failure(code, err, tmp_path / "none", "No audio file in the folder")


def test_separate_measures_the_melody_unless_told_not_to(tmp_path, capsys):
    """The default model's F0 keeps the network's voicing and takes the pitch measured on the
    separated vocal; ``--network-pitch`` writes the network's own."""
    mixture, _, truth = synth_song(seconds=3.0)
    song = tmp_path / "song.wav"
    sf.write(song, mixture.T, 44100, subtype="PCM_16")
    tracks = {}
    for name, extra in (("measured", []), ("network", ["--network-pitch"])):
        code, err = _separate(capsys, song, "-o", tmp_path / name, "--device", "cpu", *extra)
        assert code == 0, err
        with open(tmp_path / name / "f0.csv") as handle:
            tracks[name] = np.array([[float(r["time"]), float(r["f0"])]
                                     for r in csv.DictReader(handle)])
    measured, network = tracks["measured"], tracks["network"]
    np.testing.assert_array_equal(measured[:, 0], network[:, 0])
    np.testing.assert_array_equal(measured[:, 1] > 0, network[:, 1] > 0)
    voiced = measured[:, 1] > 0
    assert voiced.mean() > 0.5
    assert np.any(measured[voiced, 1] != network[voiced, 1])
    reference = np.interp(measured[:, 0], np.arange(len(truth)) * 0.01, truth)
    sung = voiced & (reference > 0)
    cents = 1200 * np.abs(np.log2(measured[sung, 1] / reference[sung]))
    assert np.median(cents) < 20


def test_a_song_shorter_than_the_confidence_smoothing_separates(tmp_path, capsys, tiny_model_file):
    """0.12 s: eight analysis frames, fewer than the 9 the confidence's margin is smoothed over."""
    song = tmp_path / "blip.wav"
    t = np.arange(int(0.12 * 44100)) / 44100
    sf.write(song, 0.3 * np.sin(2 * np.pi * 220 * t), 44100)
    code, err = _separate(capsys, song, "-o", tmp_path / "out", "--model", tiny_model_file,
                          "--device", "cpu")
    assert code == 0, err
    with open(tmp_path / "out" / "confidence.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert 1 <= len(rows) < 9 and all(0.0 <= float(r["confidence"]) <= 1.0 for r in rows)
