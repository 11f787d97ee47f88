"""The joint F0 / singing-voice-separation network after Nakano et al. (IUI 2020).

Three configurations of the same parts:

- ``"f0_to_svs"`` (default): the F0 U-Net estimates a saliency map from the mixture; its harmonic
  rendering is a second input channel of the separation U-Net, so that the melody (and a user's
  correction of it) steers the vocal mask.
- ``"svs_to_f0"``: the separation U-Net runs first; the F0 U-Net reads the separated voice.
- ``"svs_only"``: the separation U-Net alone (Jansson et al. 2017); no F0.
- ``"wave_u_net"``: not built here but by :func:`build_model`: the time-domain Wave-U-Net of
  :mod:`.wave_unet` (Stoller et al. 2018), a separation-only baseline.

With ``voice_activity`` the F0 U-Net also has a voice-activity head (the multi-task separation
with vocal activity detection of Stoller et al. 2018, here on the branch that decides voicing):
the probability that a frame holds voice, which scales that frame's saliency, so that every user
of the saliency (the trajectory's 0.1 threshold, the F0 -> SVS connection) hears the decision.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from ...audio import spectral
from ...music import pitch
from .features import HarmonicComb, HarmonicStack, LogMagnitude
from .unet import UNet

#: The configurations of :class:`JointModel` (magnitude spectrogram in, vocal mask out).
SPECTROGRAM_ARCHITECTURES = ("f0_to_svs", "svs_to_f0", "svs_only")
ARCHITECTURES = (*SPECTROGRAM_ARCHITECTURES, "wave_u_net")


@dataclass
class ModelConfig:
    """Hyper-parameters that fix a model's shape (saved as JSON next to its weights)."""

    architecture: str = "f0_to_svs"
    svs_depth: int = 6
    svs_channels: int = 16
    svs_max_channels: int = 256
    f0_depth: int = 5
    f0_channels: int = 16
    f0_max_channels: int = 128
    harmonics: tuple = field(default=(0.5, 1, 2, 3, 4, 5))
    voice_activity: bool = False
    #: An adapted network that carries its base network's F0 path beside its own and keeps the
    #: base saliency where the update did not move the melody's pitch (:func:`guard_saliency`;
    #: set by Update DNN).
    f0_guard: bool = False
    wave_depth: int = 8
    wave_channels: int = 16

    def to_dict(self) -> dict:
        d = asdict(self)
        d["harmonics"] = list(self.harmonics)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if "harmonics" in known:
            known["harmonics"] = tuple(float(h) for h in known["harmonics"])
        config = cls(**known)
        config.check()
        return config

    def check(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.architecture!r}")
        if not isinstance(self.voice_activity, bool):
            raise ValueError("voice_activity must be true or false")
        if self.voice_activity and self.architecture in ("svs_only", "wave_u_net"):
            raise ValueError("the voice-activity head sits on the F0 net: "
                             f"{self.architecture} has none")
        if not isinstance(self.f0_guard, bool):
            raise ValueError("f0_guard must be true or false")
        if self.f0_guard and self.architecture != "f0_to_svs":
            raise ValueError("only an f0_to_svs network can carry an F0 guard")
        if not (1 <= self.wave_depth <= 14 and 1 <= self.wave_channels <= 256):
            raise ValueError("wave_depth must be 1 to 14 and wave_channels 1 to 256")


@dataclass
class ModelOutput:
    """vocal_mask: (batch, N_BINS, n_frames) in [0, 1]; f0_saliency: (batch, N_F0_BINS, n_frames)
    or None; voice_activity: (batch, n_frames) in [0, 1], or None without the head."""

    vocal_mask: torch.Tensor
    f0_saliency: torch.Tensor | None
    voice_activity: torch.Tensor | None = None


#: The voice-activity head starts out saying "voice" everywhere (sigmoid(4) = 0.98), so that a
#: model given the head keeps the behaviour of the weights it starts from.
ACTIVITY_INITIAL_BIAS = 4.0


