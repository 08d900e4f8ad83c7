"""Every refusal of a training run that needs no network loaded (the config, the base, the images), without
torch: the Train page draws its one-line refusals before anything heavy is imported (torch takes ~1.5 s on 2
cores; core/train/engine.py imports it when a run starts)."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from core import methods
from core.io.imageio import LoadedImage
from core.train import data
from core.train.config import SCRATCH, TrainConfig, TrainError


def trainable_bases() -> list[str]:
    return [SCRATCH, *(n.name for n in methods.networks() if n.has_torch)]


def check_base(config: TrainConfig) -> None:
    """Refuses a base that cannot train, before anything is loaded."""
    if config.base in trainable_bases():
        return
    if config.base in methods.METHODS:
        raise TrainError(f"{config.base} has no PyTorch architecture here (it runs on ncnn only), so it cannot be "
                         f"trained; trainable: {', '.join(trainable_bases())}")
    raise TrainError(f"unknown base network {config.base!r}; trainable: {', '.join(trainable_bases())}")


def native_scale(config: TrainConfig) -> int:
    return config.scale if config.base == SCRATCH else methods.get(config.base).native_scale


def pairs_text(config: TrainConfig) -> str:
    """How this run makes its low-resolution inputs from the clean images, in words (as the card says)."""
    steps = dataclasses.replace(config.degradation, scale=native_scale(config)).steps()
    return " → ".join(steps) or "none"


def check(images: Sequence[LoadedImage | np.ndarray] | None, config: TrainConfig) -> data.Split:
    """Every refusal that needs no network loaded: the config, the base, the images. Returns the split."""
    config.check()
    check_base(config)
    scale = native_scale(config)
    return data.split(data.cleans(images), crop=config.patch * scale, val_images=config.val_images,
                      seed=config.seed)
