"""Per-frame F0 confidence: low where the voicing is borderline or another ridge competes."""
import numpy as np
import pytest

from core.music import pitch
from core.separation.confidence import error_auc, f0_confidence, wrong_frames


def _ridge(bin_, height):
    grid = np.arange(pitch.N_F0_BINS)
    return (height * np.exp(-0.5 * (grid - bin_) ** 2)).astype(np.float32)


def test_confidence_is_low_on_borderline_voicing_and_competing_octaves():
    saliency = np.zeros((pitch.N_F0_BINS, 30), dtype=np.float32)
    saliency[:, :10] = _ridge(100, 0.95)[:, None]                    # clear note
    saliency[:, 10:20] = _ridge(100, 0.12)[:, None]                  # barely voiced
    saliency[:, 20:30] = (_ridge(100, 0.9) + _ridge(160, 0.85))[:, None]  # octave rival
    confidence = f0_confidence(saliency)
    assert confidence.shape == (30,) and confidence.min() >= 0 and confidence.max() <= 1
    assert confidence[:10].min() > 0.6
    assert confidence[10:20].max() < 0.2
    assert confidence[20:30].max() < 0.35


def test_wrong_frames_and_auc():
    ref = np.array([0, 220, 220, 220, 0, 0])
    est = np.array([0, 220, 440, 224, 110, 0])  # octave error, 31 cents, false alarm
    assert wrong_frames(ref, est).tolist() == [False, False, True, False, True, False]
    wrong = np.array([False, False, True, True])
    assert error_auc(np.array([0.9, 0.8, 0.1, 0.2]), wrong) == 1.0
    assert error_auc(np.array([0.1, 0.2, 0.9, 0.8]), wrong) == 0.0
    assert np.isnan(error_auc(np.ones(3), np.zeros(3, bool)))


def test_evaluate_reports_the_confidence_auc(tmp_path):
    import csv

    from core.cli import main
    from core.separation.models.store import save_model
    from tests.conftest import tiny_model
    from tests.fake_datasets import write_fake_produced

    root = write_fake_produced(tmp_path / "pro")
    model_file = save_model(tiny_model(), tmp_path / "m.safetensors")
    assert main(["evaluate", "--dataset", f"produced:{root}", "--model", str(model_file),
                 "--csv", str(tmp_path / "e.csv"), "--device", "cpu", "--fast"]) == 0
    with open(tmp_path / "e.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert "confidence_auc" in rows[0]
