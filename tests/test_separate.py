import numpy as np
import pytest
import torch

from core.audio import spectral
from core.audio.io import Audio
from core.errors import AudioError
from core.music import pitch
from core.progress import run
from core.separation.corrections import Corrections
from core.separation.separate import (analyse_iter, apply_mask_iter, native_grid, separate_iter,
                                    window_outputs)
from tests.conftest import synth_song, tiny_model


def test_chunked_inference_matches_one_shot():
    model = tiny_model()
    x, _, _ = synth_song(seconds=8.0, sample_rate=16000, channels=1)
    magnitude = spectral.model_magnitude(x[0])
    whole = run(analyse_iter(model, magnitude, chunk_frames=4096, context_frames=256))
    chunked = run(analyse_iter(model, magnitude, chunk_frames=128, context_frames=256))
    assert whole.vocal_mask.shape == chunked.vocal_mask.shape == (spectral.N_BINS, magnitude.shape[1])
    assert np.max(np.abs(whole.vocal_mask - chunked.vocal_mask)) < 2e-3
    assert np.max(np.abs(whole.f0_saliency - chunked.f0_saliency)) < 2e-3


def test_a_drawn_f0_moves_the_mask_only_on_its_own_frames():
    model = tiny_model()
    torch.manual_seed(1)
    piece = torch.rand(1, spectral.N_BINS, 128) * 3
    drawn = Corrections().draw(np.arange(40, 60) * spectral.HOP_SECONDS, np.full(20, 330.0))
    with torch.inference_mode():
        plain, _ = window_outputs(model, piece, 0)
        heard, saliency = window_outputs(model, piece, 0, drawn)
        # a deletion, unlike a drawn note, is heard by the frames beside it
        deleted, _ = window_outputs(model, piece, 0, drawn.erase(80 * spectral.HOP_SECONDS,
                                                                 90 * spectral.HOP_SECONDS))
    assert drawn.drawn_frames(0, 128).nonzero()[0].tolist() == list(range(40, 60))
    assert torch.equal(heard[..., :40], plain[..., :40])
    assert torch.equal(heard[..., 60:], plain[..., 60:])
    assert (heard[..., 40:60] - plain[..., 40:60]).abs().max() > 1e-3
    # the saliency returned is the one the drawn frames were heard with
    assert pitch.saliency_to_f0(saliency[0].numpy())[50] == pytest.approx(330, rel=1e-2)
    assert (deleted[..., 60:78] - plain[..., 60:78]).abs().max() > 1e-4


def test_inference_is_deterministic():
    model = tiny_model()
    magnitude = torch.rand(spectral.N_BINS, 300)
    a = run(analyse_iter(model, magnitude))
    b = run(analyse_iter(model, magnitude))
    assert np.array_equal(a.vocal_mask, b.vocal_mask)


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_mask_of_ones_gives_back_the_input(rate):
    rng = np.random.default_rng(1)
    samples = rng.uniform(-0.5, 0.5, (2, int(rate * 1.3))).astype(np.float32)
    n_model = spectral.n_frames_for(int(1.3 * spectral.MODEL_SAMPLE_RATE))
    vocals = run(apply_mask_iter(samples, rate, np.ones((spectral.N_BINS, n_model), np.float32)))
    assert vocals.shape == samples.shape
    assert np.max(np.abs(vocals - samples)) < 1e-4


def test_blockwise_mask_application_has_no_seams():
    rate = 44100
    samples = np.random.default_rng(2).uniform(-0.5, 0.5, (1, rate * 3)).astype(np.float32)
    n_model = spectral.n_frames_for(3 * spectral.MODEL_SAMPLE_RATE)
    mask = np.random.default_rng(3).uniform(0, 1, (spectral.N_BINS, n_model)).astype(np.float32)
    one = run(apply_mask_iter(samples, rate, mask, block_frames=100000))
    blocks = run(apply_mask_iter(samples, rate, mask, block_frames=37))
    assert np.max(np.abs(one - blocks)) < 1e-5


def test_the_mask_is_applied_where_the_analysis_ran():
    """The transforms run on the device they are given (the analysis's: a GPU for Update DNN's
    re-separation); a device that does not exist is refused, not ignored."""
    rate = 48000
    samples = np.random.default_rng(4).uniform(-0.5, 0.5, (2, rate * 2)).astype(np.float32)
    n_model = spectral.n_frames_for(2 * spectral.MODEL_SAMPLE_RATE)
    mask = np.random.default_rng(5).uniform(0, 1, (spectral.N_BINS, n_model)).astype(np.float32)
    on_cpu = run(apply_mask_iter(samples, rate, mask, block_frames=50))
    assert np.array_equal(run(apply_mask_iter(samples, rate, mask, block_frames=50,
                                              device=torch.device("cpu"))), on_cpu)
    with pytest.raises(RuntimeError):
        run(apply_mask_iter(samples, rate, mask, device="no-such-device"))
    if torch.cuda.is_available():
        on_gpu = run(apply_mask_iter(samples, rate, mask, block_frames=50, device="cuda"))
        assert np.max(np.abs(on_gpu - on_cpu)) < 1e-5


def test_high_band_follows_the_top_of_the_model_band():
    """Above 8 kHz the mask is the mean of the model's mask just below 8 kHz (7-7.9 kHz): zero
    there -> no air band, whatever the rest; one there -> the air band passes."""
    rate = 44100
    t = np.arange(rate) / rate
    tone = (0.3 * np.sin(2 * np.pi * 12000 * t)).astype(np.float32)[None]
    n_model = spectral.n_frames_for(spectral.MODEL_SAMPLE_RATE)
    top = int(7000 / spectral.BIN_HZ)
    rms = lambda x: np.sqrt(np.mean(x ** 2))  # noqa: E731
    mask = np.ones((spectral.N_BINS, n_model), np.float32)
    mask[top:] = 0.0  # 7-8 kHz silent in the vocal
    assert rms(run(apply_mask_iter(tone, rate, mask))) < 0.01 * rms(tone)
    mask = np.zeros((spectral.N_BINS, n_model), np.float32)
    mask[top:] = 1.0  # only 7-8 kHz in the vocal
    assert rms(run(apply_mask_iter(tone, rate, mask))) > 0.9 * rms(tone)
    assert native_grid(44100) == (2048, 512)


def test_separation_keeps_rate_channels_length_and_sums_to_mixture():
    model = tiny_model()
    mixture, _, _ = synth_song(seconds=2.0, sample_rate=22050, channels=3)
    audio = Audio(mixture, 22050)
    result = run(separate_iter(audio, model, with_beats=False))
    assert result.vocals.shape == mixture.shape and result.sample_rate == 22050
    assert np.allclose(result.vocals + result.accompaniment, mixture, atol=1e-6)
    assert len(result.f0_hz) == result.analysis.n_frames == len(result.frame_times)


def test_silence_is_refused():
    with pytest.raises(AudioError, match="silence"):
        run(separate_iter(Audio(np.zeros((1, 16000), np.float32), 16000), tiny_model(),
                          with_beats=False))
