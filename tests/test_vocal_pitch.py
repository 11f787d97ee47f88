"""The melody's pitch measured on the separated vocal (core.music.vocal_pitch)."""
from __future__ import annotations

import numpy as np
import torch
import pytest

from core.audio import spectral
from core.audio.io import Audio
from core.music import pitch, vocal_pitch
from core.progress import run
from core.separation.separate import separate_iter

RATE = spectral.MODEL_SAMPLE_RATE


def sung(f0_of_t, seconds: float, *, odd: float = 1.0, noise: float = 0.02, seed: int = 0):
    """A harmonic voice at 16 kHz following ``f0_of_t`` (Hz per sample); ``odd`` scales its odd
    harmonics (small: the octave above is nearly as plausible). Returns (samples, f0 per sample)."""
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = f0_of_t(t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    voice = sum((odd if h % 2 else 1.0) * np.sin(h * phase) / h for h in range(1, 12))
    voice = voice + noise * np.random.default_rng(seed).standard_normal(len(t))
    return voice, f0


def frame_truth(f0_per_sample: np.ndarray, n_frames: int) -> np.ndarray:
    at = np.minimum(np.arange(n_frames) * spectral.HOP, len(f0_per_sample) - 1)
    return f0_per_sample[at]


def cents(a, b):
    return 1200 * np.abs(np.log2(np.asarray(a) / np.asarray(b)))


def test_cmndf_is_yins_difference_function():
    frames = np.random.default_rng(1).standard_normal((3, vocal_pitch.YIN_FRAME))
    out = vocal_pitch.cmndf(torch.from_numpy(frames)).numpy()
    width = vocal_pitch.YIN_FRAME - vocal_pitch.MAX_PERIOD
    for f in range(3):
        x = frames[f]
        d = np.array([np.sum((x[:width] - x[lag:lag + width]) ** 2)
                      for lag in range(vocal_pitch.MAX_PERIOD + 1)])
        expected = np.ones_like(d)
        expected[1:] = d[1:] / (np.cumsum(d[1:]) / np.arange(1, len(d)))
        np.testing.assert_allclose(out[f], expected, rtol=1e-6, atol=1e-9)


def test_the_contour_follows_a_sung_melody_to_a_few_cents():
    notes = 180.0 * 2 ** (np.array([0, 3, 7, 12, 5]) / 12)
    def melody(t):
        return notes[(t * 2).astype(int) % 5] * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))

    voice, f0 = sung(melody, 3.0)
    n_frames = len(voice) // spectral.HOP + 1
    found, periodicity = vocal_pitch.yin_contour(voice, n_frames)
    error = cents(found, frame_truth(f0, n_frames))
    assert np.median(error) < 5
    assert np.mean(error < 50) > 0.97
    # a clear voice repeats clearly at its pitch; silence repeats at no period
    assert periodicity.shape == (n_frames, 2) and np.median(periodicity[:, 0]) > 0.5
    assert np.all(periodicity[:, 0] <= periodicity[:, 1] + 1e-6)
    _, nothing = vocal_pitch.yin_contour(np.zeros_like(voice), n_frames)
    assert np.all(nothing == 0)


def test_the_networks_saliency_settles_the_octave_the_vocal_leaves_open():
    # Odd harmonics 20 dB down: alone, the voice reads as its own octave above.
    voice, f0 = sung(lambda t: np.full_like(t, 150.0), 2.0, odd=0.1, noise=0.0)
    n_frames = len(voice) // spectral.HOP + 1
    for told in (150.0, 300.0):
        prior = pitch.f0_to_saliency(np.full(n_frames, told))
        found, _ = vocal_pitch.yin_contour(voice, n_frames, prior)
        assert np.mean(cents(found, told) < 50) > 0.95, told


def test_a_song_is_measured_in_pieces_as_in_one(monkeypatch):
    voice, f0 = sung(lambda t: 200.0 * 2 ** (np.floor(t) % 4 / 12), 6.0)
    n_frames = len(voice) // spectral.HOP + 1
    saliency = pitch.f0_to_saliency(frame_truth(f0, n_frames) * 1.01)

    def between(start, stop):
        return voice[start:stop]

    whole, _ = run(vocal_pitch.vocal_pitch_iter(between, saliency))
    monkeypatch.setattr(vocal_pitch, "PIECE_FRAMES", 97)  # many pieces, none aligned to notes
    pieces, _ = run(vocal_pitch.vocal_pitch_iter(between, saliency))
    assert pieces.shape == whole.shape == (n_frames,)
    assert np.mean(cents(pieces, whole) < 5) > 0.99
    assert np.median(cents(whole, frame_truth(f0, n_frames))) < 5


