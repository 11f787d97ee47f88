"""Update DNN: fine-tuning a copy of the network on one song's F0 corrections."""
import csv

import numpy as np
import pytest
import soundfile as sf
import torch

from core.audio import spectral
from core.cli import main
from core.errors import Cancelled, ModelError
from core.music import pitch
from core.progress import CancelFlag, run
from core.separation.adapt import (DEFAULT_ADAPT_STEPS, AdaptConfig, adapt_iter, adapted_state,
                                   load_adapted)
from core.separation.corrections import Corrections
from core.separation.separate import analyse_iter
from tests.conftest import synth_song, tiny_model

SECONDS = 3.0


@pytest.fixture(scope="module")
def song():
    """(mono 16 kHz samples, reference F0 per 10 ms, its times)."""
    mixture, _, f0 = synth_song(seconds=SECONDS, sample_rate=16000, channels=1)
    return mixture[0], f0, np.arange(len(f0)) * 0.01


def _corrections(f0, times) -> Corrections:
    """An octave-up redraw of 0.5-1.4 s (a correction the untrained net surely disagrees with)
    and a deleted span 2.0-2.4 s (the synthetic voice sings there)."""
    drawn = (times >= 0.5) & (times <= 1.4)
    f0_up = np.where(f0[drawn] > 0, f0[drawn] * 2, 440.0)
    return Corrections(times[drawn], f0_up).erase(2.0, 2.4)


