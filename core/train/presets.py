"""Runs that fit a lesson, as data: one table, each preset a config and the one thing it teaches."""
from __future__ import annotations

from dataclasses import dataclass

from core.quality.degrade import Degradation
from core.train.config import TrainConfig, TrainError


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    teaches: str
    config: TrainConfig


_NOISY = Degradation(scale=4, noise_sigma=5.0)  # downscale + noise: what animevideov3 was not trained for

PRESETS = {p.name: p for p in [
    Preset("scratch-60s", "from scratch, 60 s",
           "a first CNN: six convolutions and a pixel shuffle learn to beat bicubic in a minute",
           TrainConfig(base="scratch", losses={"l1": 1.0}, seconds=60, batch=16, patch=24, learning_rate=2e-3,
                       validate_every=50)),
    Preset("animevideov3-style-2min", "fine-tune animevideov3 to new photos and noise, 2 min",
           "fine-tuning: a trained network adapts to new images and a new degradation far faster than one "
           "learns from scratch",
           TrainConfig(base="realesr-animevideov3", losses={"l1": 1.0}, degradation=_NOISY, seconds=120,
                       batch=8, patch=32, learning_rate=2e-4, validate_every=50)),
    Preset("animevideov3-gan-2min", "fine-tune animevideov3 with perceptual + GAN losses, 2 min",
           "the perception–distortion trade-off: feature and adversarial losses lower LPIPS where L1 raises PSNR",
           TrainConfig(base="realesr-animevideov3", losses={"l1": 0.1, "perceptual": 1.0, "gan": 0.05},
                       degradation=_NOISY, seconds=120, batch=4, patch=24, learning_rate=2e-4, validate_every=20)),
    Preset("x4plus-last-5min", "x4plus, last layers, 5 min",
           "transfer learning: freeze a 16.7 M-parameter trunk, train its last layers (0.1 M) towards fidelity, and "
           "compute the frozen trunk once per patch instead of every step",
           TrainConfig(base="RealESRGAN_x4plus", unfreeze_blocks=0, losses={"l1": 1.0},
                       degradation=Degradation(scale=4, noise_sigma=5.0, jpeg_quality=75), seconds=300, batch=8,
                       patch=32, learning_rate=1e-4, validate_every=50, cache_patches=128)),
]}


def preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise TrainError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}") from None


def config(name: str, **changes) -> TrainConfig:
    """A preset's config, with `changes` (e.g. seconds, max_steps, seed) on top."""
    return preset(name).config.replace(preset=name, **changes)
