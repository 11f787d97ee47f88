"""The weights a training run starts from (``isolde train --init-from``).

Another run's ``checkpoint.pt`` (tensors only, loaded with ``weights_only=True``) or a model file
(checked against its card). A source of another configuration gives the sub-networks it shares
with the new run (:func:`transfer_weights`).
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..errors import IsoldeError
from ..separation.model_files import load_checked_model as load_model
from ..separation.models import ModelConfig, build_model


def initial_weights(path: str, model_config: ModelConfig) -> dict:
    """Weights to start a new run from: another run's ``checkpoint.pt`` or a model file."""
    source = Path(path)
    if source.suffix == ".pt":
        try:
            state = torch.load(source, map_location="cpu", weights_only=True)["model"]
        except FileNotFoundError:
            raise IsoldeError(f"Cannot start training from {path}: no such file") from None
        except Exception:  # noqa: BLE001 - pickles that are not plain tensors land here too
            raise IsoldeError(f"Cannot start training from {path}: not an Isolde training "
                              "checkpoint (checkpoints hold tensors only; nothing else is "
                              "loaded)") from None
        if not isinstance(state, dict):
            raise IsoldeError(f"Cannot start training from {path}: not an Isolde training "
                              "checkpoint")
    else:
        state = load_model(source, allow_waveform=True).state_dict()
    target = build_model(model_config).state_dict()
    try:
        build_model(model_config).load_state_dict(state)
        return state
    except RuntimeError:
        transferred = transfer_weights(state, target)
    if not transferred:
        raise IsoldeError(f"Cannot start training from {path}: its network differs from this "
                          "run's configuration") from None
    return target


def transfer_weights(source: dict, target: dict) -> bool:
    """Copy into ``target`` (a state dict, changed in place) what ``source`` has for it: a run of
    another configuration (``svs_only`` or ``svs_to_f0`` from the ``f0_to_svs`` model) starts
    from the sub-networks they share.

    A tensor is copied when its name and shape match. The separation net's first convolution of
    ``f0_to_svs`` reads two channels (magnitude, F0 rendering); the other configurations read
    the magnitude alone, so they get its first input channel. A voice-activity head the source
    lacks keeps its initial values (it starts out saying "voice" everywhere). Returns False
    (``target`` then half-filled: discard it) unless every other tensor of ``target`` was found."""
    first = "svs_net.encoders.0.0.weight"
    copied = 0
    for name, tensor in target.items():
        weights = source.get(name)
        if weights is None:
            continue
        if name == first and weights.shape[1] != tensor.shape[1] and weights.shape[0] == tensor.shape[0]:
            weights = weights[:, : tensor.shape[1]]
        if weights.shape == tensor.shape:
            tensor.copy_(weights)
            copied += 1
    new_heads = sum(name.startswith("activity_head.") and name not in source for name in target)
    return copied + new_heads == len(target)
