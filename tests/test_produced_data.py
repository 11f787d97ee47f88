"""Produced excerpts as a dev set, the networks' reference level, and produced-sounding crops."""
import numpy as np
import pytest
import torch

from core.audio import spectral
from core.cli import main
from core.errors import IsoldeError
from core.progress import run
from core.separation.separate import analyse_iter
from core.training.data.produced import ProducedExcerpts
from core.training.sources import CropSampler, PooledTrack, open_source, pool_track
from core.training.train import TrainConfig, selection_score
from tests.conftest import tiny_model
from tests.fake_datasets import write_fake_produced


def test_produced_reader_gives_mono_tracks_and_reference_f0(tmp_path):
    root = write_fake_produced(tmp_path / "pro")
    data = ProducedExcerpts(root)
    assert data.names == ["Artist_-_Song", "Other_-_Tune"]
    track = data.load(1)
    assert track.sample_rate == 44100 and track.vocals.ndim == 1
    assert np.allclose(track.mixture, track.vocals + track.accompaniment, atol=1e-6)
    voiced = track.f0_hz > 0
    assert np.allclose(track.f0_hz[voiced], 200.0 * 2 ** (1 / 12), atol=1e-3)
    assert 0.6 < voiced.mean() < 0.8
    train, valid = open_source(f"produced:{root}")
    assert train is None and len(valid) == 2


def test_produced_folder_without_stems_is_one_clear_error(tmp_path):
    root = write_fake_produced(tmp_path / "pro", names=("Only",))
    (root / "Only" / "vocals.flac").unlink()
    with pytest.raises(IsoldeError, match="mix, vocals and f0_ref.csv"):
        ProducedExcerpts(root)
    assert main(["evaluate", "--dataset", f"produced:{root}", "--device", "cpu",
                 "--csv", str(tmp_path / "e.csv")]) == 2
    assert not (tmp_path / "e.csv").exists()


def test_evaluate_reads_produced_excerpts(tmp_path, capsys):
    from core.separation.models.store import save_model

    root = write_fake_produced(tmp_path / "pro")
    model_file = save_model(tiny_model(), tmp_path / "m.safetensors")
    assert main(["evaluate", "--dataset", f"produced:{root}", "--model", str(model_file),
                 "--csv", str(tmp_path / "e.csv"), "--device", "cpu"]) == 0
    assert "Other_-_Tune" in capsys.readouterr().out


def test_level_measure_is_calibrated_in_dbfs():
    rng = np.random.default_rng(0)
    noise = (0.1 * rng.standard_normal(16000 * 3)).astype(np.float32)
    assert spectral.magnitude_level_db(spectral.model_magnitude(noise)) == pytest.approx(-20, abs=0.3)
    # Silence around the sound does not make it quieter: the gate leaves it out.
    padded = np.concatenate([np.zeros(16000 * 6, np.float32), noise])
    assert spectral.magnitude_level_db(spectral.model_magnitude(padded)) == pytest.approx(-20, abs=0.5)
    assert spectral.level_gain(spectral.model_magnitude(np.zeros(4000, np.float32))) == 1.0


def test_separation_does_not_depend_on_the_song_level():
    rng = np.random.default_rng(1)
    t = np.arange(16000 * 2) / 16000
    song = (0.2 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32)
    model = tiny_model()
    loud = run(analyse_iter(model, spectral.model_magnitude(song)))
    quiet = run(analyse_iter(model, spectral.model_magnitude(song * 0.03)))  # -30 dB
    assert np.abs(loud.vocal_mask - quiet.vocal_mask).max() < 1e-3
    assert np.abs(loud.f0_saliency - quiet.f0_saliency).max() < 1e-3