def test_the_measured_pitch_keeps_the_networks_voicing():
    network = np.array([0.0, 220.0, -230.0, 0.0, 240.0])
    measured = np.array([100.0, 221.0, 231.0, 0.0, 0.0])
    np.testing.assert_allclose(vocal_pitch.with_measured_pitch(network, measured),
                               [0.0, 221.0, -231.0, 0.0, 240.0])
    np.testing.assert_allclose(vocal_pitch.with_measured_pitch(network, None), network)


@pytest.mark.parametrize("silent", [False, True])
def test_separation_measures_the_pitch_and_leaves_the_stems_alone(silent):
    from tests.conftest import synth_song, tiny_model

    mixture, _voice, _f0 = synth_song(seconds=2.0)
    if silent:  # a song whose vocal the mask removes entirely still gets an answer
        mixture[:, : mixture.shape[1] // 2] = 0.0
    audio = Audio(mixture, 44100)
    model = tiny_model()
    measured = run(separate_iter(audio, model, with_beats=False))
    plain = run(separate_iter(audio, model, with_beats=False, measure_pitch=False))
    np.testing.assert_array_equal(measured.vocals, plain.vocals)
    assert plain.analysis.measured_pitch_hz is None
    shown, network = measured.f0_hz, plain.f0_hz
    np.testing.assert_array_equal(shown > 0, network > 0)  # the network's voicing
    assert measured.analysis.measured_pitch_hz.shape == (measured.analysis.n_frames,)
    assert measured.analysis.vocal_periodicity.shape == (measured.analysis.n_frames, 2)
    assert plain.analysis.vocal_periodicity is None
    # each is judged by the confidence fitted to it
    assert measured.analysis.f0_confidence().shape == plain.analysis.f0_confidence().shape
    assert np.all(np.isfinite(shown))
    voiced = shown > 0
    if voiced.any():
        np.testing.assert_array_equal(shown[voiced], measured.analysis.measured_pitch_hz[voiced])


def test_the_threshold_prior_is_the_beta_distribution():
    from scipy.stats import beta

    x = np.linspace(0.0, 1.0, 101)
    for a, b in ((2, 18), (1, 1), (3, 5)):
        np.testing.assert_allclose(vocal_pitch.beta_cdf(x, a, b), beta(a, b).cdf(x), atol=1e-12)


def test_the_pitch_hears_the_fundamental_the_exemplars_took_away():
    from core.separation.separate import FUNDAMENTAL_BINS, ModelAnalysis, measure_pitch_iter

    voice, f0 = sung(lambda t: np.full_like(t, 200.0), 2.0, noise=0.0)
    n_frames = len(voice) // spectral.HOP + 1
    saliency = pitch.f0_to_saliency(np.full(n_frames, 200.0))
    # the final mask keeps nothing (as if the exemplars gave every bin to the accompaniment)
    nothing = np.zeros((spectral.N_BINS, n_frames), np.float32)
    plain = ModelAnalysis(nothing, saliency)
    run(measure_pitch_iter(plain, voice.astype(np.float32)))
    assert np.all(plain.vocal_periodicity == 0)  # silence: the pitch is the networks' guess
    fundamental = pitch.harmonic_mask(np.full(n_frames, 200.0),
                                      spectral.bin_frequencies()[:FUNDAMENTAL_BINS], n_harmonics=1)
    kept = ModelAnalysis(nothing.copy(), saliency, fundamental_mask=fundamental)
    run(measure_pitch_iter(kept, voice.astype(np.float32)))
    assert kept.fundamental_mask is None  # let go once heard
    inside = slice(10, n_frames - 10)
    assert np.median(kept.vocal_periodicity[inside, 0]) > 0.5  # heard, not guessed
    assert np.mean(cents(kept.measured_pitch_hz[inside], 200.0) < 20) > 0.95
    np.testing.assert_array_equal(kept.vocal_mask, nothing)  # the stems' mask is left alone


def test_the_networks_mask_under_their_fundamental_is_kept_before_the_exemplars():
    from tests.conftest import synth_song, tiny_model
    from core.separation.separate import FUNDAMENTAL_BINS, analyse_iter, model_input

    mixture, _voice, _f0 = synth_song(seconds=3.0)
    mono16 = model_input(Audio(mixture, 44100))
    analysis = run(analyse_iter(tiny_model(), spectral.model_magnitude(mono16)))
    kept = analysis.fundamental_mask
    assert kept.shape == (FUNDAMENTAL_BINS, analysis.n_frames) and kept.dtype == np.float16
    kept = kept.astype(np.float32)
    assert np.all((kept >= 0) & (kept <= 1))
    # nothing away from the fundamental of the networks' own F0, nothing where it hears no voice
    near = pitch.harmonic_mask(analysis.network_f0_hz(),
                               spectral.bin_frequencies()[:FUNDAMENTAL_BINS], n_harmonics=1)
    assert np.all(kept <= near + 1e-3)  # float16
    assert FUNDAMENTAL_BINS * spectral.BIN_HZ > pitch.f0_bin_to_hz(pitch.N_F0_BINS - 1)
