"""Model files: safetensors weights plus a JSON card, checked by hash, never unpickled.

A model is two files side by side: ``NAME.safetensors`` (the tensors) and ``NAME.json`` (the
:class:`~core.separation.models.joint.ModelConfig`, the SHA-256 of the weights file, and training
notes). Loading reads no code from either file, so a hostile model file can only produce an error.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from ...audio.fileio import atomic_path, write_text_atomic
from ...errors import ModelError
from .joint import JointModel, ModelConfig, build_model

RESOURCES = Path(__file__).resolve().parents[3] / "resources"
#: The model Isolde uses unless told otherwise: the F0 -> SVS network with a voice-activity head,
#: trained on real produced stems too and with a magnitude SDR loss
#: (``resources/models/isolde-f0-svs-sdr.md``: produced excerpts 5.87 dB cross-validated against
#: 5.73 for ``isolde-f0-svs-produced``, 10 of 11 up; MIR-1K 9.78 against 9.87 dB).
DEFAULT_MODEL = RESOURCES / "models" / "isolde-f0-svs-sdr.safetensors"


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def card_path(weights_path: str | os.PathLike) -> Path:
    return Path(weights_path).with_suffix(".json")


def save_model(model: JointModel, path: str | os.PathLike, *, half: bool = True,
               notes: dict | None = None) -> Path:
    """Write ``path`` (.safetensors) and its JSON card atomically. ``half`` stores float16."""
    from safetensors.torch import save_file

    path = Path(path)
    tensors = {}
    for name, value in model.state_dict().items():
        value = value.detach().cpu().contiguous()
        if half and value.is_floating_point():
            value = value.half()
        tensors[name] = value
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"format": "isolde-model", "version": "1"})
    card = {"format": "isolde-model", "version": 1, "config": model.config.to_dict(),
            "sha256": sha256_of(path), "notes": notes or {}}
    write_text_atomic(card_path(path), json.dumps(card, indent=2) + "\n")
    return path


def read_card(path: str | os.PathLike) -> dict:
    """The JSON card of a model file (raises :class:`ModelError` if missing or malformed)."""
    card_file = card_path(path)
    try:
        card = json.loads(Path(card_file).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"Model card missing: {card_file} (a model is a .safetensors file plus "
                         "its .json card)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"Model card is not valid JSON: {card_file}") from exc
    if not isinstance(card, dict) or card.get("format") != "isolde-model" or "config" not in card:
        raise ModelError(f"Not an Isolde model card: {card_file}")
    return card


def load_model(path: str | os.PathLike | None = None, *, device: str | torch.device = "cpu",
               check_hash: bool = True) -> JointModel:
    """Load a model for inference (eval mode, float32) from its safetensors file and card."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path) if path is not None else DEFAULT_MODEL
    if not path.exists():
        raise ModelError(f"No such model file: {path}")
    card = read_card(path)
    if check_hash and card.get("sha256") and sha256_of(path) != card["sha256"]:
        raise ModelError(f"Model file is corrupt (its SHA-256 does not match its card): {path}")
    try:
        config = ModelConfig.from_dict(card["config"])
        model = build_model(config)
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelError(f"Model card describes no model Isolde knows: {path} ({exc})") from exc
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"Not a model file (safetensors expected): {path}") from exc
    state = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelError(f"Model weights do not fit the model its card describes: {path}") from exc
    return model.to(device).eval()
