"""Hearing a correction at once: the stretch a stroke changed is re-separated, nothing else moves."""
from __future__ import annotations

import copy

import numpy as np

from tests.conftest import synth_song, tiny_model
from core.audio.io import Audio
from core.document import preview
from core.progress import run
from core.separation.corrections import Corrections
from core.separation.separate import model_input, separate_iter


def _relative_db(difference, reference) -> float:
    return float(10 * np.log10(np.sum(difference ** 2) / np.sum(reference ** 2)))


def test_changed_frames_finds_the_stroke_and_only_it():
    old = Corrections().erase(1.0, 1.5)
    assert preview.changed_frames(old, old, 1000) is None
    new = old.draw([4.0, 4.5, 5.0], [220.0, 230.0, 240.0])
    first, stop = preview.changed_frames(old, new, 1000)
    frame_seconds = 256 / 16000
    assert abs(first * frame_seconds - 4.0) < 0.05 and abs(stop * frame_seconds - 5.0) < 0.05
    # Undoing the stroke changes the same frames back.
    assert preview.changed_frames(new, old, 1000) == (first, stop)


def test_preview_matches_a_whole_song_separation_where_it_changed_and_keeps_the_rest():
    model = tiny_model()
    mixture, _, _ = synth_song(seconds=20.0)
    audio = Audio(mixture, 44100)
    old = Corrections().erase(1.0, 1.5)
    new = old.draw(np.array([8.0, 9.0, 10.0]), np.array([220.0, 230.0, 240.0]))
    before = run(separate_iter(audio, model, with_beats=False, corrections=old))
    whole = run(separate_iter(audio, model, with_beats=False, corrections=new))

    first, stop = preview.changed_frames(old, new, before.analysis.n_frames)
    update = run(preview.reseparate_iter(model, audio.samples, audio.sample_rate,
                                         model_input(audio), before.analysis,
                                         before.analysis.network_f0_hz(), new,
                                         first, stop))
    previewed = copy.deepcopy(before)
    preview.apply_update(previewed, audio.samples, update)

    span = slice(update.start_sample, update.stop_sample)
    assert update.start_sample < 8.0 * 44100 and update.stop_sample > 10.0 * 44100
    # The stroke changed the vocals there, and the preview hears that change.
    changed_by = _relative_db(before.vocals[:, span] - whole.vocals[:, span], whole.vocals[:, span])
    preview_error = _relative_db(previewed.vocals[:, span] - whole.vocals[:, span],
                                 whole.vocals[:, span])
    assert preview_error < -30.0
    assert preview_error < changed_by - 10.0
    # Elsewhere nothing moved, and the stems still add up to the song.
    outside = np.ones(audio.n_samples, dtype=bool)
    outside[span] = False
    np.testing.assert_array_equal(previewed.vocals[:, outside], before.vocals[:, outside])
    np.testing.assert_allclose(previewed.vocals + previewed.accompaniment, audio.samples,
                               atol=1e-6)
    np.testing.assert_array_equal(
        previewed.analysis.vocal_mask[:, update.first_frame:update.stop_frame], update.vocal_mask)


def test_the_song_spectrum_kept_between_strokes_is_the_songs_and_changes_nothing():
    import torch

    from core.audio import spectral

    model = tiny_model()
    mixture, _, _ = synth_song(seconds=12.0)
    audio = Audio(mixture, 44100)
    mono16 = model_input(audio)
    old = Corrections()
    new = old.draw(np.array([5.0, 6.0]), np.array([220.0, 230.0]))
    before = run(separate_iter(audio, model, with_beats=False, corrections=old))
    first, stop = preview.changed_frames(old, new, before.analysis.n_frames)

    spectra = preview.SegmentSpectra(mono16)
    n = before.analysis.n_frames
    kept = spectra.segment(0, n)
    assert spectra.segment(0, n) is kept  # computed once
    torch.testing.assert_close(kept, spectral.model_magnitude(mono16)[:, :n])

    def update(**kw):
        return run(preview.reseparate_iter(model, audio.samples, audio.sample_rate, mono16,
                                           before.analysis, before.analysis.network_f0_hz(),
                                           new, first, stop, **kw))

    fresh, reused = update(), update(spectra=spectra)
    np.testing.assert_array_equal(reused.vocal_mask, fresh.vocal_mask)
    np.testing.assert_array_equal(reused.vocals, fresh.vocals)
    # another song's spectrum is never used
    other = preview.SegmentSpectra(mono16.copy())
    other._kept = (0, n, torch.zeros_like(kept))
    np.testing.assert_array_equal(update(spectra=other).vocal_mask, fresh.vocal_mask)


def test_the_session_keeps_the_song_spectrum_from_its_analysis_to_the_strokes(opened_session,
                                                                             tmp_path):
    import soundfile as sf

    from core.progress import run as run_job

    s = opened_session
    run_job(s.analyse_iter())
    spectra = s.segment_spectra()
    assert spectra.mono16 is s.model_input() and spectra._kept is not None  # ready
    assert s.segment_spectra() is spectra
    mixture, _, _ = synth_song(seconds=4.0, seed=3)
    other = tmp_path / "other.wav"
    sf.write(other, mixture.T, 44100)
    run_job(s.open_iter(other))
    assert s._segment_spectra is None  # a new song lets the old spectrum go
    assert s.segment_spectra().mono16 is s.model_input()
