"""Classic baselines (REPET-SIM, source-filter NMF, the ideal ratio mask) and `isolde evaluate --baseline`."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from core.cli import main
from core.training.baselines import BASELINES, separate_baseline, source_filter_nmf
from core.training.data.songs.synthetic import SyntheticDataset
from core.training.metrics import bss_sdr, melody_metrics
from tests.fake_datasets import write_fake_produced

SR = 16000


@pytest.fixture(scope="module")
def song():
    return SyntheticDataset(1, seconds=4.0, sample_rate=SR, seed=5).load(0)


def _separate(name, track, **kw):
    return separate_baseline(name, track.mixture, track.sample_rate, vocals=track.vocals,
                             f0_times=track.f0_times, f0_hz=track.f0_hz, **kw)


def _sdr(track, result):
    return bss_sdr(track.vocals, track.accompaniment, result.vocals, result.accompaniment)


@pytest.mark.parametrize("name", BASELINES)
def test_every_baseline_splits_the_mixture_exactly(song, name):
    result = _separate(name, song)
    assert result.vocals.shape == song.mixture.shape
    np.testing.assert_allclose(result.vocals + result.accompaniment, song.mixture, atol=1e-5)
    assert np.isfinite(result.vocals).all()


def test_the_baselines_rank_as_their_knowledge_does(song):
    """The oracle mask beats the method given the true melody, which beats the blind methods and
    the mixture itself."""
    half = song.mixture / 2  # the mixture as both estimates (BSS Eval refuses a silent one)
    mixture_sdr = bss_sdr(song.vocals, song.accompaniment, half, half)
    scores = {name: _sdr(song, _separate(name, song)) for name in BASELINES}
    assert scores["ideal-ratio-mask"] > scores["sf-nmf-f0"] + 1.0
    assert scores["sf-nmf-f0"] > max(scores["sf-nmf"], scores["repet-sim"])
    assert min(scores["sf-nmf"], scores["repet-sim"]) > mixture_sdr + 1.0


def test_source_filter_nmf_follows_the_melody_it_is_given(song):
    """The right melody separates the voice; a melody a fifth off does much worse."""
    right = _sdr(song, _separate("sf-nmf-f0", song))
    wrong_f0 = song.f0_hz * 2 ** (7 / 12)
    wrong = separate_baseline("sf-nmf-f0", song.mixture, SR, f0_times=song.f0_times,
                              f0_hz=wrong_f0)
    assert right > _sdr(song, wrong) + 3.0


def test_sf_nmf_finds_the_melody_of_a_clear_voice(song):
    result = _separate("sf-nmf", song)
    scores = melody_metrics(song.f0_times, song.f0_hz, result.f0_times, result.f0_hz)
    assert scores["raw_pitch_accuracy"] > 0.4  # measured 0.55; a wrong melody scores near 0
    assert scores["voicing_recall"] > 0.4


def test_an_unvoiced_melody_leaves_no_voice():
    magnitude = np.random.default_rng(0).uniform(0.1, 1.0, (513, 40)).astype(np.float32)
    bin_hz = np.arange(513) * SR / 1024
    mask, melody = source_filter_nmf(magnitude, bin_hz, melody_hz=np.zeros(40), iterations=5)
    assert mask.max() == 0.0 and not melody.any()


def test_evaluate_scores_a_baseline_from_the_command_line(tmp_path, capsys):
    root = write_fake_produced(tmp_path / "produced", seconds=2.0)
    out_csv = tmp_path / "baseline.csv"
    code = main(["evaluate", "--dataset", f"produced:{root}", "--baseline", "sf-nmf",
                 "--csv", str(out_csv), "--device", "cpu"])
    assert code == 0
    assert "raw_pitch_accuracy" in capsys.readouterr().out
    with open(out_csv) as handle:
        rows = list(csv.DictReader(handle))
    assert rows[-1]["clip"] == "median" and len(rows) == 3
    assert float(rows[-1]["sdr"]) > 0.0  # a harmonic voice over noise: the NMF finds it


def test_baseline_and_model_exclude_each_other(tmp_path, capsys):
    root = write_fake_produced(tmp_path / "produced", seconds=1.0)
    code = main(["evaluate", "--dataset", f"produced:{root}", "--baseline", "repet-sim",
                 "--model", str(tmp_path / "m.safetensors")])
    assert code != 0
    assert "exclude each other" in capsys.readouterr().err



def test_a_silent_estimate_scores_nan_instead_of_stopping_the_evaluation(song):
    silent = np.zeros_like(song.mixture)
    assert np.isnan(bss_sdr(song.vocals, song.accompaniment, silent, song.mixture))
