import numpy as np
import pytest
import torch

from core.audio import spectral
from core.music import pitch


def test_stft_istft_reconstructs():
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 12345)).astype(np.float32))
    spec = spectral.stft(x)
    assert spec.shape == (2, spectral.N_FFT // 2 + 1, spectral.n_frames_for(12345))
    y = spectral.istft(spec, length=12345)
    assert torch.max(torch.abs(x - y)) < 1e-5


def test_model_magnitude_shape_and_frame_times():
    mag = spectral.model_magnitude(np.zeros(16000, np.float32))
    assert mag.shape == (spectral.N_BINS, 16000 // spectral.HOP + 1)
    times = spectral.frame_times(4)
    assert np.allclose(times, [0, 0.016, 0.032, 0.048])


def test_magnitude_frames_equal_the_whole_spectrogram_in_any_span(monkeypatch):
    samples = np.random.default_rng(1).standard_normal(16000 * 3).astype(np.float32)
    whole = spectral.model_magnitude(samples)
    frames = spectral.MagnitudeFrames(samples)
    assert frames.shape == tuple(whole.shape)
    monkeypatch.setattr(spectral, "FRAMES_AT_ONCE", 7)  # long spans are computed in blocks
    for a, b in ((0, 5), (0, whole.shape[1]), (3, 40), (100, whole.shape[1] + 9)):
        part = frames[:, a:b]
        assert part.shape == (spectral.N_BINS, min(b, whole.shape[1]) - a)
        torch.testing.assert_close(part, whole[:, a:b], atol=1e-4, rtol=1e-5)


def test_column_argmax_is_numpys_in_blocks():
    values = np.random.default_rng(2).random((256, 1000), dtype=np.float32)
    np.testing.assert_array_equal(pitch.column_argmax(values, block=64), values.argmax(axis=0))


@pytest.mark.parametrize("hz", [65.40639, 110.0, 261.6256, 440.0, 1046.5])
def test_hz_bin_midi_round_trip(hz):
    assert pitch.f0_bin_to_hz(pitch.hz_to_f0_bin(hz)) == pytest.approx(hz, rel=1e-9)
    assert pitch.midi_to_hz(pitch.hz_to_midi(hz)) == pytest.approx(hz, rel=1e-9)


def test_grid_covers_c2_to_c6_at_20_cents():
    f = pitch.f0_bin_frequencies()
    assert f[0] == pytest.approx(65.406, abs=1e-3)
    assert f[-1] > pitch.midi_to_hz(pitch.note_name_to_midi("C6"))
    cents = 1200 * np.log2(f[1:] / f[:-1])
    assert np.allclose(cents, 20.0)
    assert pitch.hz_to_f0_bin(440.0) == pytest.approx(5 * (69 - 36))


def test_note_names():
    assert pitch.midi_to_note_name(69) == "A4"
    assert pitch.midi_to_note_name(60.4) == "C4"
    assert pitch.note_name_to_midi("C#3") == 49
    assert pitch.note_name_to_midi("Eb5") == 75
    with pytest.raises(ValueError):
        pitch.note_name_to_midi("H2")
    assert pitch.hz_to_midi(0.0) == 0.0 and pitch.midi_to_hz(0.0) == 0.0


def test_trajectory_decoding_on_synthetic_saliency():
    true_f0 = np.array([0, 110.0, 123.4, 440.0, 0, 880.0, 300.0])
    saliency = pitch.f0_to_saliency(true_f0)
    saliency[:, -1] *= 0.05  # a weak frame below the voicing threshold -> unvoiced
    # One-frame notes: the paper's per-frame decoding (the contour would call them blips).
    decoded = pitch.saliency_to_f0(saliency, contour=False)
    voiced = true_f0 > 0
    voiced[-1] = False
    assert np.all(decoded[~voiced] == 0)
    cents = 1200 * np.abs(np.log2(decoded[voiced] / true_f0[voiced]))
    assert cents.max() < 3.0  # sub-bin refinement: far better than the 20-cent bins


def test_target_is_gaussian_around_f0():
    target = pitch.f0_to_saliency(np.array([440.0, 0.0]))
    peak = target[:, 0].argmax()
    assert peak == round(float(pitch.hz_to_f0_bin(440.0)))
    assert target[peak, 0] == pytest.approx(1.0)
    assert target[peak + 3, 0] < 0.02
    assert target[:, 1].max() == 0


def test_harmonic_mask_marks_harmonics():
    bins = spectral.bin_frequencies()
    mask = pitch.harmonic_mask(np.array([200.0, 0.0]), bins)
    for h in (1, 2, 5):
        assert mask[int(round(h * 200 / spectral.BIN_HZ)), 0] > 0.8
    assert mask[int(round(300 / spectral.BIN_HZ)), 0] < 0.1
    assert mask[:, 1].max() == 0


def _saliency_of(bins_per_frame, height=0.8):
    """A saliency map with one Gaussian ridge per frame at the given bins (NaN = none)."""
    grid = np.arange(pitch.N_F0_BINS)[:, None]
    b = np.asarray(bins_per_frame, dtype=float)
    s = height * np.exp(-0.5 * ((grid - np.nan_to_num(b, nan=-100)[None, :]) / 1.0) ** 2)
    return (s * np.isfinite(b)[None, :]).astype(np.float32)


def test_contour_removes_octave_spikes_but_keeps_note_changes():
    bins = np.r_[np.full(40, 100.0), np.full(40, 125.0)]  # a held change of five semitones
    saliency = _saliency_of(bins)
    # Two frames where the octave above is a little more salient than the note itself.
    for t in (20, 21):
        saliency[:, t] *= 0.5
        saliency[:, t] += _saliency_of([160.0], 0.7)[:, 0]
    peaks = pitch.hz_to_f0_bin(pitch.saliency_to_f0(saliency, contour=False))
    contour = pitch.hz_to_f0_bin(pitch.saliency_to_f0(saliency))
    assert np.allclose(peaks[20:22], 160, atol=0.5)  # the per-frame peak jumps an octave
    assert np.allclose(contour[:40], 100, atol=0.5) and np.allclose(contour[40:], 125, atol=0.5)


def test_contour_drops_voicing_blips_and_keeps_notes():
    bins = np.full(60, np.nan)
    bins[10:12] = 90.0    # 32 ms: a blip
    bins[30:50] = 110.0   # 320 ms: a note
    f0 = pitch.saliency_to_f0(_saliency_of(bins))
    assert np.all(f0[10:12] == 0)
    assert np.all(f0[30:50] > 0) and np.all(f0[:30] == 0) and np.all(f0[50:] == 0)
    assert np.all(pitch.saliency_to_f0(_saliency_of(bins), contour=False)[10:12] > 0)
    # Unvoiced frames still carry a pitch guess for melody scoring.
    guesses = pitch.f0_with_pitch_guesses(_saliency_of(bins))
    assert np.all(guesses[10:12] < 0)