class ActivityHead(nn.Module):
    """(batch, channels, n_freq', n_frames / 2) U-Net features -> (batch, n_frames) in [0, 1]:
    the mean over frequency, a 5-frame 1-D convolution, each value repeated for its two frames."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv1d(channels, 1, 5, padding=2)
        nn.init.zeros_(self.conv.weight)
        nn.init.constant_(self.conv.bias, ACTIVITY_INITIAL_BIAS)

    def forward(self, features: torch.Tensor, n_frames: int) -> torch.Tensor:
        logits = self.conv(features.mean(dim=2))[:, 0]
        return torch.sigmoid(logits.repeat_interleave(2, dim=-1)[:, :n_frames])


def guard_saliency(adapted: torch.Tensor, base: torch.Tensor, *,
                   same_ridge_bins: int = pitch.BINS_PER_SEMITONE,
                   threshold: float = pitch.VOICING_THRESHOLD) -> torch.Tensor:
    """Per frame, the adapted network's saliency only where both networks hear a voice (peaks
    at or above ``threshold``) and the adapted one puts it more than ``same_ridge_bins`` (a
    semitone) away; the base network's everywhere else: (batch, N_F0_BINS, n_frames) each, same
    shape out.

    So an update moves the separation only where it changed the melody's pitch, never where
    fine-tuning merely reshaped a saliency that gave the same F0, and it changes no frame's
    voicing where nobody corrected: it never silences singing the base heard, and never adds a
    voice the base did not hear. Measured (``isolde simulate``, medians of per-clip differences
    against no correction on the part nobody corrected, clips worse by more than 0.5 dB): the
    guard first kept the base only where the two agreed or the base alone heard a voice, which
    took 24 MIR-1K validation clips at 50 % corrected from -0.10 (8) to +0.02 dB (5) and worst
    first 1 / 2 / 4 s from -0.22 / -0.09 / -0.19 (5 / 6 / 5) to -0.05 / +0.04 / -0.09 dB
    (4 / 4 / 4). The voice such an update added where the base heard none was weak (every such
    frame's peak below 0.5) and mostly wrong: on the 11 produced excerpts (cross-validated), with
    the musician who deletes only a near-silent vocal, it raised the voicing false alarms of the
    untouched part from 0.29 to 0.41 / 0.45 / 0.64 (worst first 1 / 2 / 4 s); refusing it
    brings them back to 0.29 and that part's vocal SDR from -0.03 / -0.05 / -0.11 to
    +0.00 / -0.06 / -0.02 dB (the same musician on MIR-1K, 50 % and worst first: +0.07 / +0.08 /
    +0.11 / +0.13 -> +0.08 / +0.10 / +0.14 / +0.15 dB). The musician who copies the reference
    verbatim (deleting every frame it calls unvoiced) loses some of what the weak voice gave the
    produced excerpts' uncorrected half at 50 % (+0.20 -> +0.09 dB, mean +0.24 -> +0.21). Other
    rules: ``docs/research-notes.md``, "Do no harm".
    """
    peak_a, bin_a = adapted.max(dim=1)
    peak_b, bin_b = base.max(dim=1)
    voiced_both = (peak_a >= threshold) & (peak_b >= threshold)
    moved = voiced_both & ((bin_a - bin_b).abs() > same_ridge_bins)
    return torch.where(moved[:, None, :], adapted, base)


def _build_f0_path(owner: nn.Module, config: ModelConfig) -> None:
    """Give ``owner`` the F0 path's parts under their state-dict names: input scaling, harmonic
    stack, U-Net and, with ``voice_activity``, the voice-activity head."""
    owner.f0_input = LogMagnitude(spectral.N_BINS)
    owner.harmonic_stack = HarmonicStack(tuple(config.harmonics))
    owner.f0_net = UNet(len(config.harmonics), 1, depth=config.f0_depth,
                        base_channels=config.f0_channels, max_channels=config.f0_max_channels,
                        dropout=0.0)
    if config.voice_activity:
        owner.activity_head = ActivityHead(owner.f0_net.feature_channels)


def _run_f0_path(owner: nn.Module, magnitude: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(saliency (batch, N_F0_BINS, n_frames), voice activity (batch, n_frames) or None) of the
    parts :func:`_build_f0_path` gave ``owner``; with the head, the saliency is already scaled by
    the activity."""
    stacked = owner.harmonic_stack(owner.f0_input(magnitude))
    if not hasattr(owner, "activity_head"):
        return owner.f0_net(stacked)[:, 0], None
    saliency, features = owner.f0_net(stacked, with_features=True)
    activity = owner.activity_head(features, magnitude.shape[-1])
    return saliency[:, 0] * activity[:, None, :], activity


#: The state-dict prefixes of the F0 path (what an F0 guard copies).
F0_PATH_PARTS = ("f0_input", "harmonic_stack", "f0_net", "activity_head")


class F0Path(nn.Module):
    """A copy of a network's F0 path: the base network an adapted one is guarded by
    (:attr:`ModelConfig.f0_guard`). Called like :meth:`JointModel.estimate_f0_and_activity`."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        _build_f0_path(self, config)

    def forward(self, magnitude: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return _run_f0_path(self, magnitude)


class JointModel(nn.Module):
    """Estimates the vocal mask and the F0 saliency of a mixture magnitude spectrogram.

    Input: linear magnitude, shape (batch, N_BINS, n_frames), 16 kHz / 1024-point STFT
    (see :mod:`core.audio.spectral`); ``n_frames`` must be a multiple of :attr:`frame_multiple`.
    """

    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        self.config = config = config or ModelConfig()
        config.check()
        if config.architecture == "wave_u_net":
            raise ValueError("wave_u_net is a time-domain network: build it with build_model")
        self.svs_input = LogMagnitude(spectral.N_BINS)
        svs_in = 2 if config.architecture == "f0_to_svs" else 1
        self.svs_net = UNet(svs_in, 1, depth=config.svs_depth, base_channels=config.svs_channels,
                            max_channels=config.svs_max_channels)
        self.has_f0 = config.architecture != "svs_only"
        if self.has_f0:
            _build_f0_path(self, config)
            self.comb = HarmonicComb()
            if config.f0_guard:
                self.f0_guard = F0Path(config).requires_grad_(False)

    @property
    def frame_multiple(self) -> int:
        m = self.svs_net.multiple
        if self.has_f0:
            m = max(m, self.f0_net.multiple)
        return m

    def estimate_f0(self, magnitude: torch.Tensor) -> torch.Tensor:
        """(batch, N_BINS, n_frames) magnitude -> (batch, N_F0_BINS, n_frames) saliency in [0, 1]."""
        return self.estimate_f0_and_activity(magnitude)[0]

    def estimate_f0_and_activity(self, magnitude: torch.Tensor
                                 ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(saliency (batch, N_F0_BINS, n_frames), voice activity (batch, n_frames) or None);
        with the head, the saliency is already scaled by the activity. With an F0 guard, the
        saliency is :func:`guard_saliency` of this network's and the guard's."""
        saliency, activity = _run_f0_path(self, magnitude)
        if self.config.f0_guard:
            saliency = guard_saliency(saliency, self.f0_guard(magnitude)[0])
        return saliency, activity

    def attach_f0_guard(self, base: "JointModel") -> None:
        """Carry ``base``'s F0 path as this network's guard (frozen, on this network's device);
        ``base`` must have the same shape and no guard of its own."""
        if self.config.architecture != "f0_to_svs" or base.config.f0_guard:
            raise ValueError("an F0 guard needs an f0_to_svs network and an unguarded base")
        self.config = ModelConfig.from_dict({**self.config.to_dict(), "f0_guard": True})
        guard = F0Path(self.config)
        state = {k: v for k, v in base.state_dict().items() if k.split(".")[0] in F0_PATH_PARTS}
        guard.load_state_dict(state, strict=True)
        device = next(self.parameters()).device
        self.f0_guard = guard.to(device).eval().requires_grad_(False)

    def estimate_mask(self, magnitude: torch.Tensor,
                      f0_saliency: torch.Tensor | None = None) -> torch.Tensor:
        """Vocal mask (batch, N_BINS, n_frames) from the mixture and, for f0_to_svs, a saliency map."""
        x = self.svs_input(magnitude)[:, None]
        if self.config.architecture == "f0_to_svs":
            if f0_saliency is None:
                raise ValueError("the f0_to_svs model needs an F0 saliency map")
            x = torch.cat([x, self.comb(f0_saliency)[:, None]], dim=1)
        return self.svs_net(x)[:, 0]

    def forward(self, magnitude: torch.Tensor) -> ModelOutput:
        arch = self.config.architecture
        if arch == "f0_to_svs":
            saliency, activity = self.estimate_f0_and_activity(magnitude)
            return ModelOutput(self.estimate_mask(magnitude, saliency), saliency, activity)
        mask = self.estimate_mask(magnitude)
        if arch == "svs_to_f0":
            return ModelOutput(mask, *self.estimate_f0_and_activity(mask * magnitude))
        return ModelOutput(mask, None)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def build_model(config: ModelConfig) -> nn.Module:
    """The network a configuration describes: a :class:`JointModel`, or for ``wave_u_net`` a
    :class:`~.wave_unet.WaveUNet` (which takes waveforms, not magnitudes: ``is_waveform``)."""
    if config.architecture == "wave_u_net":
        from .wave_unet import WaveUNet
        return WaveUNet(config)
    return JointModel(config)


__all__ = ["ARCHITECTURES", "SPECTROGRAM_ARCHITECTURES", "F0Path", "JointModel", "ModelConfig",
           "ModelOutput", "build_model", "count_parameters", "guard_saliency"]