def _quiet_tiny_model():
    """A tiny untrained model whose saliency is ~0.007 away from any peak, as a trained one's is.

    (An untrained net says 0.5 everywhere; the F0 loss then first pulls every bin down, the
    corrected ones included, and "the corrected bins rise" cannot be seen in a few steps.)
    """
    model = tiny_model()
    with torch.no_grad():
        model.f0_net.decoders[-1][0].bias.fill_(-5.0)
    return model


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _same_state(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _frames(corrections, n_frames):
    corrected, f0 = corrections.to_frames(spectral.frame_times(n_frames))
    return corrected & (f0 > 0), corrected & (f0 <= 0), f0


class _SaliencyOnly:
    """The corrections as the separation net sees them, without the mask refinements that would
    zero the deleted span (or blend in the accompaniment heard there) whatever the network learnt."""

    def __init__(self, corrections):
        self.corrections = corrections

    def saliency_override(self, start, stop, saliency, *, drawn=True):
        return self.corrections.saliency_override(start, stop, saliency, drawn=drawn)

    def drawn_frames(self, start, stop):
        return self.corrections.drawn_frames(start, stop)

    def refine_mask(self, start, stop, mask):
        return mask

    def exemplar_frames(self, estimated_f0, quiet=None):
        nothing = np.zeros(len(estimated_f0), dtype=bool)
        return np.asarray(estimated_f0, dtype=np.float64), nothing, nothing


def _scores(model, mono, corrections):
    """(F0 BCE on drawn frames, saliency contrast at the drawn bins, weighted mask in the
    deleted span) as the networks compute them (corrected F0 imposed on the separation net)."""
    magnitude = spectral.model_magnitude(mono)
    own = run(analyse_iter(model, magnitude))  # the F0 net's own view, nothing imposed
    imposed = run(analyse_iter(model, magnitude, corrections=_SaliencyOnly(corrections)))
    drawn, deleted, f0 = _frames(corrections, magnitude.shape[1])
    target = pitch.f0_to_saliency(f0)[:, drawn]
    saliency = np.clip(own.f0_saliency[:, drawn], 1e-6, 1 - 1e-6)
    bce = float(-np.mean(target * np.log(saliency) + (1 - target) * np.log(1 - saliency)))
    bins = np.round(pitch.hz_to_f0_bin(f0[drawn])).astype(int)
    contrast = float(np.mean(saliency[bins, np.arange(len(bins))] - saliency.mean(axis=0)))
    weight = magnitude.numpy()[:, deleted]
    mask = float((imposed.vocal_mask[:, deleted] * weight).sum() / weight.sum())
    return bce, contrast, mask


def test_base_model_is_never_modified(song):
    mono, f0, times = song
    base = tiny_model()
    before = _state(base)
    adapted = run(adapt_iter(base, mono, _corrections(f0, times),
                             config=AdaptConfig(steps=3, learning_rate=1e-3)))
    assert adapted is not base
    assert _same_state(before, _state(base))
    assert not _same_state(before, _state(adapted))
    assert not base.training and not adapted.training
    assert all(p.grad is None for p in base.parameters())


def test_adaptation_follows_the_corrections(song):
    mono, f0, times = song
    corrections = _corrections(f0, times)
    base = _quiet_tiny_model()
    reports = []
    # Without the F0 guard: this is about what the networks learn (the quiet base hears no
    # voice anywhere, and the guard keeps every frame's voicing as the base had it).
    adapted = run(adapt_iter(base, mono, corrections,
                             config=AdaptConfig(steps=15, learning_rate=3e-3, deleted_weight=1.0,
                                               leak_weight=1.0, harmonic_weight=1.0,
                                               guard=False)),
                    reports.append)
    bce0, contrast0, mask0 = _scores(base, mono, corrections)
    bce1, contrast1, mask1 = _scores(adapted, mono, corrections)
    assert bce1 < bce0, "the saliency moves toward the drawn F0"
    assert contrast1 > contrast0, "the drawn F0 bins stand out more from their columns"
    assert mask1 < 0.7 * mask0, "the vocal mask shrinks where the voice was deleted"
    assert all(r.stage == "adapting" for r in reports)
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert "loss" in reports[-1].message


def test_fixed_seed_is_deterministic(song):
    mono, f0, times = song
    corrections = _corrections(f0, times)
    config = AdaptConfig(steps=3, learning_rate=1e-3, seed=7)
    # One thread: with several, the order in which they add up a reduction varies on a busy
    # machine (seen: gradients 2e-10 apart), and Adam turns a near-zero gradient's sign into a
    # full step, so bit-exact repeats are a single-thread promise.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a = run(adapt_iter(tiny_model(), mono, corrections, config=config))
        b = run(adapt_iter(tiny_model(), mono, corrections, config=config))
        c = run(adapt_iter(tiny_model(), mono, corrections,
                           config=AdaptConfig(steps=3, learning_rate=1e-3, seed=8)))
    finally:
        torch.set_num_threads(threads)
    assert _same_state(_state(a), _state(b))
    assert not _same_state(_state(a), _state(c))


def test_cancel_raises_and_leaves_the_base_alone(song):
    mono, f0, times = song
    base = tiny_model()
    before = _state(base)
    flag = CancelFlag()
    job = adapt_iter(base, mono, _corrections(f0, times), config=AdaptConfig(steps=50),
                     cancel=flag)

    def cancel_after_two_steps(report):
        if report.message.startswith("step 2/"):
            flag.set()

    with pytest.raises(Cancelled):
        run(job, cancel_after_two_steps)
    assert _same_state(before, _state(base))

    already = CancelFlag()
    already.set()
    with pytest.raises(Cancelled):
        run(adapt_iter(base, mono, _corrections(f0, times), cancel=already))


@pytest.mark.parametrize("corrections", [Corrections(), Corrections([30.0, 30.01], [220, 220])],
                         ids=["empty", "outside the song"])
def test_nothing_to_learn_returns_an_unchanged_copy(song, corrections):
    mono, _, _ = song
    base = tiny_model()
    reports = []
    adapted = run(adapt_iter(base, mono, corrections), reports.append)
    assert adapted is not base and reports == []
    assert _same_state(_state(base), _state(adapted))


def test_zero_steps_returns_an_unchanged_copy(song):
    mono, f0, times = song
    base = tiny_model()
    adapted = run(adapt_iter(base, mono, _corrections(f0, times), config=AdaptConfig(steps=0)))
    assert adapted is not base and _same_state(_state(base), _state(adapted))


@pytest.mark.parametrize("architecture", ["svs_to_f0", "svs_only"])
def test_other_architectures_adapt(song, architecture):
    mono, f0, times = song
    base = tiny_model(architecture)
    before = _state(base)
    # A separation-only model has no F0 net: only the separation losses can adapt it.
    config = AdaptConfig(steps=2, deleted_weight=1.0, leak_weight=1.0, harmonic_weight=1.0)
    adapted = run(adapt_iter(base, mono, _corrections(f0, times), config=config))
    assert _same_state(before, _state(base)) and not _same_state(before, _state(adapted))


def test_without_separation_losses_only_the_f0_side_learns(song):
    mono, f0, times = song
    base = tiny_model()
    svs = lambda m: {k: v for k, v in _state(m).items() if k.startswith(("svs_net.", "svs_input."))}  # noqa: E731
    f0_only = run(adapt_iter(base, mono, _corrections(f0, times),
                             config=AdaptConfig(steps=3, learning_rate=1e-3)))
    assert _same_state(svs(base), svs(f0_only)) and not _same_state(_state(base), _state(f0_only))
    both = run(adapt_iter(base, mono, _corrections(f0, times),
                          config=AdaptConfig(steps=3, learning_rate=1e-3, deleted_weight=1.0)))
    assert not _same_state(svs(base), svs(both))


def test_short_song_is_padded_to_one_crop():
    mixture, _, f0 = synth_song(seconds=0.7, sample_rate=16000, channels=1)
    times = np.arange(len(f0)) * 0.01
    corrections = Corrections(times[10:40], f0[10:40])
    adapted = run(adapt_iter(tiny_model(), mixture[0], corrections, config=AdaptConfig(steps=2)))
    out = run(analyse_iter(adapted, spectral.model_magnitude(mixture[0])))
    assert np.isfinite(out.vocal_mask).all()


def test_adapted_weights_round_trip(song, tmp_path):
    from core.separation.models.store import load_model, save_model

    mono, f0, times = song
    base = tiny_model()
    adapted = run(adapt_iter(base, mono, _corrections(f0, times), config=AdaptConfig(steps=2)))
    magnitude = spectral.model_magnitude(mono)
    expected = run(analyse_iter(adapted, magnitude)).vocal_mask

    restored = load_adapted(base, adapted_state(adapted))
    assert np.array_equal(run(analyse_iter(restored, magnitude)).vocal_mask, expected)
    assert _same_state(_state(base), _state(tiny_model()))

    path = save_model(adapted, tmp_path / "adapted.safetensors", half=False)
    reopened = load_model(path)
    assert reopened.config.f0_guard, "the saved update carries its guard"
    assert np.array_equal(run(analyse_iter(reopened, magnitude)).vocal_mask, expected)

    with pytest.raises(ModelError):
        load_adapted(tiny_model("svs_only"), adapted_state(adapted))


def test_default_steps_are_sane():
    assert 1 <= DEFAULT_ADAPT_STEPS <= 100
    assert AdaptConfig().steps == DEFAULT_ADAPT_STEPS


# ------------------------------------------------------------------------------------ CLI

@pytest.fixture
def cli_song(tmp_path):
    """A 2.5 s stereo 44.1 kHz song file, its 10 ms F0 and times."""
    mixture, _, f0 = synth_song(seconds=2.5, sample_rate=44100, channels=2)
    path = tmp_path / "song.wav"
    sf.write(path, mixture.T, 44100, subtype="PCM_16")
    return path, f0, np.arange(len(f0)) * 0.01


def _cli(capsys, *argv):
    code = main(["separate", *map(str, argv)])
    return code, capsys.readouterr().err


def _one_error_line(code, err, out, pattern):
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.startswith("isolde:")]
    assert len(lines) == 1 and pattern.lower() in lines[0].lower(), err
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("steps", ["3", "0"])
def test_cli_adapts_and_writes_the_corrections_into_f0_csv(tmp_path, capsys, tiny_model_file,
                                                           cli_song, steps):
    path, f0, times = cli_song
    corrections = Corrections(times[50:120], f0[50:120] * 1.5).erase(1.6, 1.9)
    csv_file = corrections.save_csv(tmp_path / "corrections.csv")
    out = tmp_path / "out"
    code, err = _cli(capsys, path, "-o", out, "--model", tiny_model_file, "--device", "cpu",
                     "--corrections", csv_file, "--adapt-steps", steps)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["accompaniment.wav", "beats.csv",
                                                     "confidence.csv", "f0.csv", "vocals.wav"]
    with open(out / "f0.csv") as handle:
        rows = list(csv.reader(handle))[1:]
    frame_times = np.array([float(t) for t, _ in rows])
    written = np.array([float(f) for _, f in rows])
    corrected, expected = Corrections.load_csv(csv_file).to_frames(frame_times)
    assert corrected.sum() > 50 and (expected[corrected] == 0).any()
    # f0.csv holds Hz with 3 decimals: the corrected frames are the corrections, to the digit.
    assert np.array_equal(written[corrected], [float(f"{v:.3f}") for v in expected[corrected]])


