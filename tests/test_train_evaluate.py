"""`isolde train` (checkpoints, resume, logs) and `isolde evaluate` on a tiny MIR-1K layout."""
import csv
import json

import numpy as np
import pytest
import torch

from core.cli import main
from core.separation.models.store import load_model
from core.training.data.mir1k import MIR1KDataset, MIR1KSongs, read_pv
from tests.fake_datasets import write_fake_mir1k

TINY_FLAGS = ["--svs-channels", "4", "--svs-max-channels", "16", "--f0-channels", "4",
              "--f0-max-channels", "8", "--batch-size", "2", "--crop-frames", "64",
              "--validate-every", "2", "--checkpoint-every", "1", "--validation-clips", "2",
              "--device", "cpu"]


def test_mir1k_reader_and_singer_split(tmp_path):
    root = write_fake_mir1k(tmp_path / "mir1k")
    data = MIR1KDataset(root)
    train, valid = data.default_split()
    assert set(valid.groups) == {"abjones"} and set(train.groups) == {"zoe"}
    track = data.load(0)
    assert track.sample_rate == 16000 and track.vocals.shape == track.accompaniment.shape
    times, f0 = read_pv(root / "pitch" / f"{track.name}.pv")
    assert times[0] == pytest.approx(0.02) and np.all(f0 >= 0)


def test_mir1k_songs_join_the_parts_of_a_song_in_order(tmp_path):
    root = write_fake_mir1k(tmp_path / "mir1k", clips_per_singer=2, seconds=2.0)
    for stem, new in (("abjones_2_01", "abjones_1_02"), ("zoe_2_02", "zoe_1_03")):
        for folder, ext in (("audio", ".flac"), ("pitch", ".pv")):
            (root / folder / f"{stem}{ext}").rename(root / folder / f"{new}{ext}")
    clips, songs = MIR1KDataset(root), MIR1KSongs(root)
    assert songs.names == ["abjones_1", "zoe_1"] and songs.groups == ["abjones", "zoe"]
    train, valid = songs.default_split()
    assert valid.names == ["abjones_1"] and train.names == ["zoe_1"]
    song = songs.load(0)
    first, second = clips.load(0), clips.load(1)
    assert song.meta["clips"] == ["abjones_1_01", "abjones_1_02"]
    np.testing.assert_array_equal(song.vocals, np.concatenate([first.vocals, second.vocals]))
    np.testing.assert_array_equal(song.accompaniment,
                                  np.concatenate([first.accompaniment, second.accompaniment]))
    # The second part's labels follow the first part's audio, at its own clock plus 2 s.
    assert np.all(np.diff(song.f0_times) > 0) and song.f0_times[-1] < song.duration_seconds
    later = song.f0_times >= first.duration_seconds
    np.testing.assert_allclose(song.f0_times[later], second.f0_times + 2.0)
    np.testing.assert_array_equal(song.f0_hz[later], second.f0_hz)


