"""``isolde train``: train the joint network on any mix of datasets, resumable after a kill.

A run lives in one folder: ``checkpoint.pt`` (model + optimizer + step + random state, loaded with
``weights_only=True``), ``log.csv`` and ``curves.png`` (losses and validation figures),
``last.safetensors`` and ``best.safetensors`` (with their JSON cards), ``config.json``.
Running the same command again continues from the checkpoint.

Sources are written ``KIND:ARG``: ``mir1k:PATH``, ``musdb:PATH``, ``medleydb:PATH``,
``pairs:PATH`` (songs with their instrumentals), ``unlabelled:PATH`` (songs without stems, for
``--adversarial-weight``), ``synthetic:N`` (N generated songs),
``rendered:N`` (N FluidSynth accompaniments), ``produced:PATH`` (validation) and
``produced-train:PATH`` (the same layout, to train on, at ``--produced-share``). Training crops
are drawn at random from all training tracks, with the voice of one track remixed over another's
accompaniment half of the time (the sources and the crops: :mod:`.sources`).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..audio import spectral
from ..audio.fileio import write_text_atomic
from ..errors import IsoldeError
from ..music import pitch
from ..progress import Job, Progress, run_with_bar
from ..progress import run as run_job
from ..separation.models import JointModel, ModelConfig, ModelOutput, build_model
from ..separation.models.store import save_model
from ..separation.separate import analyse_any_iter, pick_device
from .curves import plot_curves
from .initial_weights import initial_weights
from .metrics import melody_metrics, nan_median, snr_sdr
from .sources import crop_batches, load_pool, open_source, pool_track


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved as ``config.json`` in the run folder)."""

    sources: list = field(default_factory=lambda: ["mir1k:../shared/data/mir1k"])
    out: str = "runs/default"
    architecture: str = "f0_to_svs"
    svs_channels: int = 12
    svs_max_channels: int = 192
    f0_channels: int = 12
    f0_max_channels: int = 96
    wave_depth: int = 8
    wave_channels: int = 16
    steps: int = 20000
    batch_size: int = 8
    crop_frames: int = 128
    learning_rate: float = 1e-3
    final_learning_rate: float = 1e-4
    f0_weight: float = 1.0
    voicing_weight: float = 0.0
    vad_weight: float = 0.0
    sdr_weight: float = 0.0
    reference_f0_share: float = 0.0
    adversarial_weight: float = 0.0
    init_from: str = ""
    remix_probability: float = 0.5
    silence_probability: float = 0.05
    vocal_gain_min_db: float = -6.0
    vocal_gain_max_db: float = 6.0
    normalize_level: bool = True
    level_jitter_db: float = 6.0
    vocal_chain_probability: float = 0.0
    accompaniment_bus_probability: float = 0.0
    pitch_shift_probability: float = 0.0
    max_pitch_shift: float = 3.0
    accompaniment_only_share: float = 0.5
    produced_share: float = 0.0
    produced_accompaniment_share: float = 0.0
    accompaniment_shift_probability: float = 0.0
    produced_eq_probability: float = 0.0
    validate_every: int = 500
    checkpoint_every: int = 200
    validation_clips: int = 24
    seed: int = 0
    device: str = "auto"
    data_workers: int = 0

    def model_config(self) -> ModelConfig:
        return ModelConfig(architecture=self.architecture, svs_channels=self.svs_channels,
                           svs_max_channels=self.svs_max_channels, f0_channels=self.f0_channels,
                           f0_max_channels=self.f0_max_channels,
                           voice_activity=self.vad_weight > 0, wave_depth=self.wave_depth,
                           wave_channels=self.wave_channels)


def f0_targets(f0_hz: torch.Tensor, device=None) -> torch.Tensor:
    """(batch, n_frames) Hz -> (batch, N_F0_BINS, n_frames) Gaussian saliency targets on
    ``device``: :func:`core.music.pitch.f0_to_saliency` for a whole batch at once (one crop at a
    time in NumPy took 38 ms of the training process per batch of 32, a GPU step's worth)."""
    bins = torch.from_numpy(pitch.hz_to_f0_bin(f0_hz.numpy())).to(device, torch.float32)
    voiced = (bins > -0.5) & (bins < pitch.N_F0_BINS - 0.5)  # NaN (unvoiced) compares false
    grid = torch.arange(pitch.N_F0_BINS, device=device, dtype=torch.float32)[None, :, None]
    distance = (grid - torch.nan_to_num(bins, nan=0.0)[:, None, :]) / pitch.TARGET_SIGMA_BINS
    return torch.exp(-0.5 * distance ** 2) * voiced[:, None, :]


