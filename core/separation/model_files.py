"""Checks on a model file before :func:`.models.store.load_model` builds anything from it.

A model is a ``.safetensors`` file plus its ``.json`` card. Here the pair is checked cheaply:
a regular file, a card of sane size and nesting whose ``config`` is an object of plausible
numbers, and a SHA-256 (required: it is what catches a damaged or swapped file). Whatever still
goes wrong while loading becomes a :class:`~core.errors.ModelError` with one line, never a
traceback.
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from ..errors import ModelError

#: Largest card read (bytes); real cards are a few kB.
MAX_CARD_BYTES = 1024 * 1024
#: Largest number a card's config may hold (channels, depths); the shipped model's largest is 192.
MAX_CONFIG_NUMBER = 4096
#: Longest list a card's config may hold (harmonics).
MAX_CONFIG_LIST = 64


def _plain_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_card(path: Path) -> dict:
    """Read and check the card of the weights ``path``; returns it."""
    from .models.store import card_path

    card_file = card_path(path)
    try:
        info = card_file.stat()
    except FileNotFoundError:
        raise ModelError(f"Model card missing: {card_file} (a model is a .safetensors file plus "
                         "its .json card)") from None
    except OSError as exc:
        raise ModelError(f"Cannot read model card {card_file}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ModelError(f"Model card is not a file: {card_file}")
    if info.st_size > MAX_CARD_BYTES:
        raise ModelError(f"Model card is implausibly large ({info.st_size} bytes): {card_file}")
    try:
        card = json.loads(card_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        raise ModelError(f"Model card is not valid JSON: {card_file}") from None
    if not isinstance(card, dict) or card.get("format") != "isolde-model":
        raise ModelError(f"Not an Isolde model card: {card_file}")
    config = card.get("config")
    if not isinstance(config, dict):
        raise ModelError(f"Model card has no configuration object: {card_file}")
    for key, value in config.items():
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list) and len(value) > MAX_CONFIG_LIST:
            raise ModelError(f"Model card's {key} is implausibly long: {card_file}")
        for v in values:
            if _plain_number(v) and not abs(v) <= MAX_CONFIG_NUMBER:
                raise ModelError(f"Model card describes an implausibly large network "
                                 f"({key} = {v}): {card_file}")
            if not (_plain_number(v) or isinstance(v, (str, bool))):
                raise ModelError(f"Model card's {key} is not a number, a switch or a name: "
                                 f"{card_file}")
    sha = card.get("sha256")
    if not isinstance(sha, str) or len(sha) != 64:
        raise ModelError(f"Model card gives no SHA-256 of its weights: {card_file}")
    return card


def load_checked_model(path: str | os.PathLike | None = None, *, device="cpu",
                       allow_waveform: bool = False):
    """:func:`core.separation.models.store.load_model` after :func:`check_card`; every failure is a
    :class:`ModelError`. A time-domain model (Wave-U-Net) is refused unless ``allow_waveform``:
    it separates (``isolde separate``, ``isolde evaluate``) but has no F0 and no spectrogram
    mask to correct or adapt, which the editor, Update DNN and ``isolde simulate`` need."""
    from .models.store import DEFAULT_MODEL, load_model

    path = Path(path) if path is not None else DEFAULT_MODEL
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ModelError(f"No such model file: {path}") from None
    except OSError as exc:
        raise ModelError(f"Cannot read model file {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ModelError(f"Expected a model file, got a folder: {path}")
    if not stat.S_ISREG(info.st_mode):
        raise ModelError(f"Expected a model file, got a pipe or device: {path}")
    check_card(path)
    try:
        model = load_model(path, device=device)
    except ModelError:
        raise
    except (AttributeError, TypeError, ValueError, KeyError, RecursionError, OverflowError,
            MemoryError, RuntimeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"Not a usable Isolde model: {path} ({reason[:200]})") from None
    if getattr(model, "is_waveform", False) and not allow_waveform:
        raise ModelError(f"{path.name} is a time-domain Wave-U-Net: it separates with isolde "
                         "separate and isolde evaluate only; the editor, Update DNN and isolde "
                         "simulate need a spectrogram model")
    return model
