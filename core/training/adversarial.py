"""Semi-supervised adversarial training (Stoller, Ewert and Dixon, ICASSP 2018).

With ``isolde train --adversarial-weight W`` (W > 0) every step adds to the supervised losses on
paired crops an adversarial term on *unpaired* material: the separator's voice and accompaniment
estimates of unlabelled mixtures are judged by two critics, one that learns what a voice alone
sounds like and one an accompaniment alone. The unlabelled mixtures are songs without stems
(``--source unlabelled:FOLDER``, e.g. a musician's own library); without such a source they are
training crops drawn independently of the supervised ones. The critics learn from the stems of
still other training crops (with the recipe's production chains), so voice, accompaniment and
mixture never come from the same crop: the paper's unpaired setting.

Least-squares GAN losses (Mao et al. 2017): a critic pushes its score towards 1 on real stems and 0
on estimates; the separator pushes the score of its estimates towards 1. Critics are small 2-D
convolution stacks on the log magnitude (:class:`SpectrogramCritic`); they are not part of the
saved model, only of the run's checkpoint. A voice estimate that still holds accompaniment (or an
accompaniment estimate with voice in it) is what they learn to spot.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..audio import spectral
from .sources import CropSampler, jittered_level_gain

#: Adam's betas for the critics (the usual choice for GAN critics).
CRITIC_BETAS = (0.5, 0.9)
#: Offset of the adversary's own random generator from the run's seed, so that the supervised
#: crops of a run with the adversary are those of the same run without it.
SEED_OFFSET = 500_000


class SpectrogramCritic(nn.Module):
    """Magnitude (batch, N_BINS, n_frames) at the reference level -> score (batch,).

    Four stride-2 convolutions (kernel 4, 8 to 64 channels, leaky ReLU) on ``log1p(magnitude)``,
    averaged over time and frequency, then one linear unit."""

    def __init__(self, channels: int = 8):
        super().__init__()
        layers: list[nn.Module] = []
        width_in = 1
        for level in range(4):
            width = channels * 2 ** level
            layers += [nn.Conv2d(width_in, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            width_in = width
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width_in, 1)

    def forward(self, magnitude: torch.Tensor) -> torch.Tensor:
        features = self.body(torch.log1p(magnitude)[:, None])
        return self.head(features.mean(dim=(2, 3)))[:, 0]


class UnlabelledCrops:
    """Random crops of songs without stems (pooled tracks whose ``accompaniment`` holds the
    mixture), at the reference level give or take the run's level jitter, as training crops."""

    def __init__(self, pool: list, config, generator: torch.Generator):
        long_enough = [t for t in pool if len(t.accompaniment) > config.crop_frames * spectral.HOP]
        if not long_enough:
            raise ValueError("no unlabelled song is long enough for one training crop")
        self.pool, self.config, self.generator = long_enough, config, generator
        self.n_samples = (config.crop_frames - 1) * spectral.HOP

    def mixtures(self) -> torch.Tensor:
        """(batch, n_samples) float32."""
        crops = []
        for _ in range(self.config.batch_size):
            track = self.pool[int(torch.randint(0, len(self.pool), (), generator=self.generator))]
            span = len(track.accompaniment) - self.n_samples
            start = int(torch.randint(0, max(span, 1), (), generator=self.generator))
            crop = track.accompaniment[start:start + self.n_samples]
            crops.append(crop * jittered_level_gain(
                crop, self.config.level_jitter_db, float(torch.rand((), generator=self.generator))))
        return torch.from_numpy(np.stack(crops)).float()


def _least_squares(scores: torch.Tensor, target: float) -> torch.Tensor:
    return ((scores - target) ** 2).mean()


class Adversary:
    """The two critics, their optimizer and the unpaired crops of one training run."""

    def __init__(self, pool: list, unlabelled_pool: list, config, device: torch.device):
        self.device = device
        self.generator = torch.Generator().manual_seed(config.seed + SEED_OFFSET)
        self.voice_critic = SpectrogramCritic().to(device)
        self.accompaniment_critic = SpectrogramCritic().to(device)
        self.optimizer = torch.optim.Adam(
            [*self.voice_critic.parameters(), *self.accompaniment_critic.parameters()],
            lr=config.learning_rate, betas=CRITIC_BETAS)
        self.stems = CropSampler(pool, config, self.generator)
        self.unlabelled = (UnlabelledCrops(unlabelled_pool, config, self.generator)
                           if unlabelled_pool else None)
        self._estimates: tuple[torch.Tensor, torch.Tensor] | None = None

    def _unlabelled_mixtures(self) -> torch.Tensor:
        if self.unlabelled is not None:
            return self.unlabelled.mixtures()
        return self.stems.batch()[0]

    def separator_loss(self, model) -> torch.Tensor:
        """The separator's adversarial loss on a batch of unlabelled mixtures (keeps the
        estimates for the next :meth:`critic_step`)."""
        self._critics_learn(False)  # the separator's gradient must not reach them
        magnitude = spectral.model_magnitude(self._unlabelled_mixtures().to(self.device))
        mask = model(magnitude).vocal_mask
        voice, accompaniment = mask * magnitude, (1 - mask) * magnitude
        self._estimates = (voice.detach(), accompaniment.detach())
        return 0.5 * (_least_squares(self.voice_critic(voice), 1.0)
                      + _least_squares(self.accompaniment_critic(accompaniment), 1.0))

    def critic_step(self) -> torch.Tensor:
        """One optimizer step of both critics: the real stems of other crops against the last
        estimates. Returns the critics' loss."""
        mixtures, voices, _ = self.stems.batch()
        real_voice = spectral.model_magnitude(voices.to(self.device))
        real_accompaniment = spectral.model_magnitude((mixtures - voices).to(self.device))
        voice, accompaniment = self._estimates
        self._critics_learn(True)
        loss = 0.5 * (_least_squares(self.voice_critic(real_voice), 1.0)
                      + _least_squares(self.voice_critic(voice), 0.0)
                      + _least_squares(self.accompaniment_critic(real_accompaniment), 1.0)
                      + _least_squares(self.accompaniment_critic(accompaniment), 0.0))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def _critics_learn(self, on: bool) -> None:
        for critic in (self.voice_critic, self.accompaniment_critic):
            critic.requires_grad_(on)

    def state_dict(self) -> dict:
        return {"voice_critic": self.voice_critic.state_dict(),
                "accompaniment_critic": self.accompaniment_critic.state_dict(),
                "optimizer": self.optimizer.state_dict(), "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.voice_critic.load_state_dict(state["voice_critic"])
        self.accompaniment_critic.load_state_dict(state["accompaniment_critic"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
