"""A model the user brings (`.pth` / `.safetensors`): the architecture is detected by spandrel (which ships
architectures, no weights), the file read without running code (`torch.load(weights_only=True)` or
safetensors), and the model added as a method on the same path as the built-in networks: tiling, progress,
cancel, metrics. One clear line refuses a file that is not a model spandrel knows, a pickle that would run
code, or a model whose scale or channels the engine cannot handle.
"""
from __future__ import annotations

import hashlib
import io
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from core.networks import NetworkMethod
from core.weights import NcnnSource, WeightsInfo, WeightsUnavailable, load_checkpoint

SUFFIXES = (".pth", ".pt", ".ckpt", ".safetensors")
MAX_BYTES = 2_000_000_000
_NO_NCNN = NcnnSource("", "", "")  # user models run on torch only
_lock = threading.Lock()


class UserModelError(ValueError):
    """A model file that cannot be used, with one line for the user."""


@dataclass(frozen=True)
class UserNetwork(NetworkMethod):
    detected: str = ""                      # what spandrel found, for the page and the CLI
    module: object = field(default=None, repr=False, compare=False)
    file_name: str = ""

    @property
    def source(self) -> str:
        return f"user model {self.file_name} ({self.detected}; loaded by spandrel)"

    @property
    def has_torch(self) -> bool:
        return True

    def torch_module(self):
        return self.module

    def weights(self) -> WeightsInfo:
        return WeightsInfo(Path(self.file_name), f"user file {self.file_name}, sha256 {self.sha256[:12]}…")


def _state_dict(data: bytes, name: str) -> dict:
    if name.lower().endswith(".safetensors"):
        from safetensors.torch import load

        try:
            return load(data)
        except Exception as exc:
            raise UserModelError(f"{name}: not a readable safetensors file ({exc})") from None
    try:
        return load_checkpoint(io.BytesIO(data), name)
    except WeightsUnavailable as exc:
        raise UserModelError(str(exc)) from None


def _padded_module(descriptor):
    """The model with spandrel's size requirements met by padding inside each tile (cropped after)."""
    import torch
    import torch.nn.functional as F

    class Padded(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = descriptor.model

        def forward(self, x):
            h, w = x.shape[-2:]
            pad_w, pad_h = descriptor.size_requirements.get_padding(w, h)  # spandrel's public size rule
            if pad_w or pad_h:  # reflect as far as it may go (size - 1), then replicate, as spandrel does
                rw, rh = min(pad_w, w - 1), min(pad_h, h - 1)
                x = F.pad(F.pad(x, (0, rw, 0, rh), "reflect"), (0, pad_w - rw, 0, pad_h - rh), "replicate")
            return self.model(x)[..., :h * descriptor.scale, :w * descriptor.scale]

    return Padded().eval()


def load_user_model(data: bytes, file_name: str) -> UserNetwork:
    """Detect, check and register a user model from its file's bytes (nothing is written to disk)."""
    if not file_name.lower().endswith(SUFFIXES):
        raise UserModelError(f"{file_name}: a model file ends in {', '.join(SUFFIXES)}")
    if len(data) > MAX_BYTES:
        raise UserModelError(f"{file_name}: {len(data) / 1e9:.1f} GB is over the {MAX_BYTES / 1e9:.0f} GB limit")
    sha = hashlib.sha256(data).hexdigest()
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(file_name).stem)[:40]
    name = f"user:{stem}-{sha[:8]}"
    from core.methods import METHODS

    with _lock:
        if name in METHODS:
            return METHODS.get(name)
        from spandrel import ImageModelDescriptor, ModelLoader, UnsupportedModelError

        state = _state_dict(data, file_name)
        try:
            descriptor = ModelLoader().load_from_state_dict(state)
        except UnsupportedModelError:
            raise UserModelError(f"{file_name}: spandrel does not recognise this model's architecture (it knows "
                                 "ESRGAN, Real-ESRGAN compact, SPAN, SwinIR, HAT, DAT, OmniSR and ~35 others)") from None
        except Exception as exc:
            raise UserModelError(f"{file_name}: the weights do not fit the detected architecture "
                                 f"({str(exc).splitlines()[0]})") from None
        arch = descriptor.architecture.name
        if not isinstance(descriptor, ImageModelDescriptor):
            raise UserModelError(f"{file_name}: {arch} is not an image-to-image model (e.g. inpainting needs a mask)")
        if not 1 <= descriptor.scale <= 8:
            raise UserModelError(f"{file_name}: {arch} upscales ×{descriptor.scale}; SR Lab runs ×1 to ×8")
        if (descriptor.input_channels, descriptor.output_channels) != (3, 3):
            raise UserModelError(f"{file_name}: {arch} takes {descriptor.input_channels} and gives "
                                 f"{descriptor.output_channels} channels; SR Lab runs RGB → RGB models")
        req = descriptor.size_requirements
        detected = (f"{arch}, ×{descriptor.scale}, {descriptor.purpose}"
                    + (f", sides a multiple of {req.multiple_of}" if req.multiple_of > 1 else "")
                    + (f", at least {req.minimum} px" if req.minimum > 1 else "")
                    + (", square input" if req.square else ""))
        spec = UserNetwork(
            name=name, description=f"Your model {file_name}: {detected}.", arch=arch,
            native_scale=descriptor.scale, ncnn=_NO_NCNN, sha256=sha,
            bytes_per_input_pixel={"torch": 60_000},  # unknown architecture: a cautious tile (2 GB → ~180²)
            family=f"user model ({arch})", licence="the user's", trained_for="unknown",
            measured_auto=False, detected=detected, module=_padded_module(descriptor), file_name=file_name)
        METHODS.register(spec)  # a method for this process; not a built-in network (core.methods.networks())
        return spec


def load_user_model_file(path: str | Path) -> UserNetwork:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserModelError(f"{path}: cannot read the file ({exc.strerror})") from None
    return load_user_model(data, path.name)
