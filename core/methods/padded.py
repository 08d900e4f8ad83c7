"""A user's model wrapped so that spandrel's size requirements are met inside each tile (core/methods/user.py).
A module of its own so that the rest of the user-model code imports without torch, and a module-level class so
that a model pickles (it travels with a job to a Ray worker)."""
import torch
import torch.nn.functional as F


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
