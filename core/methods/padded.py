"""A user's model wrapped so that spandrel's size requirements are met inside each tile (core/methods/user.py),
and a network's framing done in torch (`framed`, for attribution maps: differentiable, unlike the numpy framing
of the backends). A module of its own so that the rest of the methods code imports without torch, and a
module-level class so that a model pickles (it travels with a job to a Ray worker)."""
import math

import torch
import torch.nn.functional as F


def _pad(x, left: int, right: int, top: int, bottom: int, mode: str):
    """Pad `x`; reflect as far as it may go (size - 1), then replicate, as spandrel does."""
    if mode != "reflect":
        return F.pad(x, (left, right, top, bottom), "replicate")
    h, w = x.shape[-2:]
    r = [min(p, size - 1) for p, size in ((left, w), (right, w), (top, h), (bottom, h))]
    x = F.pad(x, tuple(r), "reflect") if any(r) else x
    rest = (left - r[0], right - r[1], top - r[2], bottom - r[3])
    return F.pad(x, rest, "replicate") if any(rest) else x


def framed(module, framing, size_rules, scale: int, x):
    """The module on N×C×h×w `x` fed as core/runtime/backends.Framed feeds it (context `pad`, sides rounded up to
    the framing's and the size rules' multiple, at least their minimum; the context cut off; a residual added),
    every step a torch op so gradients reach `x`."""
    h, w = x.shape[-2:]
    multiple = math.lcm(framing.multiple, size_rules.multiple_of)
    need_h, need_w = max(h, size_rules.minimum), max(w, size_rules.minimum)
    extra_h, extra_w = need_h - h + (-need_h) % multiple, need_w - w + (-need_w) % multiple
    p = framing.pad
    mode = "reflect" if framing.border == "reflect" else "replicate"
    data = _pad(x, p, p + extra_w, p, p + extra_h, mode) if (p or extra_h or extra_w) else x
    out = module(data)
    top = 0 if framing.graph_crops else p * scale
    out = out[..., top:top + h * scale, top:top + w * scale]
    if framing.residual:
        out = out + F.interpolate(x, scale_factor=scale, mode="nearest")
    return out


class Padded(torch.nn.Module):
    """The model with spandrel's size requirements met by padding inside each tile (cropped after)."""

    def __init__(self, descriptor):
        super().__init__()
        self.model = descriptor.model
        self.requirements, self.scale = descriptor.size_requirements, descriptor.scale

    def forward(self, x):
        h, w = x.shape[-2:]
        pad_w, pad_h = self.requirements.get_padding(w, h)  # spandrel's public size rule
        if pad_w or pad_h:  # reflect as far as it may go (size - 1), then replicate, as spandrel does
            rw, rh = min(pad_w, w - 1), min(pad_h, h - 1)
            x = F.pad(F.pad(x, (0, rw, 0, rh), "reflect"), (0, pad_w - rw, 0, pad_h - rh), "replicate")
        return self.model(x)[..., :h * self.scale, :w * self.scale]
