import numpy as np
import pytest
import torch

from core import pitch, spectral


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
    decoded = pitch.saliency_to_f0(saliency)
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
