"""Synthetic songs: deterministic, clean levels, exact F0, distractors only in the backing."""
import numpy as np
import pytest

from core.training.data.base import Track
from core.training.data.songs.dsp import harmonics, midi_to_hz
from core.training.data.songs.synthetic import SyntheticDataset, generate_track
from core.training.data.songs.voice import VOICE_F0_RANGE

SR = 44100
SECONDS = 4.0


@pytest.fixture(scope="module")
def tracks():
    ds = SyntheticDataset(6, seconds=SECONDS, sample_rate=SR, seed=11)
    return [ds.load(i) for i in range(len(ds))]


def test_dataset_names_groups_and_shapes(tracks):
    ds = SyntheticDataset(6, seconds=SECONDS, sample_rate=SR, seed=11)
    assert len(ds) == 6
    assert ds.names[3] == "synthetic_0003"
    assert ds.groups == ds.names
    n = int(SECONDS * SR)
    for i, tr in enumerate(tracks):
        assert isinstance(tr, Track)
        assert tr.name == ds.names[i] and tr.group == tr.name
        assert tr.sample_rate == SR
        assert tr.vocals.shape == (n,) and tr.accompaniment.shape == (n,)
        assert tr.vocals.dtype == np.float32 and tr.accompaniment.dtype == np.float32
        assert tr.f0_times.shape == tr.f0_hz.shape == (1 + n // 441,)
        np.testing.assert_allclose(tr.f0_times, np.arange(len(tr.f0_times)) * 0.01)
    with pytest.raises(IndexError):
        ds.load(6)


def test_deterministic_per_seed_and_index(tracks):
    again = SyntheticDataset(6, seconds=SECONDS, sample_rate=SR, seed=11).load(2)
    assert np.array_equal(again.vocals, tracks[2].vocals)
    assert np.array_equal(again.accompaniment, tracks[2].accompaniment)
    assert np.array_equal(again.f0_hz, tracks[2].f0_hz)
    assert not np.array_equal(tracks[1].vocals, tracks[2].vocals)
    other_seed = SyntheticDataset(6, seconds=SECONDS, sample_rate=SR, seed=12).load(2)
    assert not np.array_equal(other_seed.vocals, tracks[2].vocals)
    # generate_track itself depends only on the generator's state
    a = generate_track(np.random.default_rng(5), 1.0, 16000)
    b = generate_track(np.random.default_rng(5), 1.0, 16000)
    assert np.array_equal(a.mixture, b.mixture) and np.array_equal(a.f0_hz, b.f0_hz)


def test_levels_finite_no_clipping(tracks):
    for tr in tracks:
        for x in (tr.vocals, tr.accompaniment, tr.mixture):
            assert np.isfinite(x).all()
            assert np.max(np.abs(x)) <= 1.0
        assert np.max(np.abs(tr.vocals)) > 0.01 and np.max(np.abs(tr.accompaniment)) > 0.01
        ratio = 20 * np.log10(np.sqrt(np.mean(tr.vocals.astype(np.float64) ** 2))
                              / np.sqrt(np.mean(tr.accompaniment.astype(np.float64) ** 2)))
        assert -6.1 <= tr.meta["vocal_to_accompaniment_db"] <= 6.1
        assert ratio == pytest.approx(tr.meta["vocal_to_accompaniment_db"], abs=0.05)


def test_f0_range_and_voicing(tracks):
    registers = set()
    for tr in tracks:
        voiced = tr.f0_hz > 0
        assert 0.2 < voiced.mean() < 0.95  # phrases and rests
        assert tr.f0_hz[voiced].min() >= VOICE_F0_RANGE[0]
        assert tr.f0_hz[voiced].max() <= VOICE_F0_RANGE[1]
        registers.add(tr.meta["register"])
        # The voice is silent (apart from breaths, consonants, reverb) where f0 = 0 for long
        rms = np.array([np.sqrt(np.mean(tr.vocals[int(t * SR):int(t * SR) + 441] ** 2))
                        for t in tr.f0_times[:-1]])
        assert np.median(rms[voiced[:-1]]) > 10 * np.median(rms[~voiced[:-1]])
    assert registers == {"male", "female"}


def yin_f0(y, sr, fmin=70.0, fmax=1000.0, frame=1024, hop=160, threshold=0.15):
    """A small YIN (difference function by FFT, cumulative-mean normalisation, first dip under
    threshold, parabolic refinement): frame k centred on sample k * hop. Plain numpy, so the test
    does not pay for compiling librosa's numba kernels."""
    window = frame // 2
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(y, frame // 2), frame)[::hop]
    frames = frames.astype(np.float64)
    lag_min, lag_max = int(sr / fmax), int(sr / fmin)
    size = 2 * frame
    corr = np.fft.irfft(np.conj(np.fft.rfft(frames[:, :window], size)) * np.fft.rfft(frames, size),
                        size)[:, :lag_max + 2]
    energy = np.cumsum(frames ** 2, axis=1)
    e0 = energy[:, window - 1:window]
    lags = np.arange(lag_max + 2)
    e_lag = energy[:, lags + window - 1] - np.concatenate(
        [np.zeros((len(frames), 1)), energy[:, lags[1:] - 1]], axis=1)
    diff = np.maximum(e0 + e_lag - 2 * corr, 0.0)
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] * lags[1:] / np.maximum(np.cumsum(diff[:, 1:], axis=1), 1e-12)
    f0 = np.zeros(len(frames))
    for k, row in enumerate(cmnd):
        below = np.flatnonzero(row[lag_min:lag_max] < threshold)
        lag = lag_min + (below[0] if len(below) else int(np.argmin(row[lag_min:lag_max])))
        while lag + 1 < lag_max and row[lag + 1] < row[lag]:
            lag += 1
        a, b, c = row[lag - 1], row[lag], row[lag + 1]
        shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) > 0 else 0.0
        f0[k] = sr / (lag + shift)
    return f0


