"""Semi-supervised adversarial training: `isolde train --adversarial-weight` with unlabelled songs."""
import numpy as np
import soundfile as sf
import torch

from core.cli import main
from core.training.adversarial import Adversary
from core.training.sources import load_pool, open_source
from core.training.train import TrainConfig
from core.progress import run
from tests.conftest import tiny_model
from tests.fake_datasets import write_fake_mir1k
from tests.test_train_evaluate import TINY_FLAGS


def write_songs(folder, n=2, seconds=3.0):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for i in range(n):
        t = np.arange(int(44100 * seconds)) / 44100
        song = 0.2 * np.sin(2 * np.pi * (200 + 50 * i) * t) + 0.02 * rng.normal(size=len(t))
        sf.write(folder / f"song{i}.flac", np.stack([song, song], 1), 44100)
    return folder


def test_adversarial_run_trains_resumes_and_keeps_its_critics(tmp_path):
    root = write_fake_mir1k(tmp_path / "mir1k")
    songs = write_songs(tmp_path / "songs")
    run_dir = tmp_path / "run"
    argv = ["train", "--source", f"mir1k:{root}", "--source", f"unlabelled:{songs}",
            "--out", str(run_dir), *TINY_FLAGS, "--adversarial-weight", "0.1"]
    assert main([*argv, "--steps", "2"]) == 0
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert state["step"] == 2 and "voice_critic" in state["adversary"]
    assert main([*argv, "--steps", "3"]) == 0
    header = (run_dir / "log.csv").read_text().splitlines()[0].split(",")
    assert "loss_adversarial" in header and "loss_critics" in header


def test_unlabelled_songs_without_the_adversarial_term_are_refused(tmp_path, capsys):
    root = write_fake_mir1k(tmp_path / "mir1k")
    songs = write_songs(tmp_path / "songs")
    assert main(["train", "--source", f"mir1k:{root}", "--source", f"unlabelled:{songs}",
                 "--out", str(tmp_path / "run"), *TINY_FLAGS, "--steps", "1"]) != 0
    assert "adversarial" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["train", "--source", f"mir1k:{root}", "--source", f"unlabelled:{empty}",
                 "--out", str(tmp_path / "run"), *TINY_FLAGS, "--steps", "1",
                 "--adversarial-weight", "0.1"]) != 0
    assert "No audio file" in capsys.readouterr().err


def test_the_separator_learns_from_the_critics_and_the_critics_from_real_stems(tmp_path):
    root = write_fake_mir1k(tmp_path / "mir1k")
    songs = write_songs(tmp_path / "songs")
    config = TrainConfig(batch_size=2, crop_frames=64)
    pool = run(load_pool([open_source(f"mir1k:{root}")[0]], 0))
    unlabelled = run(load_pool([open_source(f"unlabelled:{songs}")[0]], 0))
    model = tiny_model()
    adversary = Adversary(pool, unlabelled, config, torch.device("cpu"))
    loss = adversary.separator_loss(model)
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.svs_net.parameters())
    assert all(p.grad is None for p in adversary.voice_critic.parameters())  # critics untouched
    model.zero_grad()
    before = [p.detach().clone() for p in adversary.voice_critic.parameters()]
    adversary.critic_step()
    assert any(not torch.equal(a, b) for a, b in zip(before, adversary.voice_critic.parameters()))
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.parameters())
