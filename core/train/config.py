"""What a training run is, as one value: the base network, what trains, the data, the losses and the bounds.
Checked before anything heavy starts; every refusal is a `TrainError` of one line."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from core.quality.degrade import Degradation

SCRATCH = "scratch"  # the base that starts from random weights: the compact CNN of core/train/models.py
PIXEL_LOSSES = ("l1", "mse")
LOSSES = (*PIXEL_LOSSES, "perceptual", "gan")


class TrainError(ValueError):
    """A training request that cannot be run, with one line for the user."""


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    base: str = SCRATCH                 # SCRATCH or a catalogue network with a PyTorch architecture
    scale: int = 4                      # the from-scratch net's scale; a fine-tuned network keeps its own
    unfreeze_blocks: int = 0            # RRDBNet: the last N RRDB blocks train too (its head always trains)
    cache_trunk: bool = True            # frozen trunk: its features computed once per training patch
    losses: Mapping[str, float] = field(default_factory=lambda: {"l1": 1.0})  # name → weight
    degradation: Degradation = Degradation()
    seconds: float = 60.0               # the whole run (setup, training, validation); capped by the settings
    max_steps: int | None = None        # None: until the time is up
    batch: int = 8
    patch: int = 32                     # training crop side, low-resolution pixels (HR = patch × scale)
    learning_rate: float = 1e-3
    validate_every: int = 50            # steps between validations (PSNR / SSIM / LPIPS, preview image)
    val_images: int = 2                 # whole images held out for validation (one image: a held-out part)
    val_side: int = 64                  # validation centre crop side, low-resolution pixels
    cache_patches: int = 96             # training patches in the pool when the trunk's features are cached
    checkpoint_every: int = 100         # steps between checkpoints (when the run has a checkpoint folder)
    seed: int = 0
    preset: str = ""                    # the preset it came from, for the card

    def check(self) -> None:
        unknown = sorted(set(self.losses) - set(LOSSES))
        if unknown:
            raise TrainError(f"unknown loss {unknown[0]!r}; losses: {', '.join(LOSSES)}")
        if sum(1 for name in self.losses if name in PIXEL_LOSSES) > 1:
            raise TrainError("choose one pixel loss: l1 or mse")
        if not self.losses or any(w <= 0 for w in self.losses.values()):
            raise TrainError("give at least one loss, each with a weight above 0")
        if set(self.losses) == {"gan"}:
            raise TrainError("an adversarial loss alone does not train a super-resolution network: add l1, mse or "
                             "perceptual")
        if self.scale not in (2, 3, 4):
            raise TrainError("the from-scratch network upscales ×2, ×3 or ×4")
        if not (1 <= self.batch <= 64 and 8 <= self.patch <= 128 and 8 <= self.val_side <= 256):
            raise TrainError("batch 1–64, patch 8–128 px and validation crop 8–256 px (low-resolution pixels)")
        if not (self.seconds > 0 and (self.max_steps is None or self.max_steps >= 1)):
            raise TrainError("the time budget must be above 0 s and max steps at least 1")
        if not (0 < self.learning_rate < 1 and self.validate_every >= 1 and self.checkpoint_every >= 1):
            raise TrainError("learning rate 0–1, validate and checkpoint every ≥ 1 step")
        if self.unfreeze_blocks < 0 or self.val_images < 1 or self.cache_patches < self.batch:
            raise TrainError("unfreeze 0 or more blocks, hold out at least 1 image, cache at least a batch")
        try:
            self.degradation.check()
        except ValueError as exc:
            raise TrainError(f"degradation: {exc}") from None

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["losses"] = dict(self.losses)
        return out

    @classmethod
    def from_dict(cls, data: Mapping) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["degradation"] = Degradation(**values.get("degradation", {}))
        return cls(**values)

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)


def losses_text(losses: Mapping[str, float]) -> str:
    return " + ".join(f"{w:g}·{name}" for name, w in losses.items())
