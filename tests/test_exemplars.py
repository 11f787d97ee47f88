"""The accompaniment heard alone in deleted spans as a second opinion on the vocal mask."""
import numpy as np
import pytest
import torch

from core.audio import spectral
from core.separation.corrections import Corrections
from core.separation.exemplars import (MIN_OBSERVATIONS, combine_with_exemplars,
                                       exemplar_vocal_mask)

RATE = spectral.MODEL_SAMPLE_RATE


def _song(seconds=8.0, voice_from=4.0, seed=0):
    """A repeating two-chord accompaniment (plucked harmonic tones, decaying within each half bar
    as a piano's or guitar's do, + noise) and a voice in the second half. (Sustained sine chords
    would do as a stand-in for an organ, but a network may fairly hear those as singing.)

    Returns (accompaniment, voice, f0 per model frame in Hz).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    chord_a, chord_b = (196.0, 247.0, 294.0), (220.0, 277.0, 330.0)
    bar = 1.0
    which = (np.floor(t / (bar / 2)) % 2).astype(bool)
    acc = np.zeros_like(t)
    for fa, fb in zip(chord_a, chord_b):
        for h in range(1, 6):
            acc += np.where(which, np.sin(2 * np.pi * h * fb * t), np.sin(2 * np.pi * h * fa * t)) / h
    pluck = np.exp(-4.0 * (t % (bar / 2)))
    acc = 0.1 * acc * pluck + 0.01 * rng.standard_normal(len(t))
    vibrato = 1 + 0.01 * np.sin(2 * np.pi * 5.5 * t)
    f0 = np.where(t < 6.0, 330.0, 392.0) * vibrato
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 12))
    voice = 0.1 * voice * (t >= voice_from)
    frames = spectral.frame_times(spectral.n_frames_for(len(t)))
    f0_frames = np.interp(frames, t, np.where(t >= voice_from, f0, 0.0))
    f0_frames[frames < voice_from + 0.02] = 0.0
    return acc.astype(np.float32), voice.astype(np.float32), f0_frames


def _separate(mixture, mask):
    spec = spectral.stft(torch.from_numpy(mixture))
    full = np.concatenate([mask, mask[-1:]], axis=0)
    return spectral.istft(spec * torch.from_numpy(full.astype(np.float32)), length=len(mixture)).numpy()


def _sdr(reference, estimate):
    return 10 * np.log10(np.sum(reference ** 2) / np.sum((reference - estimate) ** 2))


def test_deleted_accompaniment_cleans_a_poor_mask():
    acc, voice, f0 = _song()
    mixture = acc + voice
    magnitude = spectral.model_magnitude(mixture).numpy()
    frames = spectral.frame_times(magnitude.shape[1])
    deleted = frames < 3.9
    poor = np.full(magnitude.shape, 0.5, dtype=np.float32)  # a mask that knows nothing
    second = exemplar_vocal_mask(magnitude, f0, deleted)
    assert second.shape == magnitude.shape
    voiced = f0 > 0
    neither = ~voiced & ~deleted
    assert neither.any() and np.isnan(second[:, neither]).all()
    assert np.isfinite(second[:, voiced]).all() and np.isfinite(second[:, deleted]).mean() > 0.9
    combined = combine_with_exemplars(poor, magnitude, f0, deleted)
    assert np.array_equal(combined[:, neither], poor[:, neither])
    # Measured on the voiced part: the accompaniment heard alone earlier tells the voice apart.
    part = slice(int(4.2 * RATE), len(mixture))
    before = _sdr(voice[part], _separate(mixture, poor)[part])
    after = _sdr(voice[part], _separate(mixture, combined)[part])
    assert after > before + 3.0, (before, after)


def test_deleted_frames_are_matched_against_the_accompaniment_heard_elsewhere():
    """A deleted frame is estimated like a voiced one: where the accompaniment heard in the other
    frames explains it, what the network's mask let through there goes."""
    acc, voice, f0 = _song()
    mixture = acc + voice
    magnitude = spectral.model_magnitude(mixture).numpy()
    frames = spectral.frame_times(magnitude.shape[1])
    deleted = frames < 3.9
    poor = np.full(magnitude.shape, 0.5, dtype=np.float32)
    combined = combine_with_exemplars(poor, magnitude, f0, deleted)
    assert combined[:, deleted].mean() < 0.4
    part = slice(int(0.5 * RATE), int(3.5 * RATE))  # the accompaniment alone
    left_before = np.sum(_separate(mixture, poor)[part] ** 2)
    left_after = np.sum(_separate(mixture, combined)[part] ** 2)
    assert 10 * np.log10(left_before / left_after) > 3.0