def _yin_cents_error(track):
    import soxr

    y = soxr.resample(track.vocals, track.sample_rate, 16000)
    est = yin_f0(y, 16000)
    m = min(len(est), len(track.f0_hz))
    ref = track.f0_hz[:m]
    voiced = ref > 0
    core = voiced.copy()  # away from voicing boundaries, where a 64 ms window straddles silence
    for s in (1, 2, 3):
        core[s:] &= voiced[:-s]
        core[:-s] &= voiced[s:]
    return np.abs(1200 * np.log2(est[:m][core] / ref[core]))


def test_returned_f0_is_the_f0_of_the_vocal_stem(tracks):
    pooled = []
    for tr in tracks[:4]:
        err = _yin_cents_error(tr)
        assert len(err) > 40
        assert np.mean(err < 50) > 0.8, (tr.name, np.mean(err < 50))
        pooled.append(err)
    pooled = np.concatenate(pooled)
    assert len(pooled) > 300
    assert np.mean(pooled < 50) > 0.9


def stft_mag(x, n_fft, hop):
    """|STFT| (n_fft/2+1, n_frames), Hann window, frame k centred on sample k * hop."""
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(x, n_fft // 2), n_fft)[::hop]
    return np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1)).T


def test_distractors_play_in_the_accompaniment_not_in_the_vocals():
    ds = SyntheticDataset(8, seconds=SECONDS, sample_rate=SR, seed=3)
    checked = 0
    in_range = 0
    kinds = set()
    for i in range(len(ds)):
        tr = ds.load(i)
        for d in tr.meta["distractors"]:
            kinds.add(d["role"])
            lead = d["f0_hz"]
            assert lead.shape == tr.f0_hz.shape
            # Frames where the lead plays and the voice has rested for 300 ms either side
            # (no reverb tail, no breath right there).
            rest = tr.f0_hz == 0
            quiet = rest.copy()
            for s in range(1, 31):
                quiet[s:] &= rest[:-s]
                quiet[:-s] &= rest[s:]
            frames = np.flatnonzero((lead > 0) & quiet)
            if len(frames) < 20:
                continue
            n_fft = 8192
            spec_v = stft_mag(tr.vocals, n_fft, 441)
            spec_a = stft_mag(tr.accompaniment, n_fft, 441)
            bins = np.round(lead[frames] * n_fft / SR).astype(int)
            near = np.clip(bins[:, None] + np.arange(-2, 3)[None, :], 0, n_fft // 2)
            e_v = spec_v[near, frames[:, None]].max(axis=1)
            e_a = spec_a[near, frames[:, None]].max(axis=1)
            # The lead's fundamental stands out in the accompaniment ...
            floor_a = np.median(spec_a[:, frames], axis=0)
            assert np.median(e_a / (floor_a + 1e-9)) > 10
            # ... and is (at least 26 dB) absent from the vocal stem.
            assert np.median(e_v / (e_a + 1e-9)) < 0.05
            # Around the singer's range (within two octaves of the voice's median F0), often
            # right in it (within a fifth).
            voice = np.median(tr.f0_hz[tr.f0_hz > 0])
            distance = abs(12 * np.log2(np.median(lead[lead > 0]) / voice))
            assert distance <= 24
            in_range += distance <= 7
            checked += 1
    assert checked >= 3
    assert in_range >= 2
    assert "fills" in kinds


def test_harmonics_are_band_limited_and_exact():
    sr = 16000
    t = np.arange(sr) / sr
    f0 = 440.0
    phase = 2 * np.pi * f0 * t
    x = harmonics(phase, f0, np.log(0.9), sr)
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / sr)
    # Harmonic k at k * f0 with amplitude 0.9**k; nothing between harmonics or above Nyquist.
    peaks = [spec[int(round(k * f0))] for k in range(1, 6)]
    np.testing.assert_allclose(np.array(peaks[1:]) / np.array(peaks[:-1]), 0.9, rtol=1e-3)
    between = spec[(np.abs(freqs / f0 - np.round(freqs / f0)) > 0.1)]
    assert between.max() < 1e-3 * max(peaks)
    top = (sr / 2 - 2 * f0 - 20) / f0  # harmonics 1..int(top), then one weighted by its fraction
    direct = sum(0.9 ** k * np.cos(k * phase) for k in range(1, int(top) + 1))
    w, k = top % 1, int(top) + 1
    np.testing.assert_allclose(x, direct + w * 0.9 ** k * np.cos(k * phase), atol=1e-9)
    assert midi_to_hz(69) == 440.0
