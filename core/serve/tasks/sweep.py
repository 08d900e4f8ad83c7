"""A sweep job: core.quality.sweep as one degradation knob moves; `cache` (a session's) keeps steps already run."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from core.io.imageio import image_key
from core.serve.tasks import Task

if TYPE_CHECKING:
    from core.quality.sweep import Sweep


def sweep(clean: np.ndarray, methods: list[str], knob: str, base, measures: list[str], y_only: bool,
          crop_border: int, cache: dict | None = None) -> Task[Sweep]:
    from core.quality.sweep import KNOBS
    from core.quality.sweep import sweep as run_sweep

    def work(ctx):
        return run_sweep(clean, methods, knob, base=base, metrics=measures, y_only=y_only, crop_border=crop_border,
                         cache=cache, on_step=ctx.step)

    return Task("sweep", f"Sweep over {KNOBS[knob].label}", work,
                key=("sweep", image_key(clean), tuple(methods), knob, base, tuple(measures), y_only, crop_border))
