"""The Wave-U-Net baseline: trained by `isolde train`, separating through `isolde separate` and
`isolde evaluate`, refused where a spectrogram model is needed."""
import numpy as np
import pytest
import soundfile as sf
import torch

from core.cli import main
from core.errors import IsoldeError, ModelError
from core.separation.model_files import load_checked_model
from core.separation.models import ModelConfig, build_model
from core.separation.models.store import save_model
from core.separation.separate import analyse_waveform_iter
from core.audio import spectral
from core.progress import run
from tests.fake_datasets import write_fake_mir1k

TINY = ModelConfig(architecture="wave_u_net", wave_depth=4, wave_channels=4)


def tiny_wave_file(folder, seed: int = 0):
    torch.manual_seed(seed)
    return save_model(build_model(TINY).eval(), folder / "wave.safetensors")


def test_output_has_the_input_length_and_a_bad_length_is_refused():
    model = build_model(TINY)
    assert model(torch.randn(2, 16 * 100)).shape == (2, 1600)
    with pytest.raises(ValueError, match="multiple of 16"):
        model(torch.randn(1, 1601))
    with pytest.raises(ValueError):
        ModelConfig(architecture="wave_u_net", voice_activity=True).check()


def test_its_voice_becomes_a_ratio_mask_and_windows_join_seamlessly():
    """An identity network (output = input) gives a mask of ones; chunking with context gives
    the same voice as one pass over the whole signal."""
    model = build_model(TINY)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.output.weight[0, -1, 0] = 1.0  # the mixture channel straight through
    samples = np.random.default_rng(0).normal(0, 0.1, 16000 * 3).astype(np.float32)
    magnitude = spectral.model_magnitude(samples)
    analysis = run(analyse_waveform_iter(model, samples, magnitude, chunk_seconds=0.5,
                                         context_seconds=0.1))
    assert analysis.f0_saliency is None
    assert analysis.vocal_mask.shape == tuple(magnitude.shape)
    assert np.allclose(analysis.vocal_mask, 1.0, atol=1e-3)


def test_train_a_wave_u_net_then_separate_and_evaluate_with_it(tmp_path, capsys):
    root = write_fake_mir1k(tmp_path / "mir1k")
    run_dir = tmp_path / "run"
    assert main(["train", "--source", f"mir1k:{root}", "--out", str(run_dir),
                 "--architecture", "wave_u_net", "--wave-depth", "4", "--wave-channels", "4",
                 "--batch-size", "2", "--crop-frames", "32", "--steps", "2",
                 "--validate-every", "2", "--validation-clips", "1", "--device", "cpu"]) == 0
    model_file = run_dir / "best.safetensors"
    assert load_checked_model(model_file, allow_waveform=True).is_waveform
    song = tmp_path / "song.wav"
    t = np.arange(44100 * 2) / 44100
    sf.write(song, np.stack([np.sin(2 * np.pi * 220 * t), np.sin(2 * np.pi * 330 * t)], 1) * 0.3,
             44100)
    out = tmp_path / "out"
    assert main(["separate", str(song), "--model", str(model_file), "--outdir", str(out),
                 "--device", "cpu"]) == 0
    vocals, rate = sf.read(out / "vocals.wav")
    assert rate == 44100 and vocals.shape == (len(t), 2) and np.all(np.isfinite(vocals))
    capsys.readouterr()
    table = tmp_path / "scores.csv"
    assert main(["evaluate", "--model", str(model_file), "--dataset", f"mir1k:{root}",
                 "--device", "cpu", "--fast", "--csv", str(table)]) == 0
    header = table.read_text().splitlines()[0].split(",")
    assert "sdr" in header and "raw_pitch_accuracy" not in header  # no F0, no F0 scores


def test_the_editor_and_update_dnn_refuse_a_wave_u_net_in_one_line(tmp_path, capsys):
    model_file = tiny_wave_file(tmp_path)
    with pytest.raises(ModelError, match="time-domain Wave-U-Net"):
        load_checked_model(model_file)
    song = tmp_path / "song.wav"
    sf.write(song, np.random.default_rng(0).normal(0, 0.1, 44100), 44100)
    corrections = tmp_path / "c.csv"
    corrections.write_text("time,f0_hz\n0.1,220\n0.2,220\n")
    assert main(["separate", str(song), "--model", str(model_file), "--corrections",
                 str(corrections), "--outdir", str(tmp_path / "o"), "--device", "cpu"]) != 0
    err = capsys.readouterr().err
    assert "no F0 to correct" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_a_crop_that_does_not_fit_the_depth_is_refused_before_training(tmp_path, capsys):
    root = write_fake_mir1k(tmp_path / "mir1k")
    assert main(["train", "--source", f"mir1k:{root}", "--out", str(tmp_path / "run"),
                 "--architecture", "wave_u_net", "--wave-depth", "10", "--crop-frames", "30",
                 "--steps", "1", "--device", "cpu"]) != 0
    assert "multiple of 1024 samples" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    with pytest.raises(IsoldeError):
        from core.training.train import TrainConfig, check_config
        check_config(TrainConfig(architecture="wave_u_net", wave_depth=30))
