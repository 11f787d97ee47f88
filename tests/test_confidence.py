"""Per-frame F0 confidence: low where the voicing is borderline or another ridge competes."""
import numpy as np
import pytest

from core.music import pitch
from core.separation.confidence import error_auc, f0_confidence, wrong_frames


def _ridge(bin_, height):
    grid = np.arange(pitch.N_F0_BINS)
    return (height * np.exp(-0.5 * (grid - bin_) ** 2)).astype(np.float32)


@pytest.mark.parametrize("measured_pitch", [False, True])
def test_confidence_is_low_on_borderline_voicing_and_competing_octaves(measured_pitch):
    """With the network's own contour, or with a measured pitch whose vocal repeats clearly on
    the clear note, less on the rival octaves and hardly on the borderline frames."""
    saliency = np.zeros((pitch.N_F0_BINS, 90), dtype=np.float32)
    saliency[:, :30] = _ridge(100, 0.95)[:, None]                    # clear note
    saliency[:, 30:60] = _ridge(100, 0.12)[:, None]                  # barely voiced
    saliency[:, 60:90] = (_ridge(100, 0.9) + _ridge(160, 0.85))[:, None]  # octave rival
    mask = np.full((512, 90), 0.5, dtype=np.float32)
    periodicity = None
    if measured_pitch:
        periodicity = np.repeat(np.array([[0.9, 0.95], [0.2, 0.4], [0.6, 0.9]], dtype=np.float32),
                                30, axis=0)
    confidence = f0_confidence(saliency, pitch.saliency_to_f0(saliency), mask,
                               periodicity=periodicity)
    assert confidence.shape == (90,) and confidence.min() >= 0 and confidence.max() <= 1
    clear, borderline, rival = (confidence[a + 10:a + 20].mean() for a in (0, 30, 60))
    # The fitted regression's figures (0.999, 0.44, 0.975 with today's weights) move with each
    # fit; the order is what a musician relies on.
    assert clear > 0.95
    assert borderline < rival < clear
    assert borderline < 0.8


def test_a_silent_f0_over_a_voice_like_mask_is_doubtful():
    """A frame called unvoiced where the separation hears a voice is a likely miss."""
    saliency = np.full((pitch.N_F0_BINS, 60), 0.01, dtype=np.float32)
    empty = f0_confidence(saliency, None, np.zeros((512, 60), dtype=np.float32))
    voice = f0_confidence(saliency, None, np.full((512, 60), 0.6, dtype=np.float32))
    assert voice[20:40].mean() < empty[20:40].mean() - 0.03  # 0.61 against 0.66 today


def test_distance_to_the_nearest_voicing_change():
    from core.separation.confidence import MAX_DISTANCE_FRAMES, _distance_to_change

    voiced = np.array([0, 0, 0, 1, 1, 1, 1, 0], dtype=bool)
    assert _distance_to_change(voiced).tolist() == [2, 1, 0, 0, 1, 1, 0, 0]
    assert (_distance_to_change(np.ones(80, dtype=bool)) == MAX_DISTANCE_FRAMES).all()


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


def test_the_shown_confidence_never_moves_the_separation(monkeypatch):
    """The exemplars' quiet frames judge the network's own contour with its own regression, so
    refitting the confidence of the measured pitch cannot change a separation."""
    from core.separation import confidence
    from core.separation.exemplars import quiet_frames

    saliency = np.zeros((pitch.N_F0_BINS, 90), dtype=np.float32)
    saliency[:, :30] = _ridge(100, 0.95)[:, None]
    saliency[:, 30:60] = _ridge(100, 0.05)[:, None]  # unvoiced, not quite sure of it
    saliency[:, 60:90] = 0.002                       # unvoiced, sure
    mask = np.full((512, 90), 0.3, dtype=np.float32)
    f0 = pitch.saliency_to_f0(saliency)
    before = quiet_frames(saliency, f0, mask)
    assert before.any() and not before[:30].any()
    sure = confidence.Regression(np.zeros(16), np.ones(16), np.zeros(16), -50.0)  # always sure
    unsure = confidence.Regression(np.zeros(16), np.ones(16), np.zeros(16), 50.0)  # never sure
    for shown in (sure, unsure):
        monkeypatch.setattr(confidence, "MEASURED_PITCH", shown)
        np.testing.assert_array_equal(quiet_frames(saliency, f0, mask), before)
    monkeypatch.setattr(confidence, "NETWORK_PITCH", unsure)
    assert not quiet_frames(saliency, f0, mask).any()
    monkeypatch.setattr(confidence, "NETWORK_PITCH", sure)
    assert np.array_equal(quiet_frames(saliency, f0, mask), f0 <= 0)
