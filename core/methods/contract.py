"""The one method contract (after spandrel's ImageModelDescriptor): every network and classical method declares,
as data, its native scale (None: it resizes to any scale), its kind and purpose, its size rules and its typed
parameters, and offers

    plan(height, width, tile=0, backend="auto", on_step=None, live=False) -> Plan    backend and tile, once per job
    upscale(color, size, params, plan, *, progress=None, on_step=None, on_partial=None) -> Upscaled
    torch_forward(scale) -> TorchForward                      only where `attributable` (else NotAttributable)

with `color` an H×W×C float32 array in 0…1 (C = 1 or 3; alpha is handled once, in the pipeline) and `size` the
target (width, height). `progress(done, total, message)` is called per tile, `on_step(fraction)` as the work
advances (inside a tile on the torch backends, between tiles on ncnn); either may raise to cancel the job.
`live`: someone watches the result come: a long network run is tiled so its first part shows within seconds, and
`on_partial(picture, stand_in, share)` gets the result so far after each tile (a one-pass method never calls it).
A method that `consumes` a "sequence" (a video network) is a `SequenceMethod`: it also offers
`upscale_sequence(frames, size, on_step=)` over windows of `window` frames (core/methods/sequence.py); on a clip, a
"frame" method runs on each frame alone. Nothing outside this package asks which kind of method it holds: a clip's
code asks `methods.as_sequence(m)`, which gives the SequenceMethod or None.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Callable, Literal, Protocol

import numpy as np

from core.runtime.select import Plan  # noqa: F401  (part of the contract)

Progress = Callable[[int, int, str], None]
OnStep = Callable[[float], None]
OnPartial = Callable[[np.ndarray, np.ndarray, float], None]  # (so far, its bicubic stand-in, share drawn): see network
Kind = Literal["network", "interpolation", "restoration filter", "enhancement filter"]
Purpose = Literal["super-resolution", "interpolation", "denoise", "enhance"]
Consumes = Literal["frame", "sequence"]  # on a clip: each frame alone, or the whole sequence (a video network)


@dataclass(frozen=True, kw_only=True)
class Param:
    """A method's typed parameter: it draws the page's widget and checks the CLI's `--param NAME=VALUE`."""
    name: str
    label: str
    default: Any
    help: str = ""
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple | None = None

    def check(self, value: Any) -> Any:
        if self.choices is not None:
            if value not in self.choices:
                raise ValueError(f"{self.label}: {value!r} is not one of {', '.join(map(str, self.choices))}")
            return value
        try:
            value = type(self.default)(float(value))
        except (TypeError, ValueError):
            raise ValueError(f"{self.label}: {value!r} is not a number") from None
        if not (self.min <= value <= self.max):
            raise ValueError(f"{self.label}: {value:g} is outside {self.min:g}…{self.max:g}")
        return value


def checked_params(owner: str, params: tuple[Param, ...], given: dict | None) -> dict:
    """Defaults overridden by `given`, each value checked; an unknown name is a clear error."""
    known = {p.name: p for p in params}
    values = {p.name: p.default for p in params}
    for key, value in (given or {}).items():
        if key not in known:
            raise ValueError(f"{owner} has no parameter {key!r}; it has {', '.join(known) or 'none'}")
        values[key] = known[key].check(value)
    return values


@dataclass(frozen=True, kw_only=True)
class SizeRules:
    """What input sizes a method takes as it is; the runner pads anything else (spandrel's SizeRequirements)."""
    minimum: int = 1
    multiple_of: int = 1


@dataclass(kw_only=True)
class MethodRun:
    """What a method did, in words and numbers: shared by `Upscaled` and the job's statistics."""
    summary: str                     # one true sentence: what was done
    backend: str                     # what ran it: a backend label or the library call
    network_scale: int | None = None  # the part done by a network (None: no network)
    resize: str = "none"             # what was done after the network
    tiles: int = 1
    tile_size: int = 0               # 0: the whole image at once
    weights: str = ""                # where a network's weights came from
    backend_why: str = ""            # why this backend ran it

    def how(self) -> str:
        """"network ×4, then ×0.93 Lanczos resize (…)", or the classical method's own sentence."""
        if not self.network_scale:
            return self.summary
        return f"network ×{self.network_scale}" + ("" if self.resize == "none" else f", then {self.resize}")


@dataclass(kw_only=True)
class Upscaled(MethodRun):
    """A method's result: the pixels (H×W×C float32 in 0…1, the requested size) and what was done."""
    pixels: np.ndarray

    def record(self) -> dict:
        """The `MethodRun` part as keywords, without copying the pixels."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(MethodRun)}


class NotAttributable(ValueError):
    """A method whose output has no differentiable torch forward here; the message is one line saying why."""


@dataclass(frozen=True, kw_only=True)
class TorchForward:
    """A method's output as a differentiable torch function (for attribution maps, core/quality/attribution.py):
    `run` maps an N×3×h×w float32 tensor in 0…1 to N×3×(h·s)×(w·s) in fp32, the gradient reaching the input;
    `what` says in words what runs; `grad_bytes_per_pixel` is a cautious estimate of the memory one input pixel
    of one image takes with its gradient (it sizes how many path steps go through at once)."""
    run: Callable[[Any], Any]
    scale: int
    what: str
    grad_bytes_per_pixel: int = 1_000


class Method(Protocol):
    name: str
    kind: Kind
    purpose: Purpose
    family: str
    description: str
    params: tuple[Param, ...]
    native_scale: int | None          # None: any scale in one step (a classical resize)
    size_rules: SizeRules
    backends: tuple[str, ...]          # the backends it can run on; () for a library call
    attributable: bool                 # it has a differentiable torch forward (torch_forward works)
    consumes: Consumes                 # "frame" (every image method) or "sequence" (core/methods/sequence.py)

    @property
    def label(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def provenance(self) -> str: ...  # what pins its output: a network's weights sha256, a classical library call

    def availability(self) -> str: ...

    def plan(self, height: int, width: int, tile: int = 0, backend: str = "auto", on_step: OnStep | None = None,
             live: bool = False) -> Plan: ...

    def upscale(self, color: np.ndarray, size: tuple[int, int], params: dict | None = None,
                plan: Plan | None = None, *, progress: Progress | None = None,
                on_step: OnStep | None = None, on_partial: OnPartial | None = None) -> Upscaled: ...

    def torch_forward(self, scale: int) -> TorchForward: ...  # NotAttributable: one line saying why not


class SequenceMethod(Method, Protocol):
    """A method that consumes a sequence (a video network): each output frame depends on its neighbours. It runs
    in overlapping windows, so memory is bounded by one window whatever the clip's length."""
    window: int                        # frames in one window
    overlap: int                       # frames dropped at each inner edge of a window (little context there)

    def upscale_sequence(self, frames: Iterable[np.ndarray], size: tuple[int, int] | None = None, *,
                         on_step: OnStep | None = None) -> Iterator[np.ndarray]: ...  # one per frame, in order

    def resize_words(self, in_size: tuple[int, int], size: tuple[int, int]) -> str: ...  # "none" or the resize
