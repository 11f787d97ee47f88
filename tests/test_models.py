import json
import pickle

import numpy as np
import pytest
import torch

from core.audio import spectral
from core.errors import ModelError
from core.music import pitch
from core.separation.models import ARCHITECTURES
from core.separation.models.store import load_model, save_model, sha256_of
from tests.conftest import tiny_model


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_output_shapes_and_ranges(architecture):
    model = tiny_model(architecture)
    magnitude = torch.rand(2, spectral.N_BINS, 128) * 10
    with torch.no_grad():
        out = model(magnitude)
    assert out.vocal_mask.shape == (2, spectral.N_BINS, 128)
    assert float(out.vocal_mask.min()) >= 0 and float(out.vocal_mask.max()) <= 1
    if architecture == "svs_only":
        assert out.f0_saliency is None
    else:
        assert out.f0_saliency.shape == (2, pitch.N_F0_BINS, 128)


def test_f0_reaches_separation_in_f0_to_svs():
    """The separation net's input includes the F0 result: changing the saliency changes the mask."""
    model = tiny_model("f0_to_svs")
    magnitude = torch.rand(1, spectral.N_BINS, 64)
    sal_a = torch.zeros(1, pitch.N_F0_BINS, 64)
    sal_b = torch.from_numpy(pitch.f0_to_saliency(np.full(64, 220.0)))[None]
    with torch.no_grad():
        a = model.estimate_mask(magnitude, sal_a)
        b = model.estimate_mask(magnitude, sal_b)
    assert torch.max(torch.abs(a - b)) > 1e-4


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_save_load_round_trip(tmp_path, architecture):
    model = tiny_model(architecture)
    path = save_model(model, tmp_path / "m.safetensors", half=False)
    loaded = load_model(path)
    x = torch.rand(1, spectral.N_BINS, 64)
    with torch.no_grad():
        assert torch.allclose(model(x).vocal_mask, loaded(x).vocal_mask, atol=1e-6)
    assert loaded.config == model.config


def test_corrupt_weights_are_refused(tmp_path):
    path = save_model(tiny_model(), tmp_path / "m.safetensors")
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="corrupt"):
        load_model(path)


def test_pickle_is_never_loaded(tmp_path):
    """A hostile 'model' (a pickle that would run code) gets an error, nothing more."""
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(Evil()))
    card = {"format": "isolde-model", "config": {"architecture": "f0_to_svs"},
            "sha256": sha256_of(path)}
    path.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="Not a model file"):
        load_model(path)
    assert not marker.exists()


@pytest.mark.parametrize("card_text", ["not json", "[]", '{"format": "other", "config": {}}',
                                       '{"format": "isolde-model", "config": {"architecture": "x"}}'])
def test_bad_cards(tmp_path, card_text):
    path = save_model(tiny_model(), tmp_path / "m.safetensors")
    path.with_suffix(".json").write_text(card_text)
    with pytest.raises(ModelError):
        load_model(path, check_hash=False)


def test_missing_model(tmp_path):
    with pytest.raises(ModelError, match="No such model"):
        load_model(tmp_path / "none.safetensors")
