"""Progress inside a network pass: a forward hook on every convolution reports a step, so one large tile shows
progress and can be cancelled between layers (RealESRGAN_x4plus has 351: one every few ms to ~1 s)."""
from __future__ import annotations

import contextlib
import threading

_step = threading.local()  # the running job's layer hook, seen by the torch hooks of this thread


def install_step_hooks(module) -> int:
    """Hook every convolution of `module` once (a module may be shared); returns the number of steps."""
    import torch

    convs = [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    if not getattr(module, "_srlab_step_hooks", False):
        for conv in convs:
            conv.register_forward_hook(_on_layer_done)
        module._srlab_step_hooks = True
    return len(convs)


def _on_layer_done(*_args) -> None:
    hook = getattr(_step, "hook", None)
    if hook is not None:
        hook()


@contextlib.contextmanager
def steps(layers: int, n_tiles: int, on_step):
    """While a network runs: `on_step(fraction done)` after every layer (when the runner has `layers` hooks)
    and after every tile. Yields `tile_done(n)`, to be called when n tiles are done."""
    per_tile = max(1, layers)
    total = per_tile * n_tiles
    done = [0]

    def layer() -> None:
        done[0] = min(done[0] + 1, total)
        on_step(done[0] / total)

    def tile_done(tiles: int) -> None:
        done[0] = tiles * per_tile
        if on_step:
            on_step(tiles / n_tiles)

    previous = getattr(_step, "hook", None)
    _step.hook = layer if on_step and layers else None
    try:
        yield tile_done
    finally:
        _step.hook = previous


def scaled(on_step, start: float, span: float):
    """`on_step` for one part of a job: fractions of the part mapped onto [start, start + span]."""
    if on_step is None:
        return None
    return lambda fraction: on_step(start + span * fraction)
