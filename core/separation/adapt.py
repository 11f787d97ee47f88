"""Update DNN: fine-tune the joint network on one song from the user's F0 corrections.

After Nakano et al. (IUI 2020): the user draws the F0 where the network got it wrong and erases it
where it heard a voice that is not there; "Update DNN" then adapts a copy of the network to this
song, so that the corrections steer the separation and, through the shared weights, the network
also does better on the parts nobody corrected.

What is learnt from what (on crops of the song's 16 kHz magnitude spectrogram):

1. **F0 net, corrected frames.** Binary cross-entropy between the saliency and the blurred target
   of the corrected F0 (:func:`core.music.pitch.f0_to_saliency`; an all-zero column where
   deleted): the training loss, with the user as the reference.
2. **Separation net, corrected frames** (off by default, see :class:`AdaptConfig`). The training
   loss against the *pseudo-vocals* the corrections imply: silence on deleted frames; on drawn
   frames below :attr:`AdaptConfig.harmonic_band_hz`, the mixture times the corrected F0's
   harmonic mask (:func:`core.music.pitch.harmonic_mask`), a scaffold in two halves
   (``leak_weight`` for mask above it, ``harmonic_weight`` for mask below it).
3. **Both nets, uncorrected frames: stay close to the base model** (Bernoulli KL from the base
   saliency, magnitude-weighted L1 from the base mask). One song is very little data; this keeps
   the adaptation from forgetting what the network knows where the user said nothing. With term 2
   off, the ``f0_to_svs`` separation net is not trained at all: it hears the corrected F0 (the
   saliency with the corrections imposed, as
   :meth:`core.separation.corrections.Corrections.saliency_override` does, detached).

After fine-tuning, the adapted ``f0_to_svs`` network carries a frozen copy of the base's F0 path
(:meth:`core.separation.models.joint.JointModel.attach_f0_guard`) and, frame by frame, hears the
base saliency everywhere but where both hear a voice and the adapted one moved its pitch by more
than a semitone (:func:`~core.separation.models.joint.guard_saliency`): an update moves the
separation only where it changed the melody's pitch, and changes no uncorrected frame's voicing
(``AdaptConfig.guard``).

Crops lie over the corrected spans (with about a quarter of a crop of context before each) plus
:attr:`AdaptConfig.context_share` of crops elsewhere. The network stays in eval mode while it
learns: a handful of crops from one song would make poor batch-norm statistics, and with dropout
off a fixed seed gives the same model on the CPU with one torch thread and the base-model penalty
is exactly zero before the first step.

Why these settings (``isolde simulate``, MIR-1K validation clips, reference F0 as corrections):
12 steps (24 gave nothing more; 8 steps, or 2 crops a step, about 0.2 dB less) raised the vocal
SDR of the uncorrected rest by about 1 dB over imposing the same corrections without fine-tuning
(mean 6.65 -> 7.72 dB, 12 clips, 25-75 % corrected) and its raw pitch accuracy by 4 points. What
else was tried, and where the remaining error sits: ``docs/research-notes.md``, "Update DNN: what
the adaptation learns".

Each update adapts the *base* model to *all* current corrections, so the result depends only on
the base model, the corrections and the seed. :func:`adapted_state` / :func:`load_adapted` are
the in-memory form (undo of an update); a project stores the adapted weights with
``core.separation.models.store.save_model(model, path, half=False)``, bit-exact, so a reopened
project sounds exactly as it did.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..audio import spectral
from ..errors import Cancelled, CorrectionsError, IsoldeError, ModelError
from ..music import pitch
from ..progress import CancelFlag, Job, Progress
from .corrections import Corrections
from .models import JointModel

#: Fine-tuning steps of the editor's "Update DNN" (and of ``--adapt-steps`` when omitted): the
#: fewest that gave the full gain in the MIR-1K simulation (24 gave no more, 8 about 0.2 dB less).
#: One round trip on a 4-minute song (``benchmarks/update_dnn_speed.py``) took 10-11 s on the
#: 2-core reference CPU with one torch thread (about 5-6 s adapting, 5 s re-separating) while a
#: training run kept the other core busy; with two threads on that busy machine it took 50-75 s.
#: The F0 guard runs the F0 net twice when re-separating: 11.9 s against 9.9 s without it, two
#: threads, measured in one run (``--no-guard``).
DEFAULT_ADAPT_STEPS = 12

_EPS = 1e-6


@dataclass
class AdaptConfig:
    """How one "Update DNN" fine-tunes.

    steps : optimizer steps (0 = no fine-tuning: the corrections are still imposed when separating)
    learning_rate : Adam step size
    batch_size : crops per step
    crop_frames : crop length in model frames (16 ms each; rounded up to the model's multiple)
    context_share : share of crops placed anywhere in the song rather than over corrections
    f0_weight : weight of the saliency loss on corrected frames (term 1)
    deleted_weight : weight of the "no voice" mask loss on deleted frames (term 2)
    leak_weight, harmonic_weight : the two halves of the harmonic scaffold on drawn frames (term 2)
    harmonic_band_hz : the scaffold applies below this frequency (Hz)
    keep_weight : weight of the stay-close-to-the-base penalty on uncorrected frames (term 3)
    guard : the adapted ``f0_to_svs`` network carries the base's F0 path and keeps the base
        saliency everywhere but where both hear a voice at pitches more than a semitone apart
        (:func:`core.separation.models.joint.guard_saliency`)
    seed : seeds the crop placement and order (the only randomness)
    """

    steps: int = DEFAULT_ADAPT_STEPS
    learning_rate: float = 3e-4
    batch_size: int = 4
    crop_frames: int = 128
    context_share: float = 0.25
    f0_weight: float = 1.0
    # The separation losses (term 2) are off by default: measured with the shipped model on 15
    # MIR-1K validation clips (reference F0 as corrections), fine-tuning the F0 net alone gave
    # +1.7 dB vocal SDR at 100 % corrected over none, the separation losses on top of it only
    # +0.6 dB (30 clips) and, with the deleted-span term alone, a collapsed mask. The corrections
    # still reach the separation net: through the F0 -> SVS input and through
    # Corrections.refine_mask at separation time.
    deleted_weight: float = 0.0
    leak_weight: float = 0.0
    harmonic_weight: float = 0.0
    harmonic_band_hz: float = 4000.0
    keep_weight: float = 1.0
    # Do no harm: the separation moves only where the update changed the melody (see
    # guard_saliency for the figures).
    guard: bool = True
    seed: int = 0

    @property
    def separation_losses(self) -> bool:
        """Whether any term trains the separation net directly (term 2)."""
        return max(self.deleted_weight, self.leak_weight, self.harmonic_weight) > 0


# ------------------------------------------------------------------------------------ crops

def _plan_windows(corrected: np.ndarray, n_frames: int, crop: int, context_share: float,
                  rng: np.random.Generator) -> list[int]:
    """Start frames of the crops the adaptation may draw from.

    corrected : bool (n_frames,). Crops are ``crop`` frames long and lie inside the song (a song
    shorter than one crop gets the single start 0 and is zero-padded).
    """
    if n_frames <= crop:
        return [0]
    last = n_frames - crop
    starts: list[int] = []
    covered = np.zeros(n_frames, dtype=bool)
    for f in np.flatnonzero(corrected):
        if covered[f]:
            continue
        # A quarter of a crop of context before the first uncovered corrected frame: the network
        # learns the transition into the span, and long spans are tiled with a little overlap.
        start = int(min(max(f - crop // 4, 0), last))
        covered[start:start + crop] = True
        starts.append(start)
    if context_share > 0 and starts:
        share = min(context_share, 0.9)
        n_context = max(1, int(round(len(starts) * share / (1.0 - share))))
        starts += [int(s) for s in rng.integers(0, last + 1, n_context)]
    return starts


@dataclass
class _Crop:
    """Everything one crop needs, on the training device. Shapes: (bins, crop) or (crop,)."""

    magnitude: torch.Tensor          # (N_BINS, C) mixture magnitude
    valid: torch.Tensor              # (C,) bool, False on zero padding past the song's end
    corrected: torch.Tensor          # (C,) bool
    drawn: torch.Tensor              # (C,) bool, corrected with F0 > 0
    deleted: torch.Tensor            # (C,) bool, corrected with F0 == 0
    f0_known: torch.Tensor           # (C,) bool, deleted or drawn inside the saliency grid
    f0_target: torch.Tensor          # (N_F0_BINS, C) blurred target of the corrected F0
    harmonics: torch.Tensor          # (N_BINS, C) harmonic mask of the corrected F0
    base_saliency: torch.Tensor | None = None  # (N_F0_BINS, C), filled on first use
    base_mask: torch.Tensor | None = None      # (N_BINS, C)


class _Song:
    """The song's spectrogram and per-frame corrections, cut into crops on demand."""

    def __init__(self, mono16: np.ndarray, corrections: Corrections, crop: int,
                 device: torch.device):
        self.magnitude = spectral.model_magnitude(np.asarray(mono16, dtype=np.float32))
        # The level the networks hear the whole song at, as in separate.analyse_iter.
        self.magnitude *= spectral.level_gain(self.magnitude)
        self.n_frames = int(self.magnitude.shape[-1])
        self.corrected, self.f0 = corrections.to_frames(spectral.frame_times(self.n_frames))
        self.crop = crop
        self.device = device
        self._bin_hz = spectral.bin_frequencies()

    def cut(self, start: int) -> _Crop:
        stop = min(start + self.crop, self.n_frames)
        n = stop - start
        magnitude = torch.zeros((spectral.N_BINS, self.crop), dtype=torch.float32)
        magnitude[:, :n] = self.magnitude[:, start:stop]
        valid = np.zeros(self.crop, dtype=bool)
        valid[:n] = True
        corrected = np.zeros(self.crop, dtype=bool)
        corrected[:n] = self.corrected[start:stop]
        f0 = np.zeros(self.crop, dtype=np.float64)
        f0[:n] = np.where(self.corrected[start:stop], self.f0[start:stop], 0.0)
        drawn = corrected & (f0 > 0)
        deleted = corrected & (f0 <= 0)
        target = pitch.f0_to_saliency(f0)
        # The saliency grid covers C2..~D#6: an F0 drawn outside it has an all-zero target that
        # would teach "no voice", so such frames are left out of the F0 loss (not of the others).
        f0_known = deleted | (drawn & (target.max(axis=0) > 0.5))
        to = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(self.device)  # noqa: E731
        return _Crop(magnitude=magnitude.to(self.device), valid=to(valid), corrected=to(corrected),
                     drawn=to(drawn), deleted=to(deleted), f0_known=to(f0_known),
                     f0_target=to(target),
                     harmonics=to(pitch.harmonic_mask(f0, self._bin_hz)))


def _stack(crops: list[_Crop], name: str) -> torch.Tensor:
    return torch.stack([getattr(c, name) for c in crops])


# ----------------------------------------------------------------------------------- forward

def _forward(model: JointModel, magnitude: torch.Tensor, corrected: torch.Tensor,
             f0_target: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor]:
    """(saliency (B, N_F0_BINS, C) or None, mask (B, N_BINS, C)) as separation would compute them.

    For ``f0_to_svs`` the separation net hears the saliency with the corrections imposed (like
    ``analyse_iter(..., corrections=corrections)``), detached so that the
    separation losses do not pull on the F0 net.
    """
    architecture = model.config.architecture
    if architecture == "f0_to_svs":
        saliency = model.estimate_f0(magnitude)
        heard = torch.where(corrected[:, None, :], f0_target, saliency).detach()
        return saliency, model.estimate_mask(magnitude, heard)
    mask = model.estimate_mask(magnitude)
    if architecture == "svs_to_f0":
        return model.estimate_f0(mask * magnitude), mask
    return None, mask


def _region_mean(values: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` (B, K, C) over ``region`` (broadcastable bool); 0 for an empty region."""
    region = region.to(values.dtype).expand_as(values)
    return (values * region).sum() / region.sum().clamp_min(1.0)


def _bce(p: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy(p.clamp(_EPS, 1 - _EPS), target, reduction="none")


def adaptation_losses(model: JointModel, crops: list[_Crop],
                      config: AdaptConfig) -> dict[str, torch.Tensor]:
    """The terms of the module docstring on one batch of crops (each a scalar tensor) + "total"."""
    magnitude = _stack(crops, "magnitude")
    valid, corrected = _stack(crops, "valid"), _stack(crops, "corrected")
    drawn, deleted = _stack(crops, "drawn"), _stack(crops, "deleted")
    f0_target, harmonics = _stack(crops, "f0_target"), _stack(crops, "harmonics")
    saliency, mask = _forward(model, magnitude, corrected, f0_target)
    kept = (valid & ~corrected)[:, None, :]

    # Magnitude weights as in training: masked-mixture L1 divided by the mixture's mean magnitude.
    valid_f = valid[:, None, :].to(magnitude.dtype)
    mean = (magnitude * valid_f).sum(dim=(1, 2), keepdim=True) / (
        valid_f.sum(dim=(1, 2), keepdim=True) * magnitude.shape[1]).clamp_min(1.0)
    weight = magnitude / mean.clamp_min(1e-4)

    terms: dict[str, torch.Tensor] = {}
    zero = magnitude.new_zeros(())
    band = int(min(math.ceil(config.harmonic_band_hz / spectral.BIN_HZ), spectral.N_BINS))
    in_band = torch.zeros(spectral.N_BINS, 1, dtype=torch.bool, device=magnitude.device)
    in_band[:band] = True
    scaffold = drawn[:, None, :] & in_band
    # (1) F0 on corrected frames.
    if saliency is not None:
        known = _stack(crops, "f0_known")
        terms["f0"] = _region_mean(_bce(saliency, f0_target), known[:, None, :])
    else:
        terms["f0"] = zero
    # (2) separation on corrected frames: silence where deleted, the harmonic scaffold where drawn.
    terms["deleted"] = _region_mean(weight * mask, deleted[:, None, :])
    leak = torch.relu(mask - harmonics)
    missed = torch.relu(harmonics - mask)
    terms["leak"] = _region_mean(weight * leak, scaffold)
    terms["harmonic"] = _region_mean(weight * missed, scaffold)
    # (3) uncorrected frames (and drawn frames above the scaffold's band) stay near the base.
    keep_mask = kept | (drawn[:, None, :] & ~in_band)
    base_mask = _stack(crops, "base_mask")
    terms["keep_mask"] = _region_mean(weight * (mask - base_mask).abs(), keep_mask)
    if saliency is not None:
        base_saliency = _stack(crops, "base_saliency")
        kl = _bce(saliency, base_saliency) - _bce(base_saliency, base_saliency)
        terms["keep_f0"] = _region_mean(kl, kept)
    else:
        terms["keep_f0"] = zero
    terms["total"] = (config.f0_weight * terms["f0"] + config.deleted_weight * terms["deleted"]
                      + config.leak_weight * terms["leak"]
                      + config.harmonic_weight * terms["harmonic"]
                      + config.keep_weight * (terms["keep_mask"] + terms["keep_f0"]))
    return terms


# ------------------------------------------------------------------------------------- adapt

def _fresh_copy(model: JointModel, device: torch.device) -> JointModel:
    """A deep copy on ``device`` in eval mode; the original is not touched (not even moved)."""
    return copy.deepcopy(model).to(device).eval()


def _check_cancel(cancel: CancelFlag | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("Update DNN was cancelled; the network is unchanged")


def adapt_iter(base_model: JointModel, mono16: np.ndarray, corrections: Corrections, *,
               config: AdaptConfig | None = None, device: torch.device | str = "cpu",
               cancel: CancelFlag | None = None) -> Job[JointModel]:
    """Fine-tune a copy of ``base_model`` on one song from its corrections.

    base_model : the network to start from; never modified (it is deep-copied, not moved)
    mono16 : the song as the model hears it, mono float at 16 kHz, shape (n_samples,)
        (``core.separation.separate.model_input(audio)``)
    corrections : the user's corrections (times in seconds from the song's start)
    config : :class:`AdaptConfig` (default: ``DEFAULT_ADAPT_STEPS`` steps)
    device : where to fine-tune (CUDA when the caller picked it); the result lives there
    cancel : checked before every step; when set, :class:`core.errors.Cancelled` is raised and
        nothing has changed
    Yields ``Progress("adapting", fraction, "loss ...")``; returns the adapted model in eval mode.
    Empty corrections (or none inside the song) or ``steps == 0`` return an unchanged copy at once.
    """
    config = config or AdaptConfig()
    if config.steps < 0:
        raise IsoldeError(f"The number of adaptation steps must be 0 or more (got {config.steps})")
    device = torch.device(device)
    _check_cancel(cancel)
    model = _fresh_copy(base_model, device)
    if corrections.is_empty or config.steps == 0:
        return model
    multiple = model.frame_multiple
    crop = max(multiple, int(math.ceil(config.crop_frames / multiple) * multiple))
    song = _Song(mono16, corrections, crop, device)
    if not song.corrected.any():
        return model
    yield Progress("adapting", 0.0, "preparing")

    rng = np.random.default_rng(config.seed)
    starts = _plan_windows(song.corrected, song.n_frames, crop, config.context_share, rng)
    order = torch.Generator().manual_seed(config.seed)
    reference = _fresh_copy(base_model, device).requires_grad_(False)
    cache: dict[int, _Crop] = {}
    queue: list[int] = []
    batch_size = max(1, min(config.batch_size, len(starts)))

    def next_batch() -> list[_Crop]:
        # Epochs over a seeded permutation: every planned crop is seen before any repeats.
        picked = []
        while len(picked) < batch_size:
            if not queue:
                queue.extend(torch.randperm(len(starts), generator=order).tolist())
            index = queue.pop(0)
            if index not in picked:
                picked.append(index)
        fresh = [i for i in picked if i not in cache]
        for i in fresh:
            cache[i] = song.cut(starts[i])
        if fresh:
            # The base model's outputs, once per crop, batched: the targets of term 3.
            new = [cache[i] for i in fresh]
            with torch.no_grad():
                sal, mask = _forward(reference, _stack(new, "magnitude"), _stack(new, "corrected"),
                                     _stack(new, "f0_target"))
            for n, c in enumerate(new):
                c.base_mask = mask[n].clone()
                c.base_saliency = sal[n].clone() if sal is not None else None
        return [cache[i] for i in picked]

    # Eval mode while learning: frozen batch-norm statistics, no dropout (see module docstring).
    model.eval().requires_grad_(True)  # the copy learns even if the base was frozen
    if model.config.architecture == "f0_to_svs" and not config.separation_losses:
        # Only the F0 net has something to learn. Left trainable, the separation net would learn
        # nothing but the keep term's pull back towards the base mask, i.e. to undo what the
        # better F0 brings to the uncorrected frames (measured on 12 MIR-1K clips outside the
        # simulation set, 50 % corrected: 0.2 dB lower on the rest than with it frozen).
        model.svs_input.requires_grad_(False)
        model.svs_net.requires_grad_(False)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad],
                                 lr=config.learning_rate)
    for step in range(config.steps):
        _check_cancel(cancel)
        terms = adaptation_losses(model, next_batch(), config)
        optimizer.zero_grad(set_to_none=True)
        terms["total"].backward()
        optimizer.step()
        yield Progress("adapting", (step + 1) / config.steps,
                       f"step {step + 1}/{config.steps} loss {float(terms['total'].detach()):.4f}")
    _check_cancel(cancel)
    for p in model.parameters():
        p.grad = None
    if config.guard and model.config.architecture == "f0_to_svs" and not model.config.f0_guard:
        model.attach_f0_guard(reference)
    return model.eval()


# ------------------------------------------------------------------------------ saved weights

def adapted_state(model: JointModel) -> dict[str, torch.Tensor]:
    """The adapted network's weights as float32 CPU tensors (state-dict names), for safetensors."""
    return {name: value.detach().to("cpu", copy=True).contiguous().float()
            if value.is_floating_point() else value.detach().to("cpu", copy=True).contiguous()
            for name, value in model.state_dict().items()}


def load_adapted(base_model: JointModel, tensors: dict[str, torch.Tensor]) -> JointModel:
    """A copy of ``base_model`` (same config, same device) carrying ``tensors`` from
    :func:`adapted_state`. Raises :class:`ModelError` if they do not fit that network."""
    model = copy.deepcopy(base_model)
    try:
        if any(name.startswith("f0_guard.") for name in tensors):
            model.attach_f0_guard(base_model)
        model.load_state_dict(dict(tensors), strict=True)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ModelError("The adapted weights do not fit this model (was it adapted from "
                         "another one?)") from exc
    return model.eval()


# ---------------------------------------------------------------------------------------- CLI

def cli_corrections(args, duration_seconds: float | None = None) -> Corrections:
    """Check ``--corrections`` / ``--adapt-steps`` and load the corrections.

    Raises :class:`IsoldeError` (one line) for ``--adapt-steps`` without ``--corrections`` or a
    negative step count, and :class:`CorrectionsError` for a malformed file or, when
    ``duration_seconds`` is given, times outside the song by more than 0.1 s.
    """
    steps = getattr(args, "adapt_steps", None)
    path = getattr(args, "corrections", None)
    if path is None:
        if steps is not None:
            raise IsoldeError("--adapt-steps needs --corrections FILE.csv (the corrections to "
                              "adapt to)")
        raise CorrectionsError("No corrections file given (--corrections FILE.csv)")
    if steps is not None and steps < 0:
        raise IsoldeError(f"--adapt-steps must be 0 or more (got {steps})")
    corrections = Corrections.load_csv(path)
    if duration_seconds is not None:
        corrections.check_fits(duration_seconds)
    return corrections


def adapt_for_cli(args, audio, model: JointModel, device, *,
                  corrections: Corrections | None = None) -> tuple[JointModel, Corrections]:
    """``isolde separate --corrections FILE.csv [--adapt-steps N]``: load, check and adapt.

    corrections : already loaded and checked (e.g. cut to a ``--start``/``--end`` section, times
        counted from its start); None: load ``args.corrections`` and check it against ``audio``.
    Returns ``(adapted model, corrections)``; the CLI then separates with
    ``corrections=corrections`` and writes ``corrections.apply_to_f0(...)``
    into f0.csv. ``--adapt-steps 0`` imposes the corrections without fine-tuning.
    """
    from ..progress import run_with_bar
    from .separate import model_input

    if corrections is None:
        corrections = cli_corrections(args, audio.duration_seconds)
    steps = DEFAULT_ADAPT_STEPS if args.adapt_steps is None else int(args.adapt_steps)
    job = adapt_iter(model, model_input(audio), corrections, config=AdaptConfig(steps=steps),
                     device=device)
    adapted = run_with_bar(job, description="isolde")
    return adapted, corrections


__all__ = ["DEFAULT_ADAPT_STEPS", "AdaptConfig", "adapt_iter",
           "adapt_for_cli", "cli_corrections", "adapted_state", "load_adapted"]