def _sine_pool(hz=220.0, seconds=6.0):
    n = int(seconds * 16000)
    t = np.arange(n) / 16000
    voice = (0.1 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    accompaniment = (0.02 * np.random.default_rng(0).standard_normal(n)).astype(np.float32)
    return [PooledTrack("sine", voice, accompaniment, np.full(spectral.n_frames_for(n), hz))]


def _peak_hz(x):
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.argmax(spectrum) * 16000 / len(x)


def test_transposed_crops_carry_a_matching_f0_label():
    config = TrainConfig(batch_size=6, pitch_shift_probability=1.0, silence_probability=0.0,
                         remix_probability=0.0, normalize_level=False)
    sampler = CropSampler(_sine_pool(), config, torch.Generator().manual_seed(3))
    _, vocals, f0 = sampler.batch()
    labels = f0[:, 10].numpy()
    assert np.ptp(labels) > 5  # the crops really were transposed, by different amounts
    for voice, label in zip(vocals.numpy(), labels):
        assert _peak_hz(voice) == pytest.approx(label, rel=0.01)


def test_produced_crops_stay_at_the_reference_level_and_keep_the_voice():
    config = TrainConfig(batch_size=6, vocal_chain_probability=1.0,
                         accompaniment_bus_probability=1.0, silence_probability=0.0,
                         level_jitter_db=3.0)
    sampler = CropSampler(_sine_pool(), config, torch.Generator().manual_seed(0))
    mixture, vocals, f0 = sampler.batch()
    for mix, voice in zip(mixture.numpy(), vocals.numpy()):
        level = spectral.magnitude_level_db(spectral.model_magnitude(mix))
        assert abs(level - spectral.REFERENCE_LEVEL_DBFS) <= 3.2
        assert _peak_hz(voice) == pytest.approx(220, rel=0.01)  # still the same sung note
    # Same generator state, same crops: runs stay resumable.
    again = CropSampler(_sine_pool(), config, torch.Generator().manual_seed(0)).batch()
    assert torch.equal(again[0], mixture)


def test_real_produced_songs_train_at_their_share_without_production_chains(tmp_path):
    root = write_fake_produced(tmp_path / "pro", seconds=4.0)  # longer than one crop
    train, valid = open_source(f"produced-train:{root}")
    assert valid is None and len(train) == 2
    produced = [pool_track(train.load(i)) for i in range(len(train))]
    assert all(t.produced for t in produced)
    # Other tracks: a 440 Hz voice over silence, so that each crop tells where it came from.
    other = _sine_pool(hz=440.0)
    other[0].accompaniment[:] = 0.0
    config = TrainConfig(batch_size=200, produced_share=0.25, vocal_chain_probability=1.0,
                         accompaniment_bus_probability=1.0, silence_probability=0.0,
                         pitch_shift_probability=0.0, normalize_level=False)
    mixture, vocals, f0 = CropSampler(produced + other, config,
                                      torch.Generator().manual_seed(0)).batch()
    from_produced = np.array([abs(label - 440.0) > 1 for label in f0[:, 10].numpy()])
    assert 0.15 < from_produced.mean() < 0.35
    accompaniment = (mixture - vocals).numpy()
    # Produced voices come over produced accompaniments, and the other tracks' voices over their
    # own (silent) accompaniments: the two pools do not mix.
    assert all(np.abs(a).max() > 0 for a in accompaniment[from_produced])
    assert all(np.abs(a).max() < 1e-6 for a in accompaniment[~from_produced])
    # Without a share the produced songs are ordinary tracks of the pool.
    plain = CropSampler(produced + other, TrainConfig(), torch.Generator().manual_seed(0))
    assert not plain.produced_pool and len(plain.pool) == 3
    with pytest.raises(IsoldeError, match="produced_share"):
        from core.training.train import check_config
        check_config(TrainConfig(produced_share=1.5))


def test_other_voices_sing_over_real_produced_accompaniments_at_their_share(tmp_path):
    root = write_fake_produced(tmp_path / "pro", seconds=4.0)
    train, _ = open_source(f"produced-train:{root}")
    produced = [pool_track(train.load(i)) for i in range(len(train))]
    other = _sine_pool(hz=440.0)
    other[0].accompaniment[:] = 0.0  # silent: a crop over it has no accompaniment at all
    config = TrainConfig(batch_size=300, produced_share=0.25, produced_accompaniment_share=0.5,
                         accompaniment_bus_probability=1.0, silence_probability=0.0,
                         pitch_shift_probability=0.0, normalize_level=False)
    mixture, vocals, f0 = CropSampler(produced + other, config,
                                      torch.Generator().manual_seed(0)).batch()
    from_other = np.array([abs(label - 440.0) < 1 for label in f0[:, 10].numpy()])
    accompanied = np.array([np.abs(a).max() > 1e-6 for a in (mixture - vocals).numpy()])
    # About half of the other tracks' voices now sing over a produced accompaniment (their own
    # is silent, and a bus chain on silence stays silent).
    assert 0.4 < accompanied[from_other].mean() < 0.6
    assert accompanied[~from_other].all()
    # The option alone (no produced voices) still sets the produced songs apart.
    alone = CropSampler(produced + other, TrainConfig(produced_accompaniment_share=0.3),
                        torch.Generator().manual_seed(0))
    assert len(alone.produced_pool) == 2 and len(alone.pool) == 1
    with pytest.raises(IsoldeError, match="produced_accompaniment_share"):
        from core.training.train import check_config
        check_config(TrainConfig(produced_accompaniment_share=-0.1))


def test_checkpoints_are_chosen_on_every_validation_source_alike():
    scores = {"val_mir1k_sdr": 9.0, "val_mir1k_overall_accuracy": 0.8,
              "val_produced_sdr": 2.0, "val_produced_overall_accuracy": 0.5}
    assert selection_score(scores, ["mir1k", "produced"]) == pytest.approx((17 + 7) / 2)
    assert selection_score({"val_sdr": 3.0, "val_overall_accuracy": 0.5}, ["mir1k"]) == 8.0


def test_boolean_training_options_parse_false(tmp_path):
    import argparse

    from core.training.train import config_from_args, configure_parser

    parser = argparse.ArgumentParser()
    configure_parser(parser)
    assert config_from_args(parser.parse_args(["--normalize-level", "false"])).normalize_level is False
    with pytest.raises(SystemExit):
        parser.parse_args(["--normalize-level", "maybe"])


def test_training_validates_on_each_source_and_plots_them(tmp_path):
    import csv

    from tests.fake_datasets import write_fake_mir1k
    from tests.test_train_evaluate import TINY_FLAGS

    mir1k = write_fake_mir1k(tmp_path / "mir1k")
    produced = write_fake_produced(tmp_path / "pro")
    run_dir = tmp_path / "run"
    assert main(["train", "--source", f"mir1k:{mir1k}", "--source", f"produced:{produced}",
                 "--out", str(run_dir), "--steps", "2", "--vocal-chain-probability", "0.5",
                 "--pitch-shift-probability", "0.5", *TINY_FLAGS]) == 0
    with open(run_dir / "log.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {"val_mir1k_sdr", "val_produced_sdr", "val_produced_overall_accuracy",
            "val_sdr"} <= set(rows[-1])
    assert (run_dir / "curves.png").stat().st_size > 1000


def test_songs_without_a_voice_only_give_accompaniment():
    voice_track = _sine_pool()[0]
    n = len(voice_track.vocals)
    band = np.full(n, 0.3, dtype=np.float32)  # an accompaniment-only song: a constant
    instrumental = PooledTrack("instrumental", np.zeros(n, np.float32), band, np.zeros_like(voice_track.f0_frames))
    config = TrainConfig(batch_size=8, accompaniment_only_share=1.0, silence_probability=0.0,
                         normalize_level=False)
    mixture, vocals, f0 = CropSampler([voice_track, instrumental], config,
                                      torch.Generator().manual_seed(0)).batch()
    assert torch.all(f0 > 0)  # every voice came from the singing track
    residual = (mixture - vocals).numpy()
    assert np.allclose(residual, residual[:, :1], atol=1e-5)  # every accompaniment was the constant
    with pytest.raises(IsoldeError, match="positive whole number"):
        open_source("synthetic:abc")
    with pytest.raises(IsoldeError, match="positive whole number"):
        open_source("rendered:-5")


def test_produced_accompaniments_under_other_voices_are_transposed_at_their_share():
    n = 6 * 16000
    t = np.arange(n) / 16000
    organ = (0.1 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32)  # the produced "band"
    produced = PooledTrack("pro", (0.1 * np.sin(2 * np.pi * 300.0 * t)).astype(np.float32),
                           organ, np.full(spectral.n_frames_for(n), 300.0), produced=True)
    other = _sine_pool(hz=220.0)
    other[0].accompaniment[:] = 0.0
    config = TrainConfig(batch_size=120, produced_share=0.25, produced_accompaniment_share=1.0,
                         accompaniment_shift_probability=0.5, max_pitch_shift=3.0,
                         remix_probability=0.0, silence_probability=0.0,
                         pitch_shift_probability=0.0, normalize_level=False)
    mixture, vocals, f0 = CropSampler([produced] + other, config,
                                      torch.Generator().manual_seed(1)).batch()
    under_other = np.abs(f0[:, 10].numpy() - 220.0) < 1
    peaks = np.array([_peak_hz(a) for a in (mixture - vocals).numpy()[under_other]])
    moved = np.abs(peaks - 1000.0) > 10
    # About half transposed, never by more than the largest shift (3 semitones: 0.84 - 1.19).
    assert 0.3 < moved.mean() < 0.7
    assert np.all((peaks > 1000 * 2 ** (-3.2 / 12)) & (peaks < 1000 * 2 ** (3.2 / 12)))
    # Under its own voice a produced accompaniment keeps its key.
    own = np.array([_peak_hz(a) for a in (mixture - vocals).numpy()[~under_other]])
    assert np.all(np.abs(own - 1000.0) < 10)


def _balance_db(x, low_hz, high_hz):
    """Level of the ``high_hz`` component against the ``low_hz`` one (dB)."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    at = lambda hz: spectrum[int(round(hz * len(x) / 16000))]  # noqa: E731
    return 20 * np.log10(at(high_hz) / at(low_hz))


def test_real_produced_stems_get_a_random_eq_at_their_share():
    n = 6 * 16000
    t = np.arange(n) / 16000
    two_tones = lambda a, b: (0.05 * np.sin(2 * np.pi * a * t)  # noqa: E731
                              + 0.05 * np.sin(2 * np.pi * b * t)).astype(np.float32)
    produced = PooledTrack("pro", two_tones(150.0, 7000.0), two_tones(100.0, 6500.0),
                           np.full(spectral.n_frames_for(n), 150.0), produced=True)
    other = [PooledTrack("other", two_tones(440.0, 5000.0), np.zeros(n, np.float32),
                         np.full(spectral.n_frames_for(n), 440.0))]
    config = TrainConfig(batch_size=160, produced_share=0.5, produced_eq_probability=0.5,
                         remix_probability=0.0, silence_probability=0.0, vocal_gain_min_db=0.0,
                         vocal_gain_max_db=0.0, pitch_shift_probability=0.0, normalize_level=False)
    mixture, vocals, f0 = CropSampler([produced] + other, config,
                                      torch.Generator().manual_seed(2)).batch()
    is_produced = np.abs(f0[:, 10].numpy() - 150.0) < 1  # labels are left as they were
    assert 0.35 < is_produced.mean() < 0.65
    voice_moved = np.array([abs(_balance_db(v, 150.0, 7000.0)) > 0.5
                            for v in vocals.numpy()[is_produced]])
    band_moved = np.array([abs(_balance_db(a, 100.0, 6500.0)) > 0.5
                           for a in (mixture - vocals).numpy()[is_produced]])
    # Each stem on its own, about half of them; the level of a stem is kept.
    assert 0.3 < voice_moved.mean() < 0.7 and 0.3 < band_moved.mean() < 0.7
    assert 0 < np.mean(voice_moved != band_moved) < 0.8
    rms = np.sqrt(np.mean(vocals.numpy()[is_produced] ** 2, axis=1))
    np.testing.assert_allclose(rms, np.sqrt(0.05 ** 2), rtol=0.1)
    # Voices that were not produced already (MIR-1K, synthetic) never get it.
    for voice in vocals.numpy()[~is_produced]:
        assert abs(_balance_db(voice, 440.0, 5000.0)) < 0.1
    with pytest.raises(IsoldeError, match="produced_eq_probability"):
        from core.training.train import check_config
        check_config(TrainConfig(produced_eq_probability=2.0))