def test_cli_section_takes_corrections_on_the_songs_clock(tmp_path, capsys, tiny_model_file,
                                                           cli_song):
    path, f0, times = cli_song
    # Corrections before, inside and after the section 0.8-2.0 s: only the inside ones count.
    corrections = Corrections(times[20:230], f0[20:230] * 1.5)
    csv_file = corrections.save_csv(tmp_path / "corrections.csv")
    out = tmp_path / "out"
    code, err = _cli(capsys, path, "-o", out, "--model", tiny_model_file, "--device", "cpu",
                     "--corrections", csv_file, "--adapt-steps", "0", "--start", "0.8",
                     "--end", "2.0")
    assert code == 0, err
    assert sf.info(out / "vocals.wav").frames == round(1.2 * 44100)
    with open(out / "f0.csv") as handle:
        rows = list(csv.reader(handle))[1:]
    frame_times = np.array([float(t) for t, _ in rows])
    written = np.array([float(f) for _, f in rows])
    assert abs(frame_times[0] - 0.8) < 1e-6 and frame_times[-1] < 2.0 + 0.02
    corrected, expected = corrections.to_frames(frame_times)
    assert corrected.all()
    assert np.array_equal(written, [float(f"{v:.3f}") for v in expected])


def test_cli_refuses_a_malformed_corrections_file(tmp_path, capsys, tiny_model_file, cli_song):
    bad = tmp_path / "bad.csv"
    bad.write_text("time,f0\n0.5,220\n0.6,not-a-number\n")
    out = tmp_path / "out"
    code, err = _cli(capsys, cli_song[0], "-o", out, "--model", tiny_model_file,
                     "--corrections", bad)
    _one_error_line(code, err, out, "line 3")


