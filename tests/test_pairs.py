"""Original/instrumental pairs: alignment, the derived voice, the dataset on disk and its errors.

The pairs are Isolde's own synthetic songs: mix = voice + accompaniment, instrumental = the
accompaniment delayed and scaled, so the true offset, gain and voice are known.
"""
import numpy as np
import pytest

from core.audio.io import load_audio, resample, save_audio
from core.errors import IsoldeError
from core.training.data.pairs import Alignment, InstrumentalPairs, align_pair, pair_stems
from core.training.data.songs.synthetic import SyntheticDataset
from core.training.sources import open_source

SR = 22050
SECONDS = 4.0
DELAY = int(round(0.037 * SR))  # 37 ms
GAIN = 0.7  # instrumental = GAIN * accompaniment, so the mix needs 1 / GAIN of it


@pytest.fixture(scope="module")
def tracks():
    ds = SyntheticDataset(3, seconds=SECONDS, sample_rate=SR, seed=7)
    return [ds.load(i) for i in range(len(ds))]


def delayed(x: np.ndarray, samples: int, gain: float = GAIN) -> np.ndarray:
    """``gain * x`` starting ``samples`` later (earlier when negative), float32."""
    if samples >= 0:
        return (gain * np.concatenate([np.zeros(samples, np.float32), x])).astype(np.float32)
    return (gain * x[-samples:]).astype(np.float32)


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    reference = reference.astype(np.float64)
    return float(10 * np.log10(np.sum(reference ** 2)
                               / np.sum((reference - estimate.astype(np.float64)) ** 2)))


def write_pair(folder, mix, instrumental, *, mix_name="mix.wav", inst_name="instrumental.wav",
               inst_rate=SR):
    folder.mkdir(parents=True)
    save_audio(folder / mix_name, mix, SR)
    save_audio(folder / inst_name, instrumental, inst_rate)


@pytest.mark.parametrize("lag", [DELAY, -DELAY, 0])
def test_align_pair_recovers_offset_and_gain(tracks, lag):
    for tr in tracks:
        found = align_pair(tr.mixture, delayed(tr.accompaniment, lag), SR)
        # measured: the exact offset, the gain within 1 %
        assert abs(found.offset - lag) <= 1
        assert found.gain == pytest.approx(1 / GAIN, rel=0.03)
        assert 0.4 < found.correlation <= 1.0


def test_derived_voice_beats_a_wrong_offset(tracks):
    for tr in tracks:
        mix = tr.mixture
        stems = pair_stems(mix, delayed(tr.accompaniment, DELAY), SR)
        assert stems.alignment.offset == DELAY
        assert stems.vocals.shape == stems.accompaniment.shape == mix.shape
        np.testing.assert_allclose(stems.vocals + stems.accompaniment, mix, atol=1e-6)
        good = sdr(tr.vocals, stems.vocals)
        off = Alignment(DELAY + int(0.1 * SR), stems.alignment.gain, 0.0)
        wrong = sdr(tr.vocals, pair_stems(mix, delayed(tr.accompaniment, DELAY), SR,
                                          alignment=off).vocals)
        # measured 11.1-18.8 dB (the mix itself as the voice: -2.4 to 5.6), 100 ms off 2.8-10.6
        assert good > 8.0
        assert good > wrong + 5.0
        assert good > sdr(tr.vocals, mix) + 8.0


def test_open_source_loads_pairs_from_disk(tracks, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # pYIN's cache goes there
    root = tmp_path / "pairs"
    write_pair(root / "a_song", tracks[0].mixture, delayed(tracks[0].accompaniment, DELAY))
    # FLAC mix, instrumental at another rate: resampled to the mix's rate
    write_pair(root / "b_song", tracks[1].mixture,
               resample(delayed(tracks[1].accompaniment, DELAY), SR, 32000),
               mix_name="mix.flac", inst_name="instrumental.wav", inst_rate=32000)
    (root / "notes").mkdir()  # a folder with neither file is not a pair
    train, valid = open_source(f"pairs:{root}")
    assert valid is None
    assert isinstance(train, InstrumentalPairs)
    assert train.names == ["a_song", "b_song"]
    for i, tr in enumerate(tracks[:2]):
        track = train.load(i)
        assert track.sample_rate == SR
        mix_file = load_audio(root / train.names[i] / ("mix.wav" if i == 0 else "mix.flac")).mono()
        assert track.vocals.dtype == track.accompaniment.dtype == np.float32
        np.testing.assert_allclose(track.vocals + track.accompaniment, mix_file, atol=1e-6)
        np.testing.assert_allclose(track.mixture, mix_file, atol=1e-6)
        assert abs(track.meta["offset_samples"] - DELAY) <= 2
        assert track.meta["gain"] == pytest.approx(1 / GAIN, rel=0.03)
        assert sdr(tr.vocals, track.vocals) > 8.0
        # pYIN on the derived voice follows the true F0 where both are voiced
        assert track.f0_hz.shape == track.f0_times.shape == tr.f0_hz.shape
        both = (track.f0_hz > 0) & (tr.f0_hz > 0)
        assert both.sum() > 0.5 * (tr.f0_hz > 0).sum()
        cents = 1200 * np.abs(np.log2(track.f0_hz[both] / tr.f0_hz[both]))
        assert np.median(cents) < 50
    assert any((tmp_path / "cache").rglob("pairs_a_song_*.npz"))


def one_line(exc_info) -> str:
    message = str(exc_info.value)
    assert "\n" not in message
    return message


def test_errors(tracks, tmp_path):
    with pytest.raises(IsoldeError) as exc:
        InstrumentalPairs(tmp_path / "nowhere")
    assert "Not a folder of original/instrumental pairs" in one_line(exc)

    empty = tmp_path / "empty"
    (empty / "notes").mkdir(parents=True)
    with pytest.raises(IsoldeError) as exc:
        InstrumentalPairs(empty)
    assert "No original/instrumental pair" in one_line(exc)

    lonely = tmp_path / "lonely"
    (lonely / "song").mkdir(parents=True)
    save_audio(lonely / "song" / "mix.wav", tracks[0].mixture, SR)
    with pytest.raises(IsoldeError) as exc:
        open_source(f"pairs:{lonely}")
    assert "has no instrumental file" in one_line(exc)
    (lonely / "song" / "mix.wav").rename(lonely / "song" / "instrumental.wav")
    with pytest.raises(IsoldeError) as exc:
        InstrumentalPairs(lonely)
    assert "has no mix file" in one_line(exc)

    # another song's instrumental: no offset lines it up (measured correlation 0.06-0.08)
    strangers = tmp_path / "strangers"
    write_pair(strangers / "mismatch", tracks[0].mixture, delayed(tracks[1].accompaniment, DELAY))
    pairs = InstrumentalPairs(strangers, cache_dir=tmp_path / "cache")
    with pytest.raises(IsoldeError) as exc:
        pairs.load(0)
    message = one_line(exc)
    assert "mismatch" in message and "Cannot align the pair" in message

    with pytest.raises(IsoldeError) as exc:
        open_source("pears:x")
    assert "pairs:PATH" in one_line(exc)