def losses(model: JointModel, mixture: torch.Tensor, vocals: torch.Tensor,
           f0_hz: torch.Tensor, f0_weight: float,
           voicing_weight: float = 0.0, vad_weight: float = 0.0,
           sdr_weight: float = 0.0,
           heard_reference: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Separation loss: L1 between masked mixture and vocal magnitudes, both divided by the
    mixture's mean magnitude; F0 loss: binary cross-entropy against the blurred target.

    Voicing loss (``voicing_weight``): each frame's *peak* saliency decides, against
    ``pitch.VOICING_THRESHOLD``, whether the frame is voiced, yet the per-bin F0 loss barely
    notices one stray peak in an unvoiced frame (one bin in 256). This term is a logistic loss on
    that decision itself: the peak's logit is measured from the threshold's logit, so the
    boundary it learns is the one the trajectory uses.

    Measured (MIR-1K, 1500 steps from the shipped model's run, weight 1): voicing false alarms
    fell from 0.37 to 0.19-0.28 and the overall accuracy rose from 0.79 to 0.82-0.83, but the
    vocal SDR of the professional MUSDB18 excerpt fell from 10.2-10.4 to 7.1-8.9 dB: the
    separation net hears the saliency, and on material unlike MIR-1K the calibrated F0 net is
    less sure, so the mask shrinks. With synthetic songs in the mix the excerpt held (10.1 dB)
    but the false alarms came back. See the model card.

    Voice-activity loss (``vad_weight``, a model with the head of
    :class:`core.separation.models.joint.ActivityHead`): binary cross-entropy of the head's
    per-frame voice probability against the reference's voicing. Stoller et al. (2018) write the
    multi-task loss as ``a * separation + (1 - a) * CE``; that is this sum with
    ``vad_weight = (1 - a) / a``, up to the learning rate.

    Magnitude SDR loss (``sdr_weight``): minus the signal-to-distortion ratio of each crop's
    masked magnitude against the vocal's, in dB / 10, averaged over the batch. The L1 loss
    weighs every bin's error alike; BSS Eval's SDR is an energy ratio, ruled by the loud bins,
    and this term puts the effort there. A floor of -30 dB of the mixture's energy keeps crops
    with a silent voice finite.

    The reference F0 heard (``heard_reference``, bool (batch, n_frames), an ``f0_to_svs``
    network): on those frames the separation net hears the reference F0's blurred target instead
    of the F0 net's saliency, exactly as it hears a musician's correction
    (:meth:`core.separation.corrections.Corrections.saliency_override`); the F0 losses still
    judge the F0 net's own saliency.

    A time-domain model (Wave-U-Net) has the loss of its paper instead: the mean squared error
    between its voice and the true one, both divided by the mixture's RMS."""
    if getattr(model, "is_waveform", False) or getattr(
            getattr(model, "module", None), "is_waveform", False):
        scale = mixture.pow(2).mean(dim=1, keepdim=True).sqrt().clamp_min(1e-4)
        svs = F.mse_loss(model(mixture) / scale, vocals / scale)
        return {"svs": svs, "total": svs}
    mix_mag = spectral.model_magnitude(mixture)
    voc_mag = spectral.model_magnitude(vocals)
    if heard_reference is not None and heard_reference.any():
        saliency, activity = model.estimate_f0_and_activity(mix_mag)
        reference = f0_targets(f0_hz, saliency.device)
        heard = torch.where(heard_reference.to(saliency.device)[:, None, :], reference, saliency)
        output = ModelOutput(model.estimate_mask(mix_mag, heard), saliency, activity)
    else:
        output = model(mix_mag)
    scale = mix_mag.mean(dim=(1, 2), keepdim=True).clamp_min(1e-4)
    svs = F.l1_loss(output.vocal_mask * mix_mag / scale, voc_mag / scale)
    result = {"svs": svs}
    total = svs
    if sdr_weight > 0:
        estimate = output.vocal_mask * mix_mag
        floor = 1e-3 * mix_mag.pow(2).sum(dim=(1, 2)).clamp_min(1e-8)
        signal = voc_mag.pow(2).sum(dim=(1, 2)) + floor
        error = (estimate - voc_mag).pow(2).sum(dim=(1, 2)) + floor
        result["sdr"] = -torch.log10(signal / error).mean()  # dB / 10
        total = total + sdr_weight * result["sdr"]
    if output.f0_saliency is not None:
        target = f0_targets(f0_hz, output.f0_saliency.device)
        saliency = output.f0_saliency.clamp(1e-6, 1 - 1e-6)
        f0 = F.binary_cross_entropy(saliency, target)
        result["f0"] = f0
        total = total + f0_weight * f0
        if voicing_weight > 0:
            voiced = (target.amax(dim=1) > 0.5).float()
            margin = torch.logit(saliency.amax(dim=1)) - math.log(
                pitch.VOICING_THRESHOLD / (1 - pitch.VOICING_THRESHOLD))
            voicing = F.binary_cross_entropy_with_logits(margin, voiced)
            result["voicing"] = voicing
            total = total + voicing_weight * voicing
    if vad_weight > 0 and output.voice_activity is not None:
        voiced = (f0_hz > 0).float().to(output.voice_activity.device)
        vad = F.binary_cross_entropy(output.voice_activity.clamp(1e-6, 1 - 1e-6), voiced)
        result["vad"] = vad
        total = total + vad_weight * vad
    result["total"] = total
    return result


# ----------------------------------------------------------------------------------- validation

def evaluate_track(model: JointModel, track, device) -> dict[str, float]:
    """Separate one track (at the model rate) and score it: fast vocal SDR + melody metrics."""
    pooled = pool_track(track)
    mixture = pooled.vocals + pooled.accompaniment
    spec = spectral.stft(torch.from_numpy(mixture))
    analysis = run_job(analyse_any_iter(model, mixture, spec.abs()[:spectral.N_BINS],
                                        device=device))
    mask = torch.from_numpy(np.concatenate([analysis.vocal_mask, analysis.vocal_mask[-1:]], axis=0))
    est = spectral.istft(spec * mask, length=len(mixture)).numpy()
    scores = {"sdr": snr_sdr(pooled.vocals, est)}
    if analysis.f0_saliency is not None:
        scores.update(melody_metrics(track.f0_times, track.f0_hz, analysis.frame_times,
                                     pitch.f0_with_pitch_guesses(analysis.f0_saliency)))
    return scores


def validate(model: JointModel, tracks_by_source: dict[str, list], device) -> dict[str, float]:
    """Medians over each validation source (``val_<source>_<metric>``) and over all tracks
    (``val_<metric>``), leaving out a clip where a metric is undefined (NaN)."""
    scores: dict[str, float] = {}
    every = []
    for source, tracks in tracks_by_source.items():
        rows = [evaluate_track(model, t, device) for t in tracks]
        every += rows
        if len(tracks_by_source) > 1 and rows:
            scores.update({f"val_{source}_{k}": nan_median(r[k] for r in rows) for k in rows[0]})
    if every:
        scores.update({f"val_{k}": nan_median(r[k] for r in every) for k in every[0]})
    return scores


def selection_score(scores: dict[str, float], sources: list[str]) -> float:
    """What picks ``best.safetensors``: vocal SDR + 10 x overall accuracy, averaged over the
    validation sources so that the produced excerpts weigh as much as MIR-1K's many clips."""
    if len(sources) <= 1:
        return scores.get("val_sdr", -float("inf")) + 10 * scores.get("val_overall_accuracy", 0)
    return float(np.mean([scores.get(f"val_{s}_sdr", -float("inf"))
                          + 10 * scores.get(f"val_{s}_overall_accuracy", 0) for s in sources]))


# ------------------------------------------------------------------------------------- training

def reference_spans(shape: tuple[int, int], share: float, seed: int, step: int
                    ) -> torch.Tensor | None:
    """Where the separation net hears the reference F0 (``--reference-f0-share``): bool
    (batch, n_frames), one span of a quarter to all of the crop in a ``share`` of the crops, as a
    musician corrects a stretch of a song; None when ``share`` is 0. Drawn from a generator of its
    own (seed and step), so the crops a run sees do not change with the share. Not in the default
    recipe: at 0.3, cross-validated on the produced excerpts, Update DNN's gain at 100 % corrected
    went +1.11 -> +1.21 dB median but +1.08 -> +0.90 mean, and no correction 5.87 -> 5.82 dB
    (``docs/research-notes.md``)."""
    if share <= 0:
        return None
    batch, n_frames = shape
    generator = torch.Generator().manual_seed(seed * 1_000_003 + step)
    chosen = torch.rand(batch, generator=generator) < share
    length = (n_frames * (0.25 + 0.75 * torch.rand(batch, generator=generator))).long()
    start = (torch.rand(batch, generator=generator) * (n_frames - length + 1)).long()
    frames = torch.arange(n_frames)[None, :]
    return chosen[:, None] & (frames >= start[:, None]) & (frames < (start + length)[:, None])


def learning_rate(config: TrainConfig, step: int) -> float:
    """Cosine decay from ``learning_rate`` to ``final_learning_rate`` over the run."""
    progress = min(step / max(config.steps, 1), 1.0)
    return config.final_learning_rate + 0.5 * (config.learning_rate - config.final_learning_rate) * (
        1 + math.cos(math.pi * progress))


def _pick_validation(dataset, n: int) -> list[int]:
    """Spread ``n`` validation clips evenly over the dataset (all singers represented)."""
    if dataset is None or len(dataset) == 0:
        return []
    return sorted(set(np.linspace(0, len(dataset) - 1, min(n, len(dataset))).round().astype(int)))


def train_iter(config: TrainConfig) -> Job[Path]:
    """Train (or resume) a run; yields progress with the loss; returns the run folder."""
    check_config(config)
    out = Path(config.out)
    _check_same_network(out, config)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = 0
    if distributed:
        import torch.distributed as dist
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        rank = dist.get_rank()
        local = int(os.environ.get("LOCAL_RANK", "0"))
        device = torch.device(f"cuda:{local}") if torch.cuda.is_available() else torch.device("cpu")
        if device.type == "cuda":
            torch.cuda.set_device(device)
    else:
        device = pick_device(config.device)
    # Every cheap check before the run folder is made: sources, starting weights.
    train_sets, valid_sets, unlabelled_sets = [], [], []
    for spec in config.sources:
        train_set, valid_set = open_source(spec)
        if getattr(train_set, "unlabelled", False):
            unlabelled_sets.append(train_set)
        elif train_set is not None:
            train_sets.append(train_set)
        if valid_set is not None:
            valid_sets.append((spec.partition(":")[0].lower(), valid_set))
    if not train_sets:
        raise IsoldeError("No training data: every --source given is a validation set only "
                          "or unlabelled")
    if unlabelled_sets and config.adversarial_weight <= 0:
        raise IsoldeError("Unlabelled songs serve the adversarial term only: give "
                          "--adversarial-weight above 0 or leave out the unlabelled source")
    checkpoint_file = out / "checkpoint.pt"
    initial = (initial_weights(config.init_from, config.model_config())
               if config.init_from and not checkpoint_file.exists() else None)
    out.mkdir(parents=True, exist_ok=True)
    if rank == 0:
        write_text_atomic(out / "config.json", json.dumps(asdict(config), indent=2) + "\n")

    yield Progress("loading data", 0.0)
    pool = yield from load_pool(train_sets, config.data_workers)
    unlabelled_pool = yield from load_pool(unlabelled_sets, config.data_workers)
    validation_tracks: dict[str, list] = {}
    for source, d in valid_sets:
        validation_tracks.setdefault(source, []).extend(
            d.load(i) for i in _pick_validation(d, config.validation_clips))

    torch.manual_seed(config.seed)
    model = build_model(config.model_config()).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    generator = torch.Generator().manual_seed(config.seed + 1000 * rank)
    adversary = None
    if config.adversarial_weight > 0:
        from .adversarial import Adversary
        if distributed:
            raise IsoldeError("--adversarial-weight trains on one process only (not under torchrun)")
        adversary = Adversary(pool, unlabelled_pool, config, device)
    if distributed and config.reference_f0_share > 0:
        raise IsoldeError("--reference-f0-share trains on one process only (not under torchrun)")
    step, best = 0, -float("inf")
    if checkpoint_file.exists():
        state = torch.load(checkpoint_file, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        step, best = int(state["step"]), float(state["best"])
        if adversary is not None and "adversary" in state:
            adversary.load_state_dict(state["adversary"])
    elif initial is not None:
        model.load_state_dict(initial)
    trainable = model
    if distributed:
        trainable = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    batches = crop_batches(pool, config, generator, first_seed=config.seed + 1000 * rank + step)
    log_file = out / "log.csv"
    started, first_step = time.time(), step
    running: dict[str, float] = {}

    def save_checkpoint() -> None:
        tmp = checkpoint_file.with_suffix(".tmp")
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "generator": generator.get_state(), "step": step, "best": best}
        if adversary is not None:
            state["adversary"] = adversary.state_dict()
        torch.save(state, tmp)
        os.replace(tmp, checkpoint_file)

    while step < config.steps:
        model.train()
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, step)
        mixture, vocals, f0 = next(batches)
        heard = reference_spans(f0.shape, config.reference_f0_share, config.seed, step)
        parts = losses(trainable, mixture.to(device), vocals.to(device), f0, config.f0_weight,
                       config.voicing_weight, config.vad_weight, config.sdr_weight, heard)
        if adversary is not None:
            parts["adversarial"] = adversary.separator_loss(trainable)
            parts["total"] = parts["total"] + config.adversarial_weight * parts["adversarial"]
        optimizer.zero_grad(set_to_none=True)
        parts["total"].backward()
        optimizer.step()
        if adversary is not None:
            parts["critics"] = adversary.critic_step()
        step += 1
        for k, v in parts.items():
            value = float(v.detach())
            running[k] = 0.98 * running.get(k, value) + 0.02 * value
        eta = (time.time() - started) / max(step - first_step, 1) * (config.steps - step)
        yield Progress("training", step / config.steps,
                       f"step {step} loss {running['total']:.4f} eta {eta / 60:.0f} min")
        if rank != 0:
            continue
        if step % config.validate_every == 0 or step == config.steps:
            scores = validate(model, validation_tracks, device)
            row = {"step": step, "elapsed_s": round(time.time() - started, 1),
                   "lr": learning_rate(config, step),
                   **{f"loss_{k}": round(v, 6) for k, v in running.items()},
                   **{k: round(v, 4) for k, v in scores.items()}}
            _append_log(log_file, row)
            plot_curves(log_file, out / "curves.png")
            notes = {"step": step, "config": asdict(config), "validation": scores}
            save_model(model, out / "last.safetensors", notes=notes)
            score = (selection_score(scores, list(validation_tracks)) if scores
                     else -running["total"])
            if score > best:
                best = score
                save_model(model, out / "best.safetensors", notes=notes)
            save_checkpoint()
        elif step % config.checkpoint_every == 0:
            save_checkpoint()
    if rank == 0:
        save_checkpoint()
    return out


def check_config(config: TrainConfig) -> None:
    """Refuse a configuration whose fields have the wrong type or an impossible value."""
    for name, default in asdict(TrainConfig()).items():
        value = getattr(config, name)
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif isinstance(default, list):
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        else:
            ok = isinstance(value, type(default)) and not isinstance(value, bool)
        if not ok:
            raise IsoldeError(f"Training option {name!r} must be a {type(default).__name__}, "
                              f"got {value!r}")
    for name in ("steps", "batch_size", "crop_frames", "validate_every", "checkpoint_every",
                 "svs_channels", "svs_max_channels", "f0_channels", "f0_max_channels",
                 "wave_depth", "wave_channels"):
        if not 0 < getattr(config, name) <= 1_000_000:
            raise IsoldeError(f"Training option {name!r} must be a positive number below "
                              f"1000000, got {getattr(config, name)!r}")
    try:
        config.model_config().check()
    except ValueError as exc:
        raise IsoldeError(f"Bad network options: {exc}") from None
    if config.architecture == "wave_u_net" and (
            (config.crop_frames - 1) * spectral.HOP) % 2 ** config.wave_depth:
        raise IsoldeError(f"A Wave-U-Net of depth {config.wave_depth} needs crops of a multiple "
                          f"of {2 ** config.wave_depth} samples: choose crop_frames - 1 a "
                          f"multiple of {max(2 ** config.wave_depth // spectral.HOP, 1)}")
    if config.adversarial_weight < 0 or not math.isfinite(config.adversarial_weight):
        raise IsoldeError("Training option 'adversarial_weight' must be 0 or more")
    if config.adversarial_weight > 0 and config.architecture == "wave_u_net":
        raise IsoldeError("The adversarial term judges spectrogram estimates: the Wave-U-Net "
                          "has none (use it with f0_to_svs, svs_to_f0 or svs_only)")
    if config.reference_f0_share > 0 and config.architecture != "f0_to_svs":
        raise IsoldeError("--reference-f0-share needs an f0_to_svs network: only its separation "
                          "net hears an F0")
    for name in ("produced_share", "produced_accompaniment_share", "reference_f0_share",
                 "accompaniment_shift_probability", "produced_eq_probability"):
        if not 0 <= getattr(config, name) <= 1:
            raise IsoldeError(f"Training option '{name}' must be 0 to 1, "
                              f"got {getattr(config, name)!r}")
    if not 0 <= config.data_workers <= 256:
        raise IsoldeError(f"Training option 'data_workers' must be 0 to 256, "
                          f"got {config.data_workers!r}")
    if not config.sources:
        raise IsoldeError("No data source: give at least one --source")


def _check_same_network(out: Path, config: TrainConfig) -> None:
    """A run folder with a checkpoint resumes only with the network it was started with."""
    saved_file = out / "config.json"
    if not (out / "checkpoint.pt").exists() or not saved_file.exists():
        return
    try:
        saved = json.loads(saved_file.read_text())
        saved_network = TrainConfig(**{k: v for k, v in saved.items()
                                       if k in TrainConfig.__dataclass_fields__}).model_config()
    except (OSError, ValueError, TypeError):
        return  # nothing to compare with: the checkpoint itself will tell
    if saved_network != config.model_config():
        raise IsoldeError(f"{out} holds a run of another network ({saved_network.architecture}, "
                          f"{saved_network.svs_channels}-{saved_network.svs_max_channels} "
                          "channels): choose another --out to start a new run")


def _append_log(path: Path, row: dict) -> None:
    exists = path.exists()
    fields = list(row)
    if exists:
        with open(path, newline="") as handle:
            header = next(csv.reader(handle), [])
        fields = header + [k for k in row if k not in header]
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        if not exists:
            writer.writeheader()
        writer.writerow(row)


# ------------------------------------------------------------------------------------------ CLI

def configure_parser(parser: argparse.ArgumentParser) -> None:
    defaults = TrainConfig()
    parser.add_argument("--config", default=None, help="JSON file with TrainConfig fields")
    parser.add_argument("--source", action="append", dest="sources", default=None,
                        help="data source KIND:ARG (repeatable): mir1k:PATH, musdb:PATH, "
                             "medleydb:PATH, pairs:PATH (songs with their instrumentals), "
                             "unlabelled:PATH (songs without stems, adversarial term), "
                             "synthetic:N, rendered:N (FluidSynth accompaniments), "
                             "produced:PATH (validation), produced-train:PATH (real produced "
                             "stems to train on, see --produced-share)")
    parser.add_argument("--out", default=None, help=f"run folder (default {defaults.out})")
    for name, value in asdict(defaults).items():
        if name in ("sources", "out"):
            continue
        parser.add_argument("--" + name.replace("_", "-"),
                            type=_parse_bool if isinstance(value, bool) else type(value),
                            default=None, dest=name,
                            help=f"{OPTION_HELP.get(name, '')} (default {value})".lstrip())


#: ``isolde train --help`` for each :class:`TrainConfig` field.
OPTION_HELP = {
    "architecture": "f0_to_svs, svs_to_f0, svs_only (see core/separation/models/joint.py) or "
                    "wave_u_net (the time-domain baseline, core/separation/models/wave_unet.py)",
    "svs_channels": "channels of the separation U-Net's first layer",
    "svs_max_channels": "most channels of any separation U-Net layer",
    "f0_channels": "channels of the F0 U-Net's first layer",
    "f0_max_channels": "most channels of any F0 U-Net layer",
    "wave_depth": "levels of the Wave-U-Net (wave_u_net only; crops of (crop_frames - 1) x 256 "
                  "samples must be a multiple of 2 ** wave_depth)",
    "wave_channels": "channels added at each Wave-U-Net level (wave_u_net only)",
    "steps": "optimizer steps in all (a resumed run goes on to this)",
    "batch_size": "crops per step",
    "crop_frames": "crop length in 16 ms frames",
    "learning_rate": "Adam's first learning rate",
    "final_learning_rate": "learning rate at the last step (cosine decay)",
    "f0_weight": "weight of the F0 saliency loss",
    "voicing_weight": "weight of the logistic loss on each frame's peak saliency against 0.1",
    "vad_weight": "weight of the voice-activity loss; above 0 the model gets a voice-activity "
                  "head (multi-task separation with vocal activity detection)",
    "sdr_weight": "weight of the magnitude SDR loss (minus dB / 10 of each crop's masked "
                  "magnitude against the vocal's), beside the L1 loss",
    "reference_f0_share": "share of crops whose separation net hears the reference F0 (as a "
                          "musician's correction) on one span of a quarter to all of the crop, "
                          "instead of the F0 net's saliency (f0_to_svs only)",
    "adversarial_weight": "weight of the semi-supervised adversarial term (Stoller et al. "
                          "2018; core/training/adversarial.py); above 0, two critics judge the "
                          "estimates of unlabelled mixtures (--source unlabelled:FOLDER, or "
                          "independent training crops)",
    "init_from": "start from this model file or run checkpoint.pt (another architecture's "
                 "shared sub-networks too)",
    "remix_probability": "share of crops whose voice and accompaniment come from different clips",
    "silence_probability": "share of crops with a silent voice",
    "vocal_gain_min_db": "lowest random voice gain (dB)",
    "vocal_gain_max_db": "highest random voice gain (dB)",
    "normalize_level": "bring every crop to the reference level, as separation does (true/false)",
    "level_jitter_db": "random level around the reference (+- dB)",
    "vocal_chain_probability": "share of voices through a random produced vocal chain",
    "accompaniment_bus_probability": "share of accompaniments through a random bus chain",
    "pitch_shift_probability": "share of voices transposed (F0 label shifted to match)",
    "max_pitch_shift": "largest transposition (semitones)",
    "accompaniment_only_share": "share of crops over the accompaniment of a song without a "
                                "voice (when a source has such songs)",
    "produced_share": "share of crops from real produced songs (produced-train:PATH), their "
                      "voices over their own or another produced song's accompaniment",
    "produced_accompaniment_share": "share of the other crops whose voice (MIR-1K, synthetic) "
                                    "sings over a real produced song's accompaniment "
                                    "(produced-train:PATH) instead of its own pool's",
    "accompaniment_shift_probability": "share of real produced accompaniments transposed (up to "
                                       "--max-pitch-shift) where they sit under another voice",
    "produced_eq_probability": "share of real produced stems (each voice and accompaniment of a "
                               "produced crop on its own) through a random +-6 dB EQ",
    "validate_every": "steps between validations (which keep best.safetensors)",
    "checkpoint_every": "steps between resumable checkpoints",
    "validation_clips": "clips per validation source",
    "seed": "random seed of crops and initial weights",
    "device": "auto, cpu or cuda",
    "data_workers": "processes that load the tracks and draw the training crops beside training "
                    "(0: the training process itself, and a resumed run draws the same crops)",
}


def _parse_bool(text: str) -> bool:
    """'true'/'1'/'yes'/'on' or 'false'/'0'/'no'/'off' (argparse's bool() calls any text true)."""
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    values = asdict(TrainConfig())
    if args.config:
        try:
            given = json.loads(Path(args.config).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise IsoldeError(f"Cannot read training config {args.config}: "
                              f"{type(exc).__name__}") from None
        if not isinstance(given, dict):
            raise IsoldeError(f"Training config {args.config} must be a JSON object of "
                              "training options")
        values.update(given)
    for name in values:
        given = getattr(args, name, None)
        if given is not None:
            values[name] = given
    known = {k: v for k, v in values.items() if k in TrainConfig.__dataclass_fields__}
    return TrainConfig(**known)


def command(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    out = run_with_bar(train_iter(config), description="train")
    print(f"Run folder: {out} (best.safetensors, log.csv, curves.png)")
    return 0