def test_the_accompaniment_between_other_notes_cleans_a_poor_mask_without_any_deletion():
    """A voice that sings throughout leaves no frame to the accompaniment alone, but each note
    leaves the bins between its harmonics to it, and the other notes' harmonics lie elsewhere:
    the frames of one note hear the accompaniment under the harmonics of the other."""
    acc, voice, f0 = _song(voice_from=0.0)
    mixture = acc + voice
    magnitude = spectral.model_magnitude(mixture).numpy()
    nothing_deleted = np.zeros(magnitude.shape[1], dtype=bool)
    second = exemplar_vocal_mask(magnitude, f0, nothing_deleted)
    voiced = f0 > 0
    below = spectral.bin_frequencies() < 4000.0
    # Above the band where harmonics are resolved no voiced frame hears the accompaniment alone.
    assert np.isnan(second[~below]).all() and np.isfinite(second[below][:, voiced]).mean() > 0.9
    poor = np.full(magnitude.shape, 0.5, dtype=np.float32)
    combined = combine_with_exemplars(poor, magnitude, f0, nothing_deleted)
    assert np.array_equal(combined[~below], poor[~below])
    part = slice(int(0.2 * RATE), len(mixture))
    before = _sdr(voice[part], _separate(mixture, poor)[part])
    after = _sdr(voice[part], _separate(mixture, combined)[part])
    assert after > before + 3.0, (before, after)


def test_the_matching_runs_on_a_tensor_where_the_analysis_is():
    """Separation hands the exemplars its magnitude as a tensor on the model's device: the same
    mask as from an array, and a device that does not exist is refused, not ignored."""
    acc, voice, f0 = _song()
    magnitude = spectral.model_magnitude(acc + voice)
    deleted = spectral.frame_times(magnitude.shape[1]) < 3.9
    from_array = exemplar_vocal_mask(magnitude.numpy(), f0, deleted)
    from_tensor = exemplar_vocal_mask(magnitude, f0, deleted, device="cpu")
    np.testing.assert_array_equal(np.isnan(from_array), np.isnan(from_tensor))
    np.testing.assert_allclose(from_tensor, from_array, atol=1e-6)
    with pytest.raises(RuntimeError):
        exemplar_vocal_mask(magnitude, f0, deleted, device="no-such-device")


def test_too_little_heard_sound_changes_nothing():
    acc, voice, f0 = _song()
    magnitude = spectral.model_magnitude(acc + voice).numpy()
    mask = np.full(magnitude.shape, 0.7, dtype=np.float32)
    few_voiced = np.where(np.arange(len(f0)) < np.flatnonzero(f0 > 0)[0] + 6, f0, 0.0)
    few_deleted = np.zeros(magnitude.shape[1], dtype=bool)
    few_deleted[:MIN_OBSERVATIONS - 7] = True
    assert (few_voiced > 0).sum() + few_deleted.sum() == MIN_OBSERVATIONS - 1
    assert exemplar_vocal_mask(magnitude, few_voiced, few_deleted) is None
    assert combine_with_exemplars(mask, magnitude, few_voiced, few_deleted) is mask
    # Deleted frames of digital silence are no evidence of the accompaniment either.
    silent = np.concatenate([np.zeros(RATE, np.float32), acc + voice])
    magnitude = spectral.model_magnitude(silent).numpy()
    deleted = spectral.frame_times(magnitude.shape[1]) < 0.9
    f0_shifted = np.concatenate([np.zeros(magnitude.shape[1] - len(f0)), few_voiced])
    assert exemplar_vocal_mask(magnitude, f0_shifted, deleted) is None
    assert exemplar_vocal_mask(magnitude, f0_shifted, deleted | (f0_shifted > 0)) is None


def test_corrections_name_the_deleted_and_quiet_frames_and_the_shown_f0():
    _, _, f0 = _song()
    frames = spectral.frame_times(len(f0))
    drawn_only = Corrections(np.array([5.0, 5.02]), np.array([330.0, 330.0]))
    shown, deleted, corrected = drawn_only.exemplar_frames(f0)
    assert corrected.any() and not deleted.any()
    assert np.allclose(shown[corrected], 330.0) and np.array_equal(shown[~corrected], f0[~corrected])
    deleting = Corrections(np.arange(0.0, 3.9, 0.01), np.zeros(len(np.arange(0.0, 3.9, 0.01))))
    shown, deleted, corrected = deleting.exemplar_frames(f0)
    assert np.array_equal(deleted, corrected) and frames[deleted].max() < 3.92
    assert np.all(shown[deleted] == 0.0)
    # Quiet frames are heard as deleted, except where the user drew a voice.
    quiet = frames >= 4.9
    _, deleted, corrected = drawn_only.exemplar_frames(f0, quiet)
    assert np.array_equal(deleted, quiet & ~corrected) and (quiet & corrected).any()


