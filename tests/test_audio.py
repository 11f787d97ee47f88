import numpy as np
import pytest
import soundfile as sf

from core.audio.io import load_audio, resample, save_audio, to_mono
from core.errors import AudioError, IsoldeError


def _signal(channels, rate, seconds=0.5):
    t = np.arange(int(rate * seconds)) / rate
    return np.stack([0.3 * np.sin(2 * np.pi * (220 + 110 * c) * t) for c in range(channels)]).astype(np.float32)


@pytest.mark.parametrize("ext,subtype,tolerance", [(".wav", "FLOAT", 1e-7), (".wav", "PCM_16", 1e-4),
                                                   (".wav", "PCM_24", 1e-6), (".flac", "PCM_24", 1e-6),
                                                   (".flac", "PCM_16", 1e-4)])
@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("rate", [8000, 22050, 44100, 96000])
def test_lossless_round_trips(tmp_path, ext, subtype, tolerance, channels, rate):
    x = _signal(channels, rate)
    path = save_audio(tmp_path / f"x{ext}", x, rate, subtype=subtype)
    audio = load_audio(path)
    assert audio.sample_rate == rate and audio.samples.shape == x.shape
    assert np.max(np.abs(audio.samples - x)) < tolerance


@pytest.mark.parametrize("ext", [".ogg", ".mp3"])
@pytest.mark.parametrize("channels", [1, 2])
def test_lossy_round_trips(tmp_path, ext, channels):
    rate = 44100
    x = _signal(channels, rate, seconds=1.0)
    audio = load_audio(save_audio(tmp_path / f"x{ext}", x, rate))
    assert audio.sample_rate == rate and audio.n_channels == channels
    # Lossy codecs may pad the ends; the body of the signal must survive.
    n = min(audio.n_samples, x.shape[1])
    assert abs(audio.n_samples - x.shape[1]) < 4096
    corr = np.corrcoef(audio.samples[0, 2000:n - 2000], x[0, 2000:n - 2000])[0, 1]
    assert corr > 0.95


def test_mono_and_resample():
    x = _signal(2, 44100)
    assert to_mono(x).shape == (x.shape[1],)
    y = resample(x, 44100, 16000)
    assert y.shape == (2, round(x.shape[1] * 16000 / 44100))
    assert y.dtype == np.float32


def test_missing_folder_and_not_audio(tmp_path):
    with pytest.raises(AudioError, match="No such file"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioError, match="folder"):
        load_audio(tmp_path)
    fake = tmp_path / "fake.wav"
    fake.write_text("this is not audio\n" * 100)
    with pytest.raises(AudioError, match="Not a readable audio file"):
        load_audio(fake)


def test_empty_and_nan(tmp_path):
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros((0, 2), np.float32), 44100)
    with pytest.raises(AudioError, match="empty"):
        load_audio(empty)
    bad = tmp_path / "nan.wav"
    x = np.zeros((1000, 1), np.float32)
    x[500] = np.nan
    sf.write(bad, x, 44100, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        load_audio(bad)


def test_truncated_mp3(tmp_path):
    good = save_audio(tmp_path / "good.mp3", _signal(2, 44100, 2.0), 44100)
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(good.read_bytes()[:300])
    with pytest.raises(AudioError):
        load_audio(cut)


def test_save_is_atomic_and_rejects_bad_targets(tmp_path):
    path = tmp_path / "keep.wav"
    save_audio(path, _signal(1, 8000), 8000)
    before = path.read_bytes()
    with pytest.raises(AudioError, match="NaN"):
        save_audio(path, np.full((1, 10), np.nan, np.float32), 8000)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.wav"]
    with pytest.raises(AudioError, match="Cannot write"):
        save_audio(tmp_path / "x.xyz", _signal(1, 8000), 8000)
    with pytest.raises(IsoldeError, match="does not exist"):
        save_audio(tmp_path / "missing" / "x.wav", _signal(1, 8000), 8000)


def test_full_disk_leaves_old_file_and_no_temporary(tmp_path, monkeypatch):
    """The disk filling up mid-write (simulated at the OS edge) loses nothing."""
    import errno

    import core.audio.io

    path = tmp_path / "keep.flac"
    save_audio(path, _signal(1, 8000), 8000)
    before = path.read_bytes()

    def full_disk(file, *args, **kwargs):
        with open(file, "wb") as handle:
            handle.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(core.audio.io.sf, "write", full_disk)
    with pytest.raises(IsoldeError, match="Disk full"):
        save_audio(path, _signal(1, 8000), 8000)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.flac"]


@pytest.mark.parametrize("suffix,subtype,tolerance", [
    (".wav", "PCM_16", 0.0), (".flac", "PCM_24", 0.0), (".ogg", "VORBIS", 1e-3)])
def test_a_section_reads_only_its_own_samples(tmp_path, suffix, subtype, tolerance):
    import tracemalloc

    from core.audio.io import load_audio_section

    rate = 44100
    rng = np.random.default_rng(3)
    song = (0.3 * rng.standard_normal((2, 40 * rate))).clip(-1, 1).astype(np.float32)
    path = tmp_path / f"song{suffix}"
    sf.write(path, song.T, rate, subtype=subtype)
    tracemalloc.start()
    section, song_seconds = load_audio_section(path, 12.5, 13.5)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert song_seconds == pytest.approx(40.0)
    whole = load_audio(path)
    expected = whole.section(12.5, 13.5)
    assert section.samples.shape == expected.samples.shape == (2, rate)
    assert np.abs(section.samples - expected.samples).max() <= tolerance
    # One second of stereo float32 is 0.35 MB; the whole song would be 14 MB.
    assert peak < 0.1 * whole.samples.nbytes
    # Past the end: the section runs to the end of the song.
    tail, _ = load_audio_section(path, 39.5, 99.0)
    assert tail.n_samples == round(0.5 * rate)


def test_a_section_of_a_bad_or_cut_file_gets_one_line(tmp_path):
    from core.audio.io import load_audio_section

    rate = 16000
    path = tmp_path / "song.wav"
    sf.write(path, np.zeros((4 * rate, 1), np.float32) + 0.1, rate, subtype="PCM_16")
    with pytest.raises(AudioError, match="after the end of the song"):
        load_audio_section(path, 5.0)
    with pytest.raises(AudioError, match="too short"):
        load_audio_section(path, 1.0, 1.05)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    with pytest.raises(AudioError, match="truncated"):
        load_audio_section(cut, 0.5, 1.0)
    junk = tmp_path / "junk.flac"
    junk.write_bytes(b"not audio at all" * 100)
    with pytest.raises(AudioError, match="Not a readable audio file"):
        load_audio_section(junk, 0.0, 1.0)