def test_cli_refuses_corrections_outside_the_song(tmp_path, capsys, tiny_model_file, cli_song):
    late = Corrections([1.0, 2.0, 2.8], [220.0, 220.0, 220.0]).save_csv(tmp_path / "late.csv")
    out = tmp_path / "out"
    code, err = _cli(capsys, cli_song[0], "-o", out, "--model", tiny_model_file,
                     "--corrections", late, "--adapt-steps", "2")
    _one_error_line(code, err, out, "outside the song")


def test_cli_refuses_adapt_steps_without_corrections(tmp_path, capsys, tiny_model_file, cli_song):
    out = tmp_path / "out"
    code, err = _cli(capsys, cli_song[0], "-o", out, "--model", tiny_model_file,
                     "--adapt-steps", "3")
    _one_error_line(code, err, out, "--corrections")


def test_cli_refuses_negative_adapt_steps(tmp_path, capsys, tiny_model_file, cli_song):
    good = Corrections([0.5, 0.6], [220.0, 230.0]).save_csv(tmp_path / "good.csv")
    out = tmp_path / "out"
    code, err = _cli(capsys, cli_song[0], "-o", out, "--model", tiny_model_file,
                     "--corrections", good, "--adapt-steps", "-1")
    _one_error_line(code, err, out, "0 or more")


