"""MUSDB18-HQ and MedleyDB readers on tiny folders written here, and the pYIN cache."""
import numpy as np
import pytest
import soundfile as sf

from core.errors import AudioError
from core.training.data import pyin_cache
from core.training.data.medleydb import MedleyDBDataset, parse_simple_yaml, read_melody_csv
from core.training.data.musdb import MusdbDataset
from core.training.data.pyin_cache import f0_to_grid, reference_f0

SR = 22050


def tone(freq, seconds, on=(0.0, None), amp=0.3, sr=SR):
    """A sine that sounds only within on = (start s, end s), with 10 ms fades."""
    t = np.arange(int(seconds * sr)) / sr
    start, end = on[0], on[1] if on[1] is not None else seconds
    gate = np.clip(np.minimum(t - start, end - t) / 0.01, 0.0, 1.0)
    return (amp * gate * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write(path, mono, stereo=True):
    path.parent.mkdir(parents=True, exist_ok=True)
    # Stereo with a quieter right channel: the readers must average the channels.
    data = np.stack([mono, 0.5 * mono], axis=1) if stereo else mono
    sf.write(str(path), data, SR, subtype="FLOAT")


def cents(a, b):
    return np.abs(1200 * np.log2(a / b))


@pytest.fixture
def count_pyin(monkeypatch):
    calls = []
    real = pyin_cache.compute_reference_f0

    def counting(vocals, sample_rate):
        calls.append(len(vocals))
        return real(vocals, sample_rate)

    monkeypatch.setattr(pyin_cache, "compute_reference_f0", counting)
    return calls


# ---------------------------------------------------------------------------------------------
# pYIN cache
# ---------------------------------------------------------------------------------------------

def test_reference_f0_of_a_tone_and_the_cache(tmp_path, count_pyin):
    y = tone(220.0, 1.5, on=(0.3, 1.2))
    times, f0 = reference_f0(y, SR, tmp_path / "cache", "a tone/with odd:name")
    assert times.shape == f0.shape == (1 + len(y) * 100 // SR,)
    np.testing.assert_allclose(times, np.arange(len(times)) * 0.01)
    inside = (times > 0.4) & (times < 1.1)
    assert np.all(f0[inside] > 0)
    assert np.all(cents(f0[inside], 220.0) < 50)
    assert np.all(f0[(times < 0.2) | (times > 1.3)] == 0)
    files = list((tmp_path / "cache").glob("*.npz"))
    assert len(files) == 1 and files[0].name.startswith("a_tone_with_odd_name_")
    assert len(count_pyin) == 1
    # Second time: read from the cache, pYIN not run again.
    times2, f02 = reference_f0(y, SR, tmp_path / "cache", "a tone/with odd:name")
    assert len(count_pyin) == 1
    assert np.array_equal(f0, f02) and np.array_equal(times, times2)
    # Different audio: a different cache entry.
    reference_f0(y * 0.5, SR, tmp_path / "cache", "a tone/with odd:name")
    assert len(count_pyin) == 2
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2
    # A damaged cache file is recomputed and replaced.
    files[0].write_bytes(b"not a zip")
    _, f03 = reference_f0(y, SR, tmp_path / "cache", "a tone/with odd:name")
    assert len(count_pyin) == 3 and np.array_equal(f0, f03)
    # No cache folder: nothing written.
    reference_f0(y, SR, None, "x")
    assert len(count_pyin) == 4
    assert not list(tmp_path.glob("*.npz"))


def test_silence_gives_no_f0(tmp_path):
    times, f0 = reference_f0(np.zeros(SR, dtype=np.float32), SR, None, "silence")
    assert len(times) == 101 and not f0.any()


def test_f0_to_grid_interpolates_in_cents_and_keeps_rests():
    times = np.array([0.0, 0.1, 0.2, 0.3, 0.4])
    f0 = np.array([100.0, 200.0, 0.0, 300.0, 300.0])
    out = f0_to_grid(times, f0, np.array([0.05, 0.12, 0.18, 0.25, 0.35, 0.5, -0.2]))
    np.testing.assert_allclose(out[0], 100 * np.sqrt(2))  # halfway in log frequency
    assert out[1] == 200.0 and out[2] == 0.0  # nearest decides next to a rest
    assert out[3] in (0.0, 300.0) and out[4] == 300.0
    assert out[5] == 0.0 and out[6] == 0.0  # outside the annotated span


# ---------------------------------------------------------------------------------------------
# MUSDB18-HQ
# ---------------------------------------------------------------------------------------------

def make_musdb(root):
    seconds = 1.5
    full = root / "train" / "Artist A - First Song"
    voice = tone(220.0, seconds, on=(0.3, 1.2))
    drums = (0.05 * np.random.default_rng(0).standard_normal(int(seconds * SR))).astype(np.float32)
    bass = tone(55.0, seconds)
    other = tone(660.0, seconds, amp=0.1)
    for name, x in (("vocals", voice), ("drums", drums), ("bass", bass), ("other", other),
                    ("mixture", voice + drums + bass + other)):
        write(full / f"{name}.wav", x)
    # A track with only vocals and mixture: accompaniment = mixture - vocals.
    partial = root / "train" / "Band B - Second Song"
    voice2 = tone(330.0, seconds, on=(0.2, 1.3))
    write(partial / "vocals.wav", voice2)
    write(partial / "mixture.wav", voice2 + bass)
    write(root / "test" / "Artist A - Live" / "vocals.wav", voice)
    write(root / "test" / "Artist A - Live" / "mixture.wav", voice)
    (root / "train" / "not a track").mkdir()  # no vocals.wav: ignored
    return {"voice": voice, "accompaniment": drums + bass + other, "voice2": voice2, "bass": bass}


def test_musdb_reader(tmp_path, count_pyin):
    src = make_musdb(tmp_path / "musdb")
    cache = tmp_path / "cache"
    ds = MusdbDataset(tmp_path / "musdb", "train", cache_dir=cache)
    assert ds.names == ["Artist A - First Song", "Band B - Second Song"]
    assert ds.groups == ["Artist A", "Band B"]
    track = ds.load(0)
    assert track.sample_rate == SR and track.group == "Artist A"
    # stereo (x, x/2) -> mono 0.75 x
    np.testing.assert_allclose(track.vocals, 0.75 * src["voice"], atol=1e-6)
    np.testing.assert_allclose(track.accompaniment, 0.75 * src["accompaniment"], atol=1e-5)
    assert track.meta["accompaniment_from"] == "stems"
    voiced = (track.f0_times > 0.4) & (track.f0_times < 1.1)
    assert np.all(cents(track.f0_hz[voiced], 220.0) < 50)
    assert np.all(track.f0_hz[track.f0_times < 0.2] == 0)
    assert len(count_pyin) == 1

    second = ds.load(1)
    np.testing.assert_allclose(second.accompaniment, 0.75 * src["bass"], atol=1e-5)
    assert second.meta["accompaniment_from"] == "mixture-vocals"
    voiced = (second.f0_times > 0.3) & (second.f0_times < 1.2)
    assert np.all(cents(second.f0_hz[voiced], 330.0) < 50)
    assert len(count_pyin) == 2

    # Loading again hits the cache.
    again = MusdbDataset(tmp_path / "musdb", "train", cache_dir=cache).load(0)
    assert len(count_pyin) == 2
    assert np.array_equal(again.f0_hz, track.f0_hz)

    test = MusdbDataset(tmp_path / "musdb", "test", cache_dir=cache)
    assert test.names == ["Artist A - Live"] and test.groups == ["Artist A"]
    train, valid = ds.split(["Band B"])
    assert train.names == ["Artist A - First Song"] and valid.names == ["Band B - Second Song"]


def test_musdb_resamples_and_rejects_bad_input(tmp_path):
    make_musdb(tmp_path / "musdb")
    track = MusdbDataset(tmp_path / "musdb", "test", sample_rate=16000,
                         cache_dir=tmp_path / "cache").load(0)
    assert track.sample_rate == 16000 and len(track.vocals) == int(1.5 * 16000)
    assert len(track.f0_hz) == 1 + len(track.vocals) // 160
    with pytest.raises(ValueError):
        MusdbDataset(tmp_path / "musdb", "valid")
    with pytest.raises(AudioError):
        MusdbDataset(tmp_path / "nowhere", "train")


# ---------------------------------------------------------------------------------------------
# MedleyDB
# ---------------------------------------------------------------------------------------------

METADATA = """album: ''
artist: Some Band
composer:
- Some Band
excerpt: 'no'
genre: Pop
has_bleed: 'no'
instrumental: '{instrumental}'
mix_filename: {name}_MIX.wav
origin: Test
producer: []
raw_dir: {name}_RAW
stem_dir: {name}_STEMS
stems:
{stems}title: A Title
version: 1.2
website: []
"""


def stem_yaml(index, name, instrument):
    return (f"  S{index:02d}:\n    component: ''\n    filename: {name}_STEM_{index:02d}.wav\n"
            f"    instrument: {instrument}\n    raw:\n      R01:\n"
            f"        filename: {name}_RAW_{index:02d}_01.wav\n        instrument: {instrument}\n")


def make_medleydb(root, with_missing_stem=False):
    seconds = 2.2
    tracks = {}

    def track(name, stems, instrumental="no", annotation=None, skip_files=()):
        folder = root / "Audio" / name
        folder.mkdir(parents=True)
        text = "".join(stem_yaml(i + 1, name, inst) for i, (inst, _) in enumerate(stems))
        (folder / f"{name}_METADATA.yaml").write_text(
            METADATA.format(name=name, stems=text, instrumental=instrumental))
        mix = np.zeros(int(seconds * SR), dtype=np.float32)
        for i, (_, x) in enumerate(stems):
            mix += x
            if i + 1 not in skip_files:
                write(folder / f"{name}_STEMS" / f"{name}_STEM_{i + 1:02d}.wav", x)
        write(folder / f"{name}_MIX.wav", mix)
        if annotation is not None:
            path = root / "Annotations" / "Melody_Annotations" / "MELODY2" / f"{name}_MELODY2.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(f"{t!r},{f!r}\n" for t, f in annotation))
        tracks[name] = stems

    # Voice: 220 Hz 0.2-1.0 s, silent, then 247 Hz 1.6-2.1 s. A guitar carries the melody
    # (330 Hz) in the voice's rest, and MELODY2 annotates it there.
    voice = tone(220.0, seconds, on=(0.2, 1.0)) + tone(247.0, seconds, on=(1.6, 2.1))
    guitar = tone(330.0, seconds, on=(1.05, 1.55), amp=0.2)
    bass = tone(55.0, seconds, amp=0.2)
    hop = 256 / 44100
    annotation = []
    for k in range(int(seconds / hop)):
        t = k * hop
        f = 220.0 if 0.2 <= t < 1.0 else 330.0 if 1.05 <= t < 1.55 else 0.0
        f = 330.0 if 1.6 <= t < 2.1 else f  # wrong where the voice sings 247 Hz
        annotation.append((t, f))
    track("SomeBand_Song", [("male singer", voice), ("clean electric guitar", guitar),
                            ("electric bass", bass)], annotation=annotation)
    track("SomeBand_Instrumental", [("electric bass", bass), ("piano", guitar)], instrumental="yes")
    backing = tone(300.0, seconds, on=(0.3, 1.8))
    track("Other_Tune", [("vocalists", backing), ("drum set", bass)],
          skip_files=(2,) if with_missing_stem else ())
    return {"voice": voice, "guitar": guitar, "bass": bass, "backing": backing}


def test_medleydb_reader(tmp_path, count_pyin):
    src = make_medleydb(tmp_path / "mdb", with_missing_stem=True)
    cache = tmp_path / "cache"
    ds = MedleyDBDataset(tmp_path / "mdb", cache_dir=cache)
    assert ds.names == ["Other_Tune", "SomeBand_Song"]  # the instrumental is skipped
    assert ds.groups == ["Other", "SomeBand"]

    song = ds.load(1)
    assert song.sample_rate == SR
    np.testing.assert_allclose(song.vocals, 0.75 * src["voice"], atol=1e-6)
    np.testing.assert_allclose(song.accompaniment, 0.75 * (src["guitar"] + src["bass"]), atol=1e-5)
    assert song.meta["vocal_instruments"] == ["male singer"]
    assert song.meta["f0_source"] == "melody2+pyin"
    t, f0 = song.f0_times, song.f0_hz
    # The annotation where the voice sings it ...
    first = (t > 0.25) & (t < 0.95)
    np.testing.assert_allclose(f0[first], 220.0)
    # ... nothing where only the guitar plays (annotated, but the voice is silent) ...
    assert np.all(f0[(t > 1.1) & (t < 1.5)] == 0)
    # ... and the vocal stem's own pitch where the annotation names another one.
    second = (t > 1.65) & (t < 2.05)
    assert np.all(cents(f0[second], 247.0) < 50)
    assert len(count_pyin) == 1

    # Without the check the annotation is trusted wherever the voice is active.
    trusting = MedleyDBDataset(tmp_path / "mdb", cache_dir=cache, pyin_check=False).load(1)
    assert trusting.meta["f0_source"] == "melody2"
    np.testing.assert_allclose(trusting.f0_hz[second], 330.0)
    assert np.all(trusting.f0_hz[(t > 1.1) & (t < 1.5)] == 0)

    # No annotation and a missing accompaniment stem: pYIN, and mix - vocals.
    other = ds.load(0)
    assert other.meta["f0_source"] == "pyin"
    assert other.meta["accompaniment_from"] == "mix-vocals"
    np.testing.assert_allclose(other.accompaniment, 0.75 * src["bass"], atol=1e-5)
    voiced = (other.f0_times > 0.4) & (other.f0_times < 1.7)
    assert np.all(cents(other.f0_hz[voiced], 300.0) < 50)
    assert np.all(other.f0_hz[other.f0_times > 1.9] == 0)
    assert len(count_pyin) == 2

    # Cached: a second dataset object does not run pYIN again.
    MedleyDBDataset(tmp_path / "mdb", cache_dir=cache).load(1)
    assert len(count_pyin) == 2


def test_medleydb_yaml_and_csv_parsing(tmp_path):
    meta = parse_simple_yaml(METADATA.format(
        name="X_Y", instrumental="no",
        stems=stem_yaml(1, "X_Y", "female singer") + stem_yaml(2, "X_Y", "drum set")))
    assert meta["artist"] == "Some Band" and meta["composer"] == ["Some Band"]
    assert meta["excerpt"] == "no" and meta["album"] == "" and meta["website"] == []
    assert meta["stems"]["S01"]["instrument"] == "female singer"
    assert meta["stems"]["S02"]["filename"] == "X_Y_STEM_02.wav"
    assert meta["stems"]["S01"]["raw"]["R01"]["instrument"] == "female singer"
    assert meta["title"] == "A Title" and meta["version"] == "1.2"
    path = tmp_path / "m.csv"
    path.write_text("time,f0\n0.0,0.0\n0.0058,220.5\nbroken\n0.0116,-1\n")
    times, f0 = read_melody_csv(path)
    np.testing.assert_allclose(times, [0.0, 0.0058, 0.0116])
    np.testing.assert_allclose(f0, [0.0, 220.5, 0.0])
    with pytest.raises(AudioError):
        MedleyDBDataset(tmp_path / "nowhere")
