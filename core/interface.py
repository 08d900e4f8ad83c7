"""What every method shares: typed parameters (range, default, help: they drive the CLI and the widgets) and
the result of `upscale()`. Networks (core/networks.py) and classical methods (core/classical.py) both offer

    upscale(color, size, params, *, tile=0, backend="auto", progress=None, on_step=None) -> Upscaled

with `color` an H×W×C float32 array in 0…1 (C = 1 or 3; alpha is handled once, in the engine), `size` the
target (width, height). `progress(done, total, message)` is called per tile; `on_step(fraction)` as the work
advances inside a tile. Either may raise to cancel the job.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

Progress = Callable[[int, int, str], None]
OnStep = Callable[[float], None]


@dataclass(frozen=True)
class Param:
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


@dataclass
class Upscaled:
    pixels: np.ndarray               # H×W×C float32 in 0…1, the requested size
    summary: str                     # one true sentence: what was done
    backend: str                     # what ran it: a backend label or the library call
    network_scale: int | None = None  # the part done by a network (None: no network)
    resize: str = "none"             # what was done after the network
    tiles: int = 1
    tile_size: int = 0               # 0: the whole image at once
    weights: str = ""                # where a network's weights came from
    why: str = ""                    # why this backend ran it
