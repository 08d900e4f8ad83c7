"""The networks a run trains, each on its own copy (the catalogue's cached module stays frozen and untouched):

- from scratch: a compact CNN, realesrgan's SRVGGNetCompact with a small config — a few 3×3 convolutions, a
  pixel shuffle and a nearest-upsampled residual, ESPCN-like — so spandrel detects the saved file like any
  other Real-ESRGAN compact model;
- a catalogue network with a PyTorch architecture: SRVGGNetCompact (animevideov3) trains fully; RRDBNet
  (x4plus) trains its head (conv_up1, conv_up2, conv_hr, conv_last) and optionally its last N RRDB blocks,
  with the rest frozen. The frozen part is a `prefix` whose output the engine may compute once per patch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from core import methods
from core.methods.architectures import srvgg_compact
from core.train.checks import check_base
from core.train.config import SCRATCH, TrainConfig, TrainError

SCRATCH_PARAMS = dict(num_in_ch=3, num_out_ch=3, num_feat=32, num_conv=4, act_type="prelu")
SCRATCH_NAME = "compact CNN, 6 conv layers, ESPCN-like (Real-ESRGAN SRVGGNetCompact, 32 features, PReLU)"
RRDB_HEAD = ("conv_up1", "conv_up2", "conv_hr", "conv_last")


@dataclass(eq=False)
class Trainable:
    module: torch.nn.Module                          # the whole network: what is saved
    base: str
    name: str                                        # what it is, for the card and the page
    architecture: str
    trains: str                                      # which parts train, in words
    scale: int
    prefix: Callable[[torch.Tensor], tuple]          # the frozen part (no gradients): input → features
    head: Callable[..., torch.Tensor]                # the trained part: features → image
    frozen_prefix: bool = False                      # True: `prefix` is worth computing once per patch

    def parameters(self) -> list[torch.nn.Parameter]:
        return [p for p in self.module.parameters() if p.requires_grad]

    @property
    def trainable_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @property
    def total_params(self) -> int:
        return sum(p.numel() for p in self.module.parameters())

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(*self.prefix(x))


def build(config: TrainConfig) -> Trainable:
    check_base(config)
    if config.base == SCRATCH:
        with torch.random.fork_rng():  # the seed decides the initial weights, without touching global state
            torch.manual_seed(config.seed)
            module = srvgg_compact(**SCRATCH_PARAMS, upscale=config.scale)
        return _whole(module, SCRATCH, SCRATCH_NAME, _arch_text("SRVGGNetCompact", SCRATCH_PARAMS,
                                                                upscale=config.scale), config.scale)
    spec = methods.get(config.base)
    with torch.device("meta"):  # no random init to throw away: the loaded tensors become the parameters
        module = spec.build()
    module.load_state_dict(spec.state_dict(), strict=True, assign=True)  # our own copy, not spec.torch_module()
    arch = _arch_text(spec.arch.name, spec.arch.params)
    name = f"{spec.name} fine-tuned"
    if spec.arch.name == "RRDBNet":
        return _rrdb(module, config, spec.name, name, arch, spec.native_scale)
    if config.unfreeze_blocks:
        raise TrainError(f"{spec.name} trains fully: unfreezing blocks applies to RRDBNet (x4plus) only")
    return _whole(module, spec.name, name, arch, spec.native_scale)


def _arch_text(name: str, params: dict, **more) -> str:
    values = {**params, **more}
    return f"{name}(" + ", ".join(f"{k}={v}" for k, v in values.items()) + ")"


def _whole(module, base: str, name: str, arch: str, scale: int) -> Trainable:
    module.train()
    for p in module.parameters():
        p.requires_grad_(True)
    return Trainable(module=module, base=base, name=name, architecture=arch, trains="every layer", scale=scale,
                     prefix=lambda x: (x,), head=module)


def _rrdb(net, config: TrainConfig, base: str, name: str, arch: str, scale: int) -> Trainable:
    """x4plus: head trained, trunk frozen; the last `unfreeze_blocks` RRDB blocks may train too."""
    blocks = len(net.body)
    n = config.unfreeze_blocks
    if n > blocks:
        raise TrainError(f"{base} has {blocks} RRDB blocks: cannot unfreeze {n}")
    if net.scale != 4:
        raise TrainError(f"{base}: only ×4 RRDBNet fine-tunes here")
    first_trained = blocks - n
    for key, p in net.named_parameters():
        part, index = key.split(".")[:2]
        p.requires_grad_(part in RRDB_HEAD or (part == "body" and int(index) >= first_trained))
    net.train()

    @torch.no_grad()
    def prefix(x):
        feat = net.conv_first(x)
        trunk = net.body[:first_trained](feat)
        return (feat + net.conv_body(trunk),) if n == 0 else (feat, trunk)

    def head(*features):
        feat = features[0] if n == 0 else features[0] + net.conv_body(net.body[first_trained:](features[1]))
        feat = net.lrelu(net.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = net.lrelu(net.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return net.conv_last(net.lrelu(net.conv_hr(feat)))

    trains = ", ".join(RRDB_HEAD) + (f" and the last {n} of {blocks} RRDB blocks" if n else f" (the {blocks} RRDB "
                                                                                         "blocks frozen)")
    return Trainable(module=net, base=base, name=name + (f", head + last {n} blocks" if n else ", head only"),
                     architecture=arch, trains=trains, scale=scale, prefix=prefix, head=head, frozen_prefix=True)
