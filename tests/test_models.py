import json
import pickle

import numpy as np
import pytest
import torch

from core.audio import spectral
from core.errors import ModelError
from core.music import pitch
from core.separation.models import SPECTROGRAM_ARCHITECTURES
from core.separation.models.store import load_model, save_model, sha256_of
from tests.conftest import tiny_model


@pytest.mark.parametrize("architecture", SPECTROGRAM_ARCHITECTURES)
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


@pytest.mark.parametrize("architecture", SPECTROGRAM_ARCHITECTURES)
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


def _with_activity(architecture="f0_to_svs"):
    from core.separation.models import JointModel, ModelConfig
    from tests.conftest import TINY

    torch.manual_seed(0)
    return JointModel(ModelConfig(architecture=architecture, voice_activity=True, **TINY)).eval()


@pytest.mark.parametrize("architecture", ["f0_to_svs", "svs_to_f0"])
def test_voice_activity_head_scales_the_saliency(architecture):
    model = _with_activity(architecture)
    magnitude = torch.rand(1, spectral.N_BINS, 128) * 10
    with torch.no_grad():
        out = model(magnitude)
        model.activity_head.conv.bias.fill_(-4.0)  # now it hears no voice anywhere
        silent = model(magnitude)
    assert out.voice_activity.shape == (1, 128)
    # A new head says "voice" everywhere, so the model sounds like the weights it started from.
    assert float(out.voice_activity.min()) > 0.95
    assert float(silent.f0_saliency.max()) < 0.02 < float(out.f0_saliency.max())


def test_voice_activity_needs_an_f0_net():
    from core.separation.models import ModelConfig

    with pytest.raises(ValueError, match="svs_only"):
        ModelConfig.from_dict({"architecture": "svs_only", "voice_activity": True})


def test_voice_activity_head_survives_a_model_file(tmp_path):
    model = _with_activity()
    with torch.no_grad():
        model.activity_head.conv.bias.fill_(1.5)
    loaded = load_model(save_model(model, tmp_path / "vad.safetensors", half=False))
    assert loaded.config.voice_activity
    magnitude = torch.rand(1, spectral.N_BINS, 64)
    with torch.no_grad():
        np.testing.assert_allclose(loaded(magnitude).voice_activity, model(magnitude).voice_activity)


def test_vad_loss_teaches_the_head_the_reference_voicing():
    """A few steps of the loss on one crop: the head's activity falls where the reference is
    unvoiced and stays up where it is voiced."""
    from core.training.train import losses

    model = _with_activity().train()
    torch.manual_seed(1)
    t = torch.arange(127 * 256) / spectral.MODEL_SAMPLE_RATE
    vocals = sum(torch.sin(2 * np.pi * 220.0 * h * t) / h for h in range(1, 6)) * (t < 1.0)
    vocals = vocals.repeat(2, 1) * 0.3
    mixture = vocals + torch.randn(2, len(t)) * 0.02
    f0 = torch.zeros(2, 128)
    f0[:, :64] = 220.0
    optimizer = torch.optim.Adam(model.activity_head.parameters(), lr=0.1)
    first = None
    for _ in range(60):
        parts = losses(model, mixture, vocals, f0, 1.0, vad_weight=1.0)
        first = float(parts["vad"]) if first is None else first
        optimizer.zero_grad()
        parts["vad"].backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        activity = model(spectral.model_magnitude(mixture)).voice_activity
    assert float(parts["vad"]) < 0.5 * first
    assert float(activity[:, 8:56].mean()) > float(activity[:, 72:120].mean()) + 0.3


def test_a_card_with_a_bad_voice_activity_switch_is_refused(tmp_path):
    from core.separation.model_files import load_checked_model

    path = save_model(tiny_model(), tmp_path / "m.safetensors")
    card_file = path.with_suffix(".json")
    card = json.loads(card_file.read_text())
    card["config"]["voice_activity"] = "yes"
    card_file.write_text(json.dumps(card))
    with pytest.raises(ModelError, match="true or false"):
        load_checked_model(path)