def test_guard_keeps_the_base_saliency_where_the_f0_agrees():
    from core.separation.models.joint import guard_saliency

    n_bins, semitone = pitch.N_F0_BINS, pitch.BINS_PER_SEMITONE
    base = torch.full((1, n_bins, 5), 0.01)
    adapted = torch.full((1, n_bins, 5), 0.02)
    # frame 0: both unvoiced; 1: both voiced within a semitone; 2: an octave apart (the
    # adapted one's: the pitch moved); 3: only the adapted one voiced (the base's: an update
    # adds no voice nobody drew); 4: only the base voiced (the base's: an update never silences
    # singing nobody deleted).
    base[0, 100, 1], adapted[0, 100 + semitone - 1, 1] = 0.9, 0.6
    base[0, 100, 2], adapted[0, 100 + 12 * semitone, 2] = 0.9, 0.8
    adapted[0, 120, 3] = 0.7
    base[0, 80, 4] = 0.5
    out = guard_saliency(adapted, base)
    kept_base = [bool(torch.equal(out[0, :, t], base[0, :, t])) for t in range(5)]
    kept_adapted = [bool(torch.equal(out[0, :, t], adapted[0, :, t])) for t in range(5)]
    assert kept_base == [True, True, False, True, True]
    assert kept_adapted == [False, False, True, False, False]


def test_update_carries_the_base_f0_path_as_its_guard(song):
    from core.separation.models.joint import _run_f0_path, guard_saliency

    mono, f0, times = song
    base = tiny_model()  # hears a voice everywhere: the update can only move its pitch
    corrections = _corrections(f0, times)
    guarded = run(adapt_iter(base, mono, corrections,
                             config=AdaptConfig(steps=15, learning_rate=3e-3)))
    free = run(adapt_iter(base, mono, corrections,
                          config=AdaptConfig(steps=15, learning_rate=3e-3, guard=False)))
    assert guarded.config.f0_guard and not free.config.f0_guard and not base.config.f0_guard
    guard_state = {k.removeprefix("f0_guard."): v for k, v in _state(guarded).items()
                   if k.startswith("f0_guard.")}
    base_f0 = {k: v for k, v in _state(base).items() if k.startswith(("f0_", "harmonic_stack"))}
    assert guard_state and _same_state(guard_state, base_f0)
    assert all(not p.requires_grad for p in guarded.f0_guard.parameters())

    magnitude = spectral.model_magnitude(mono)[None, :, :128]
    with torch.no_grad():
        # The guarded network's own (adapted) F0 path, without its guard: two separate updates
        # are not bit-identical when torch runs multi-threaded (Adam turns rounding-level
        # gradient differences into step-sized ones), so compare within one network.
        own, from_base = _run_f0_path(guarded, magnitude)[0], base.estimate_f0(magnitude)
        seen = guarded.estimate_f0(magnitude)
    assert torch.equal(seen, guard_saliency(own, from_base))
    changed = ~torch.isclose(own, from_base).all(dim=1)[0]
    kept = torch.isclose(seen, from_base).all(dim=1)[0]
    assert changed.any() and kept.any(), "the update changed some frames and left others be"
    assert not torch.equal(seen, own) and not torch.equal(seen, from_base)


def test_guarded_weights_refuse_another_base(song):
    mono, f0, times = song
    adapted = run(adapt_iter(tiny_model(), mono, _corrections(f0, times),
                             config=AdaptConfig(steps=1)))
    with pytest.raises(ModelError):
        load_adapted(tiny_model("svs_to_f0"), adapted_state(adapted))


def test_a_card_with_a_guard_on_the_wrong_network_is_refused(song, tmp_path):
    import json

    from core.separation.models.store import card_path, load_model, save_model

    path = save_model(tiny_model("svs_to_f0"), tmp_path / "m.safetensors", half=False)
    card = json.loads(card_path(path).read_text())
    for bad in (True, "yes"):
        card["config"]["f0_guard"] = bad
        card_path(path).write_text(json.dumps(card))
        with pytest.raises(ModelError, match="no model Isolde knows"):
            load_model(path)