def test_exemplars_weigh_less_where_the_f0_is_only_estimated():
    from core.separation import exemplars

    acc, voice, f0 = _song()
    magnitude = spectral.model_magnitude(acc + voice).numpy()
    frames = spectral.frame_times(magnitude.shape[1])
    deleted = frames < 3.9
    mask = np.full(magnitude.shape, 0.6, dtype=np.float32)
    second = exemplar_vocal_mask(magnitude, f0, deleted)
    voiced = f0 > 0
    corrected = voiced & (frames < 5.0)
    estimated = voiced & ~corrected
    assert corrected.any() and estimated.any()
    assert np.isfinite(second[:, voiced]).all()
    combined = combine_with_exemplars(mask, magnitude, f0, deleted, corrected)
    w = exemplars.ESTIMATED_WEIGHT
    assert 0.0 < w < exemplars.CORRECTED_WEIGHT
    np.testing.assert_allclose(combined[:, corrected], np.sqrt(0.6 * second[:, corrected]),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(combined[:, estimated],
                               0.6 ** (1 - w) * second[:, estimated] ** w, rtol=1e-5, atol=1e-6)
    # Without the corrected frames named, every voiced frame counts as corrected.
    everywhere = combine_with_exemplars(mask, magnitude, f0, deleted)
    np.testing.assert_allclose(everywhere[:, voiced], np.sqrt(0.6 * second[:, voiced]),
                               rtol=1e-5, atol=1e-6)
    # Only the frames asked for are combined; the others keep the network's mask.
    asked = frames < 6.0
    some = combine_with_exemplars(mask, magnitude, f0, deleted, frames=asked)
    np.testing.assert_allclose(some[:, asked], everywhere[:, asked], rtol=1e-5, atol=1e-5)
    assert np.array_equal(some[:, ~asked], mask[:, ~asked])


def test_combining_in_place_gives_the_same_mask_without_a_copy():
    acc, voice, f0 = _song()
    magnitude = spectral.model_magnitude(acc + voice).numpy()
    frames = spectral.frame_times(magnitude.shape[1])
    deleted = frames < 3.9
    rng = np.random.default_rng(3)
    song_mask = rng.uniform(0.2, 0.9, size=(magnitude.shape[0], magnitude.shape[1] + 40))
    song_mask = song_mask.astype(np.float32)
    view = song_mask[:, 20:20 + magnitude.shape[1]]  # a segment of a longer song's mask
    before = song_mask.copy()
    expected = combine_with_exemplars(view, magnitude, f0, deleted)
    assert np.array_equal(song_mask, before)  # the copying form leaves its input alone
    result = combine_with_exemplars(view, magnitude, f0, deleted, in_place=True)
    assert result is view
    assert np.array_equal(view, expected) and not np.array_equal(view, before[:, 20:-20])
    assert np.array_equal(song_mask[:, :20], before[:, :20])
    assert np.array_equal(song_mask[:, -20:], before[:, -20:])
    with pytest.raises(TypeError):
        combine_with_exemplars(before[:, 20:-20].astype(np.float64), magnitude, f0, deleted,
                               in_place=True)


def test_quiet_frames_are_the_frames_surely_without_a_voice():
    from core.music import pitch
    from core.separation.exemplars import quiet_frames

    n = 150
    saliency = np.full((pitch.N_F0_BINS, n), 0.001, dtype=np.float32)
    saliency[200, 50:100] = 0.95  # a clear voice
    saliency[200, 100:150] = 0.09  # just under the voicing threshold: unvoiced, but unsure
    f0 = pitch.saliency_to_f0(saliency)
    quiet = quiet_frames(saliency, f0, np.zeros((256, n), dtype=np.float32))
    assert quiet[:50].all() and not quiet[50:].any()


def test_a_song_without_corrections_hears_its_quiet_frames(monkeypatch):
    """With no correction at all, the frames the network is sure hold no voice serve as exemplars
    (at the estimated frames' weight) and are estimated from the others; the other unvoiced
    frames' mask is the network's own."""
    from core.progress import run
    from core.separation import exemplars
    from core.separation.model_files import load_checked_model
    from core.separation.separate import analyse_iter

    acc, voice, _ = _song()
    magnitude = spectral.model_magnitude(acc + voice)
    model = load_checked_model(None)
    heard = run(analyse_iter(model, magnitude))
    monkeypatch.setattr(exemplars, "QUIET_CONFIDENCE", 1.01)  # nothing is ever that sure
    monkeypatch.setattr(exemplars, "MIN_OBSERVATIONS", 10 ** 9)  # and no exemplars at all
    alone = run(analyse_iter(model, magnitude))
    assert not alone.quiet_frames.any()
    monkeypatch.undo()
    f0 = alone.f0_hz()
    quiet = exemplars.quiet_frames(alone.f0_saliency, f0, alone.vocal_mask)
    assert quiet.sum() >= MIN_OBSERVATIONS and np.array_equal(heard.quiet_frames, quiet)
    expected = combine_with_exemplars(alone.vocal_mask, magnitude.numpy(), f0, quiet,
                                      np.zeros(len(f0), dtype=bool))
    np.testing.assert_allclose(heard.vocal_mask, expected, atol=1e-6)
    voiced = f0 > 0
    untouched = ~voiced & ~quiet
    assert untouched.any()
    assert np.array_equal(heard.vocal_mask[:, untouched], alone.vocal_mask[:, untouched])
    assert not np.allclose(heard.vocal_mask[:, voiced], alone.vocal_mask[:, voiced])
    assert not np.allclose(heard.vocal_mask[:, quiet], alone.vocal_mask[:, quiet])


def test_long_songs_hear_their_exemplars_segment_by_segment(monkeypatch):
    from core.progress import run
    from core.separation import exemplars, separate
    from core.separation.model_files import load_checked_model

    assert separate.exemplar_segments(10) == [(0, 10)]
    assert separate.exemplar_segments(int(1.4 * separate.EXEMPLAR_SEGMENT_FRAMES)) == [
        (0, int(1.4 * separate.EXEMPLAR_SEGMENT_FRAMES))]
    acc, voice, _ = _song(voice_from=2.0)  # the voice in both segments (split at 4 s)
    magnitude = spectral.model_magnitude(acc + voice)
    model = load_checked_model(None)
    deleting = Corrections(np.arange(0.0, 1.9, 0.01), np.zeros(len(np.arange(0.0, 1.9, 0.01))))
    monkeypatch.setattr(exemplars, "QUIET_CONFIDENCE", 1.01)  # the deletion's exemplars only
    monkeypatch.setattr(separate, "EXEMPLAR_SEGMENT_FRAMES", 250)
    segments = separate.exemplar_segments(magnitude.shape[1])
    assert len(segments) == 2 and segments[0][0] == 0 and segments[-1][1] == magnitude.shape[1]
    split = run(separate.analyse_iter(model, magnitude, corrections=deleting))
    monkeypatch.setattr(exemplars, "MIN_OBSERVATIONS", 10 ** 9)  # no exemplars at all
    alone = run(separate.analyse_iter(model, magnitude, corrections=deleting))
    monkeypatch.setattr(exemplars, "MIN_OBSERVATIONS", MIN_OBSERVATIONS)
    monkeypatch.setattr(separate, "EXEMPLAR_SEGMENT_FRAMES", 10 ** 6)  # one segment
    whole = run(separate.analyse_iter(model, magnitude, corrections=deleting))
    # Each segment's frames hear that segment's exemplars alone: the deletion lies in the first.
    shown, deleted, corrected = deleting.exemplar_frames(alone.network_f0_hz())
    a, b = segments[1]
    voiced = alone.f0_hz() > 0
    assert voiced[:a].any() and voiced[a:].any() and deleted[:a].any() and not deleted[a:].any()
    for lo, hi in segments:
        expected = combine_with_exemplars(alone.vocal_mask[:, lo:hi], magnitude[:, lo:hi].numpy(),
                                          shown[lo:hi], deleted[lo:hi], corrected[lo:hi])
        np.testing.assert_allclose(split.vocal_mask[:, lo:hi], expected, atol=1e-6)
    assert not np.allclose(split.vocal_mask[:, voiced], whole.vocal_mask[:, voiced])


def test_a_model_without_f0_hears_the_deleted_spans_under_drawn_notes(monkeypatch):
    from tests.conftest import tiny_model
    from core.progress import run
    from core.separation import exemplars, separate

    acc, voice, f0 = _song()
    magnitude = spectral.model_magnitude(acc + voice)
    frames = spectral.frame_times(magnitude.shape[1])
    drawn = (frames >= 5.0) & (frames < 6.0) & (f0 > 0)
    times = np.arange(0.0, 3.9, 0.01)
    corrections = Corrections(times, np.zeros(len(times))).draw(frames[drawn], f0[drawn])
    model = tiny_model("svs_only")
    heard = run(separate.analyse_iter(model, magnitude, corrections=corrections))
    assert heard.quiet_frames is None  # no F0, so no frame the network is sure of
    monkeypatch.setattr(exemplars, "MIN_OBSERVATIONS", 10 ** 9)
    alone = run(separate.analyse_iter(model, magnitude, corrections=corrections))
    assert not np.allclose(heard.vocal_mask[:, drawn], alone.vocal_mask[:, drawn])
    deleted = frames < 3.9
    assert not np.allclose(heard.vocal_mask[:, deleted], alone.vocal_mask[:, deleted])
    untouched = ~drawn & ~deleted
    assert np.array_equal(heard.vocal_mask[:, untouched], alone.vocal_mask[:, untouched])
