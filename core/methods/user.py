"""A model the user brings (`.pth` / `.safetensors`): the architecture is detected by spandrel (which ships
architectures, no weights), the file read without running code (`torch.load(weights_only=True)` or
safetensors), and the model run on the same path as the built-in networks: tiling, progress, cancel, metrics.
One clear line refuses a file that is not a model spandrel knows, a pickle that would run code, or a model
whose scale or channels the pipeline cannot handle. The model belongs to whoever loaded it (a session of the
app, a CLI run): it is not registered anywhere, and goes when its owner drops it.
"""
from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from core.methods.contract import SizeRules
from core.methods.network import Architecture, Card, NetworkMethod, Weights
from core.weights.resolve import WeightsInfo, WeightsUnavailable, library_reason, load_checkpoint

SUFFIXES = (".pth", ".pt", ".ckpt", ".safetensors")
MAX_BYTES = 2_000_000_000


class UserModelError(ValueError):
    """A model file that cannot be used, with one line for the user."""


@dataclass(frozen=True, kw_only=True, eq=False)
class UserNetwork(NetworkMethod):
    detected: str = ""                      # what spandrel found, for the page and the CLI
    module: object = field(default=None, repr=False)
    file_name: str = ""
    card_extra: dict = field(default_factory=dict)  # e.g. a trained model's card (core/train)

    @property
    def source(self) -> str:
        return f"user model {self.file_name} ({self.detected}; loaded by spandrel)"

    @property
    def has_torch(self) -> bool:
        return True

    def torch_module(self):
        return self.module

    def weights_info(self) -> WeightsInfo:
        return WeightsInfo(Path(self.file_name), f"user file {self.file_name}, sha256 {self.sha256[:12]}…")

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.module.state_dict().values())


def _state_dict(data: bytes, name: str) -> dict:
    if name.lower().endswith(".safetensors"):
        from safetensors.torch import load

        try:
            return load(data)
        except Exception as exc:
            raise UserModelError(f"{name}: not a readable safetensors file ({library_reason(exc)}): use the "
                                 "model's .safetensors or .pth file") from None
    try:
        with warnings.catch_warnings():  # torch warns of a pickle protocol it did not write: not a line for a user
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            return load_checkpoint(io.BytesIO(data), name)
    except WeightsUnavailable as exc:
        raise UserModelError(str(exc)) from None


def load_user_model(data: bytes, file_name: str, card_extra: dict | None = None) -> UserNetwork:
    """Detect and check a user model from its file's bytes (nothing is written to disk)."""
    if not file_name.lower().endswith(SUFFIXES):
        raise UserModelError(f"{file_name}: a model file ends in {', '.join(SUFFIXES)}")
    if len(data) > MAX_BYTES:
        raise UserModelError(f"{file_name}: {len(data) / 1e9:.1f} GB is over the {MAX_BYTES / 1e9:.0f} GB limit")
    sha = hashlib.sha256(data).hexdigest()
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(file_name).stem)[:40]
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
    from core.methods.padded import Padded  # torch: imported when a model is loaded, not to draw an uploader

    module = Padded(descriptor).eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return UserNetwork(
        name=f"user:{stem}-{sha[:8]}",
        arch=Architecture(name=arch, native_scale=descriptor.scale,
                          size_rules=SizeRules(minimum=req.minimum, multiple_of=req.multiple_of)),
        weights=Weights(sha256=sha),  # no ncnn files: user models run on torch only
        card=Card(description=f"Your model {file_name}: {detected}.", family=f"user model ({arch})",
                  licence="its maker's", trained_for="unknown"),
        bytes_per_input_pixel={"torch": 60_000},  # unknown architecture: a cautious tile (2 GB → ~180²)
        measured_auto=False, detected=detected, module=module, file_name=file_name, card_extra=card_extra or {})


def load_user_model_file(path: str | Path) -> UserNetwork:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserModelError(f"{path}: cannot read the file ({exc.strerror})") from None
    return load_user_model(data, path.name)
