"""`isolde train` (checkpoints, resume, logs) and `isolde evaluate` on a tiny MIR-1K layout."""
import csv

import numpy as np
import pytest
import torch

from core.cli import main
from core.data.mir1k import MIR1KDataset, read_pv
from core.models.store import load_model
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


def test_evaluate_prints_table_and_csv(tmp_path, capsys):
    root = write_fake_mir1k(tmp_path / "mir1k", clips_per_singer=1, seconds=2.0)
    from core.models.store import save_model
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
