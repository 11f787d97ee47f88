"""Deep Karaoke's probabilistic binary mask: `isolde separate --mask-confidence`, export, dialog."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import synth_song, tiny_model
from core.audio.io import Audio
from core.errors import IsoldeError
from core.progress import run
from core.separation.separate import apply_mask_iter, binary_mask, separate_iter

pytest_plugins = ["tests.app_fixtures"]  # the window fixtures


def test_binary_mask_thresholds_and_refuses_bad_alphas():
    mask = np.array([[0.1, 0.5, 0.49, 0.9]], dtype=np.float32)
    np.testing.assert_array_equal(binary_mask(mask, 0.5), [[0, 1, 0, 1]])
    for alpha in (0.0, 1.0, -0.2, 1.5, float("nan")):
        with pytest.raises(IsoldeError, match="between 0 and 1"):
            binary_mask(mask, alpha)


def test_separation_with_a_binary_mask():
    model = tiny_model()
    mixture, _, _ = synth_song(seconds=3.0)
    audio = Audio(mixture, 44100)
    soft = run(separate_iter(audio, model, with_beats=False))
    hard = run(separate_iter(audio, model, with_beats=False, mask_confidence=0.5))
    np.testing.assert_array_equal(hard.analysis.vocal_mask, soft.analysis.vocal_mask)  # kept soft
    expected = run(apply_mask_iter(audio.samples, 44100, binary_mask(soft.analysis.vocal_mask, 0.5)))
    np.testing.assert_allclose(hard.vocals, expected, atol=1e-6)
    assert not np.allclose(hard.vocals, soft.vocals, atol=1e-3)
    np.testing.assert_allclose(hard.vocals + hard.accompaniment, audio.samples, atol=1e-6)


@pytest.mark.parametrize("alpha", ["0", "1", "nan", "-1"])
def test_cli_refuses_a_bad_alpha_before_writing_anything(tmp_path, song_file, alpha):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "core.cli", "separate", str(song_file), "-o",
                           str(out), "--mask-confidence", alpha], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("isolde: error: The mask confidence")
    assert not out.exists()


@pytest.fixture
def analysed(opened_session):
    run(opened_session.analyse_iter())
    return opened_session


def test_export_with_a_binary_mask(analysed, tmp_path):
    soft_dir, hard_dir = tmp_path / "soft", tmp_path / "hard"
    run(analysed.export_iter(soft_dir, audio_format="wav", subtype="float32",
                             what=("vocals", "accompaniment")))
    run(analysed.export_iter(hard_dir, audio_format="wav", subtype="float32",
                             what=("vocals", "accompaniment"), mask_confidence=0.5))
    soft, _ = sf.read(soft_dir / "song_vocals.wav", always_2d=True)
    hard, _ = sf.read(hard_dir / "song_vocals.wav", always_2d=True)
    accompaniment, _ = sf.read(hard_dir / "song_accompaniment.wav", always_2d=True)
    assert not np.allclose(hard, soft, atol=1e-3)
    np.testing.assert_allclose(hard + accompaniment, analysed.audio.samples.T, atol=1e-5)
    np.testing.assert_array_equal(soft.T, analysed.result.vocals)  # the editor's stems as heard


def test_export_dialog_offers_the_binary_mask(qtbot, window, tmp_path):
    from tests.app_helpers import open_and_analyse, write_song

    open_and_analyse(qtbot, window, write_song(tmp_path / "song.wav"))
    window.choose_and_export()
    dialog = window.export_dialog
    assert dialog.choice()[1]["mask_confidence"] is None and dialog.mask_label.text() == "soft"
    dialog.mask_confidence.setValue(7)
    assert dialog.choice()[1]["mask_confidence"] == pytest.approx(0.7)
    assert "0.7" in dialog.mask_label.text()
    dialog.reject()


def test_export_dialog_exports_the_selection_alone(qtbot, window, tmp_path):
    from tests.app_helpers import open_and_analyse, write_song

    open_and_analyse(qtbot, window, write_song(tmp_path / "song.wav"))
    window.choose_and_export()
    assert not window.export_dialog.only_selection.isEnabled()  # nothing selected yet
    assert window.export_dialog.choice()[1]["section"] is None
    window.export_dialog.reject()
    window.session.set_selection(0.25, 0.75)
    window.choose_and_export()
    dialog = window.export_dialog
    assert dialog.only_selection.isEnabled() and "0.25 - 0.75" in dialog.only_selection.text()
    assert dialog.choice()[1]["section"] is None  # the whole song unless asked
    dialog.only_selection.setChecked(True)
    assert dialog.choice()[1]["section"] == (0.25, 0.75)
    dialog.reject()