def test_train_resumes_and_logs(tmp_path, capsys):
    root = write_fake_mir1k(tmp_path / "mir1k")
    run_dir = tmp_path / "run"
    argv = ["train", "--source", f"mir1k:{root}", "--out", str(run_dir), *TINY_FLAGS]
    assert main([*argv, "--steps", "2"]) == 0
    first = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert first["step"] == 2
    assert main([*argv, "--steps", "4"]) == 0  # continues from step 2
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert state["step"] == 4
    with open(run_dir / "log.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows] == [2, 4]
    assert {"val_sdr", "val_raw_pitch_accuracy", "val_overall_accuracy", "val_voicing_recall",
            "val_voicing_false_alarm"} <= set(rows[0])
    assert (run_dir / "curves.png").stat().st_size > 1000
    model = load_model(run_dir / "best.safetensors")
    assert model.config.svs_channels == 4


def test_train_with_data_workers_draws_crops_in_other_processes(tmp_path):
    root = write_fake_mir1k(tmp_path / "mir1k")
    run_dir = tmp_path / "run"
    argv = ["train", "--source", f"mir1k:{root}", "--out", str(run_dir), *TINY_FLAGS,
            "--data-workers", "2", "--steps", "3", "--validate-every", "3"]
    assert main(argv) == 0
    assert torch.load(run_dir / "checkpoint.pt", weights_only=True)["step"] == 3
    assert json.loads((run_dir / "config.json").read_text())["data_workers"] == 2


def test_train_pool_is_the_same_loaded_in_worker_processes(tmp_path):
    from core.training.sources import open_source
    from core.training.sources import load_pool
    from core.progress import run as run_job

    root = write_fake_mir1k(tmp_path / "mir1k")
    train_set, _ = open_source(f"mir1k:{root}")
    here, there = (run_job(load_pool([train_set], workers)) for workers in (0, 2))
    assert run_job(load_pool([], 2)) == []
    assert [t.name for t in here] == [t.name for t in there] and len(here) == len(train_set)
    for a, b in zip(here, there):
        np.testing.assert_array_equal(a.vocals, b.vocals)
        np.testing.assert_array_equal(a.f0_frames, b.f0_frames)


def test_batch_f0_targets_match_the_per_crop_saliency_target():
    from core.music import pitch
    from core.training.train import f0_targets

    f0 = torch.tensor([[0.0, 65.4, 110.0, 220.5, 440.0, 1000.0, 5000.0, 30.0]] * 2)
    f0[1] *= 1.5
    expected = np.stack([pitch.f0_to_saliency(row.numpy()) for row in f0])
    np.testing.assert_allclose(f0_targets(f0).numpy(), expected, atol=1e-5)
    assert f0_targets(f0)[0, :, 0].max() == 0  # unvoiced frame: an all-zero column


def test_evaluate_prints_table_and_csv(tmp_path, capsys):
    root = write_fake_mir1k(tmp_path / "mir1k", clips_per_singer=1, seconds=2.0)
    from core.separation.models.store import save_model
    from tests.conftest import tiny_model

    model_file = save_model(tiny_model(), tmp_path / "m.safetensors")
    out_csv = tmp_path / "eval.csv"
    code = main(["evaluate", "--dataset", f"mir1k:{root}", "--model", str(model_file),
                 "--csv", str(out_csv), "--device", "cpu"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "median" in printed and "raw_pitch_accuracy" in printed
    with open(out_csv) as handle:
        rows = list(csv.DictReader(handle))
    assert rows[-1]["clip"] == "median" and len(rows) == 2
    assert np.isfinite(float(rows[0]["sdr"]))


def test_voicing_loss_trains_the_decision_at_the_product_threshold():
    from core.music import pitch
    from core.training.train import losses
    from tests.conftest import tiny_model

    model = tiny_model()
    torch.manual_seed(0)
    mixture = torch.randn(1, 63 * 256) * 0.1  # 64 frames
    unvoiced = torch.zeros(1, 64)
    plain = losses(model, mixture, mixture * 0.5, unvoiced, 1.0)
    assert "voicing" not in plain
    parts = losses(model, mixture, mixture * 0.5, unvoiced, 1.0, voicing_weight=2.0)
    assert torch.isclose(parts["total"], plain["total"] + 2.0 * parts["voicing"])
    # An untrained net peaks near 0.5 everywhere, far above the 0.1 threshold: unvoiced frames
    # then cost more than log(1 + (0.5/0.5)/(0.1/0.9)) ~ 2.3, and a gradient step lowers it.
    assert float(parts["voicing"].detach()) > 2.0
    assert pitch.VOICING_THRESHOLD == pytest.approx(0.1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    first = float(parts["voicing"].detach())
    for _ in range(3):
        parts = losses(model, mixture, mixture * 0.5, unvoiced, 0.0, voicing_weight=1.0)
        optimizer.zero_grad()
        parts["voicing"].backward()
        optimizer.step()
    assert float(losses(model, mixture, mixture * 0.5, unvoiced, 0.0,
                        voicing_weight=1.0)["voicing"]) < first


def test_train_can_start_from_another_run(tmp_path):
    from core.errors import IsoldeError

    root = write_fake_mir1k(tmp_path / "mir1k")
    first = tmp_path / "first"
    argv = ["train", "--source", f"mir1k:{root}", *TINY_FLAGS]
    assert main([*argv, "--out", str(first), "--steps", "2"]) == 0
    start = torch.load(first / "checkpoint.pt", weights_only=True)["model"]
    second = tmp_path / "second"
    assert main([*argv, "--out", str(second), "--steps", "1", "--learning-rate", "0",
                 "--final-learning-rate", "0", "--init-from",
                 str(first / "checkpoint.pt")]) == 0
    state = torch.load(second / "checkpoint.pt", weights_only=True)
    assert state["step"] == 1
    # Learning rate 0: the weights are exactly the ones it started from.
    assert all(torch.equal(state["model"][k], v) for k, v in start.items()
               if v.is_floating_point() and "running" not in k and "num_batches" not in k)
    with pytest.raises(IsoldeError, match="differs"):
        from core.training.train import TrainConfig, train_iter
        from core.progress import run
        run(train_iter(TrainConfig(sources=[f"mir1k:{root}"], out=str(tmp_path / "third"),
                                   svs_channels=8, svs_max_channels=16, f0_channels=4,
                                   f0_max_channels=8, steps=1, batch_size=2, crop_frames=64,
                                   device="cpu", init_from=str(first / "best.safetensors"))))


def test_sdr_loss_is_minus_the_masked_magnitudes_sdr():
    from core.audio import spectral
    from core.training.train import losses
    from tests.conftest import tiny_model

    model = tiny_model()
    torch.manual_seed(0)
    mixture = torch.randn(2, 63 * 256) * 0.1
    vocals = mixture * torch.tensor([[0.5], [0.2]])
    plain = losses(model, mixture, vocals, torch.zeros(2, 64), 1.0)
    assert "sdr" not in plain
    parts = losses(model, mixture, vocals, torch.zeros(2, 64), 1.0, sdr_weight=0.5)
    assert torch.isclose(parts["total"], plain["total"] + 0.5 * parts["sdr"])
    mix_mag, voc_mag = spectral.model_magnitude(mixture), spectral.model_magnitude(vocals)
    estimate = model(mix_mag).vocal_mask * mix_mag
    floor = 1e-3 * (mix_mag ** 2).sum(dim=(1, 2))
    sdr_db = 10 * torch.log10(((voc_mag ** 2).sum(dim=(1, 2)) + floor)
                              / (((estimate - voc_mag) ** 2).sum(dim=(1, 2)) + floor))
    assert torch.isclose(parts["sdr"], -sdr_db.mean() / 10, atol=1e-5)
    # A gradient step on it raises the SDR of the estimate.
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    first = float(parts["sdr"].detach())
    for _ in range(3):
        step = losses(model, mixture, vocals, torch.zeros(2, 64), 0.0, sdr_weight=1.0)
        optimizer.zero_grad()
        step["sdr"].backward()
        optimizer.step()
    assert float(losses(model, mixture, vocals, torch.zeros(2, 64), 0.0,
                        sdr_weight=1.0)["sdr"]) < first


def test_reference_f0_is_heard_on_its_spans_as_a_correction_is():
    from core.audio import spectral
    from core.music import pitch
    from core.training.train import losses, reference_spans
    from tests.conftest import tiny_model

    assert reference_spans((4, 64), 0.0, 0, 0) is None
    spans = reference_spans((400, 64), 0.3, 0, 5)
    assert torch.equal(spans, reference_spans((400, 64), 0.3, 0, 5))  # seed and step decide
    chosen = spans.any(dim=1)
    assert 0.2 < chosen.float().mean() < 0.4
    lengths = spans.sum(dim=1)[chosen]
    assert lengths.min() >= 16 and lengths.max() <= 64
    # one contiguous span per chosen crop
    assert ((spans[:, 1:].int() - spans[:, :-1].int()) == 1).sum(dim=1).le(1).all()

    model = tiny_model().eval()
    torch.manual_seed(0)
    mixture = torch.randn(2, 63 * 256) * 0.1
    vocals = mixture * 0.5
    f0 = torch.full((2, 64), 220.0)
    heard = torch.zeros(2, 64, dtype=torch.bool)
    heard[0, 10:40] = True
    mix_mag = spectral.model_magnitude(mixture)
    parts = losses(model, mixture, vocals, f0, 1.0, heard_reference=heard)
    own = losses(model, mixture, vocals, f0, 1.0)
    assert torch.isclose(parts["f0"], own["f0"])  # the F0 net is judged on its own saliency
    assert not torch.isclose(parts["svs"], own["svs"])
    saliency = model.estimate_f0(mix_mag)
    imposed = saliency.clone()
    imposed[0, :, 10:40] = torch.from_numpy(pitch.f0_to_saliency(np.full(30, 220.0))).float()
    mask = model.estimate_mask(mix_mag, imposed)
    scale = mix_mag.mean(dim=(1, 2), keepdim=True)
    expected = torch.nn.functional.l1_loss(mask * mix_mag / scale,
                                           spectral.model_magnitude(vocals) / scale)
    assert torch.isclose(parts["svs"], expected, atol=1e-6)


def test_reference_f0_share_needs_an_f0_to_svs_network(tmp_path, capsys):
    root = write_fake_mir1k(tmp_path / "mir1k", clips_per_singer=1, seconds=2.0)
    code = main(["train", "--source", f"mir1k:{root}", "--out", str(tmp_path / "run"),
                 "--architecture", "svs_only", "--reference-f0-share", "0.3", *TINY_FLAGS])
    err = capsys.readouterr().err
    assert code == 2 and "needs an f0_to_svs network" in err and "Traceback" not in err, err


def test_pitch_guesses_follow_the_mirex_convention():
    from core.music import pitch

    saliency = np.zeros((pitch.N_F0_BINS, 16), dtype=np.float32)
    saliency[100, :8] = 0.9    # voiced (a note long enough not to be a blip)
    saliency[120, 8:12] = 0.05  # below the threshold: unvoiced, with a guess
    shown = pitch.saliency_to_f0(saliency)
    guesses = pitch.f0_with_pitch_guesses(saliency)
    assert guesses[0] == pytest.approx(shown[0]) and shown[0] > 0 and shown[9] == 0
    assert guesses[9] == pytest.approx(-pitch.f0_bin_to_hz(120))
    assert guesses[14] < 0


def test_pitch_accuracy_is_undefined_without_a_voiced_reference():
    from core.training.metrics import melody_metrics

    times = np.arange(0, 2, 0.01)
    silent, sung = np.zeros(len(times)), np.full(len(times), 220.0)
    nothing_to_judge = melody_metrics(times, silent, times, sung)
    for key in ("raw_pitch_accuracy", "raw_chroma_accuracy", "voicing_recall"):
        assert np.isnan(nothing_to_judge[key])
    assert nothing_to_judge["overall_accuracy"] == pytest.approx(0.0, abs=0.01)
    assert nothing_to_judge["voicing_false_alarm"] == pytest.approx(1.0, abs=0.01)
    # A voiced reference the estimate misses altogether is a real 0, not undefined.
    missed = melody_metrics(times, sung, times, silent)
    assert missed["raw_pitch_accuracy"] == 0.0 and missed["voicing_recall"] == 0.0
    half = melody_metrics(times, sung, times, silent, keep=times >= 1.0)
    assert half["raw_pitch_accuracy"] == 0.0
    only_silence = melody_metrics(times, np.where(times < 1.0, 0.0, 220.0), times, sung,
                                  keep=times < 1.0)
    assert np.isnan(only_silence["raw_pitch_accuracy"])



@pytest.mark.parametrize("config_text,pattern", [
    ('{"steps": "many"}', "'steps' must be a int"),
    ('{"learning_rate": [1]}', "'learning_rate' must be a float"),
    ('{"batch_size": 0}', "'batch_size' must be a positive"),
    ('[1, 2]', "must be a JSON object"),
    ('{"normalize_level": "no"}', "'normalize_level' must be a bool"),
])
def test_bad_training_config_is_one_line_and_leaves_no_run_folder(tmp_path, capsys, config_text,
                                                                  pattern):
    root = write_fake_mir1k(tmp_path / "mir1k", clips_per_singer=1, seconds=2.0)
    config = tmp_path / "config.json"
    config.write_text(config_text)
    run_dir = tmp_path / "run"
    code = main(["train", "--source", f"mir1k:{root}", "--out", str(run_dir),
                 "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 2 and pattern in err and "Traceback" not in err, err
    assert not run_dir.exists()


def test_resuming_with_another_network_is_refused_and_keeps_the_run(tmp_path, capsys):
    root = write_fake_mir1k(tmp_path / "mir1k")
    run_dir = tmp_path / "run"
    argv = ["train", "--source", f"mir1k:{root}", "--out", str(run_dir), *TINY_FLAGS]
    assert main([*argv, "--steps", "1"]) == 0
    saved = (run_dir / "config.json").read_text()
    other = [f if f != "4" else "8" for f in argv]  # svs/f0 channels 4 -> 8
    assert main([*other, "--steps", "2"]) == 2
    assert "another network" in capsys.readouterr().err
    assert (run_dir / "config.json").read_text() == saved


def test_a_pickle_as_starting_weights_is_refused_without_loading_it(tmp_path, capsys):
    import pickle

    root = write_fake_mir1k(tmp_path / "mir1k", clips_per_singer=1, seconds=2.0)
    marker = tmp_path / "ran"
    hostile = tmp_path / "evil.pt"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    hostile.write_bytes(pickle.dumps({"model": Evil()}))
    code = main(["train", "--source", f"mir1k:{root}", "--out", str(tmp_path / "run"),
                 "--init-from", str(hostile), *TINY_FLAGS])
    err = capsys.readouterr().err
    assert code == 2 and "not an Isolde training checkpoint" in err
    assert "weights_only" not in err and not marker.exists()
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("architecture", ["svs_only", "svs_to_f0"])
def test_another_configuration_starts_from_the_shared_sub_networks(tmp_path, architecture):
    """`--init-from` an f0_to_svs model file: the separation net (its first layer reading the
    magnitude channel only) and, for svs_to_f0, the F0 net start from its weights."""
    from dataclasses import replace

    from core.separation.models import JointModel
    from core.separation.models.store import save_model
    from core.training.initial_weights import initial_weights
    from tests.conftest import tiny_model

    source = tiny_model()
    model_file = save_model(source, tmp_path / "f0_to_svs.safetensors")
    config = replace(source.config, architecture=architecture)
    model = JointModel(config)
    model.load_state_dict(initial_weights(str(model_file), config))
    first = "svs_net.encoders.0.0.weight"
    saved = source.state_dict()
    loaded = model.state_dict()
    assert torch.allclose(loaded[first], saved[first][:, :1].to(loaded[first].dtype), atol=1e-3)
    assert loaded[first].shape[1] == 1 and saved[first].shape[1] == 2
    shared = [k for k in loaded if k != first]
    assert all(torch.allclose(loaded[k].float(), saved[k].float(), atol=1e-3) for k in shared)
    if architecture == "svs_to_f0":
        assert any(k.startswith("f0_net.") for k in shared)


def test_init_from_a_network_of_other_widths_is_refused(tmp_path):
    from dataclasses import replace

    from core.errors import IsoldeError
    from core.separation.models.store import save_model
    from core.training.initial_weights import initial_weights
    from tests.conftest import tiny_model

    source = tiny_model()
    model_file = save_model(source, tmp_path / "m.safetensors")
    wider = replace(source.config, architecture="svs_only", svs_channels=source.config.svs_channels * 2)
    with pytest.raises(IsoldeError, match="differs"):
        initial_weights(str(model_file), wider)
