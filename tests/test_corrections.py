import numpy as np
import pytest
import torch

from core.audio import spectral
from core.errors import CorrectionsError
from core.music import pitch
from core.separation.corrections import DELETED_WEIGHT, Corrections


def test_spans_interpolation_and_frames():
    c = Corrections.from_csv_text("time,f0\n1.00,200\n1.04,400\n1.08,0\n2.0,300\n")
    assert c.span_times() == [(1.0, 1.08), (2.0, 2.0)]
    frames = np.array([0.5, 1.0, 1.02, 1.06, 1.5, 2.0])
    corrected, f0 = c.to_frames(frames)
    assert corrected.tolist() == [False, True, True, True, False, True]
    assert f0[1] == pytest.approx(200)
    assert f0[2] == pytest.approx(200 * np.sqrt(2))  # halfway in log frequency
    assert f0[3] in (400.0, 0.0)  # nearest where one end is 0
    assert f0[5] == pytest.approx(300)
    estimated = np.full(6, 123.0)
    assert c.apply_to_f0(frames, estimated).tolist()[0] == 123.0


def test_edits_and_csv_round_trip(tmp_path):
    c = Corrections().draw([1.0, 1.01, 1.02], [220, 221, 222])
    c = c.erase(2.0, 2.5)
    corrected, f0 = c.to_frames(np.array([1.01, 2.25, 3.0]))
    assert corrected.tolist() == [True, True, False] and f0[1] == 0
    up = c.transpose(0.9, 1.1, 12)
    assert up.f0_hz[0] == pytest.approx(440)
    cleared = c.clear(1.9, 2.6)
    assert cleared.to_frames(np.array([2.25]))[0].tolist() == [False]
    path = c.save_csv(tmp_path / "c.csv")
    back = Corrections.load_csv(path)
    assert np.allclose(back.times, c.times, atol=1e-6) and np.allclose(back.f0_hz, c.f0_hz, atol=1e-3)


@pytest.mark.parametrize("text", ["", "t,f\n1,2\n", "time,f0\n1\n", "time,f0\nx,2\n",
                                  "time,f0\n1,-5\n", "time,f0\n1,nan\n"])
def test_malformed_csv(text):
    with pytest.raises(CorrectionsError):
        Corrections.from_csv_text(text)


def test_times_outside_the_song():
    Corrections.from_csv_text("time,f0\n0,100\n10.05,100\n").check_fits(10.0)
    with pytest.raises(CorrectionsError, match="outside"):
        Corrections.from_csv_text("time,f0\n0,100\n10.2,100\n").check_fits(10.0)


def test_saliency_override_imposes_corrected_frames():
    c = Corrections().draw(np.arange(10, 20) * spectral.HOP_SECONDS, np.full(10, 440.0))
    c = c.erase(30 * spectral.HOP_SECONDS, 35 * spectral.HOP_SECONDS)
    sal = torch.full((1, pitch.N_F0_BINS, 64), 0.5)
    out = c.saliency_override(0, 64, sal)
    assert torch.all(out[0, :, 0] == 0.5)
    decoded = pitch.saliency_to_f0(out[0].numpy())
    assert decoded[15] == pytest.approx(440, rel=1e-3)
    assert decoded[32] == 0.0 and out[0, :, 32].max() == 0


def test_saliency_override_without_the_drawn_f0_imposes_only_deletions():
    c = Corrections().draw(np.arange(10, 20) * spectral.HOP_SECONDS, np.full(10, 440.0))
    c = c.erase(30 * spectral.HOP_SECONDS, 35 * spectral.HOP_SECONDS)
    sal = torch.full((1, pitch.N_F0_BINS, 64), 0.5)
    out = c.saliency_override(0, 64, sal, drawn=False)
    assert torch.all(out[0, :, 15] == 0.5)  # drawn: the network's saliency
    assert out[0, :, 32].max() == 0  # deleted: no voice
    assert torch.all(out[0, :, 50] == 0.5)
    drawn = c.drawn_frames(0, 64)
    assert drawn[10:20].all() and not drawn[:9].any() and not drawn[21:].any()


def test_refine_mask_turns_deleted_down_and_favours_drawn_harmonics():
    c = Corrections().draw(np.arange(0, 20) * spectral.HOP_SECONDS, np.full(20, 250.0))
    c = c.erase(30 * spectral.HOP_SECONDS, 40 * spectral.HOP_SECONDS)
    mask = torch.full((1, spectral.N_BINS, 64), 0.8)
    out = c.refine_mask(0, 64, mask)[0]
    harmonic = int(round(500 / spectral.BIN_HZ))
    between = int(round(375 / spectral.BIN_HZ))
    assert out[harmonic, 10] > 0.75 and out[between, 10] < 0.3
    # Deleted: the mask is turned down by the deletion weight on every bin, not muted.
    torch.testing.assert_close(out[:, 35], torch.full((spectral.N_BINS,), 0.8 * DELETED_WEIGHT))
    assert 0 < DELETED_WEIGHT < 1
    assert torch.equal(out[:, 50], mask[0, :, 50])  # uncorrected: untouched
    assert out[int(6000 / spectral.BIN_HZ), 10] == pytest.approx(0.8)  # above the harmonic band
