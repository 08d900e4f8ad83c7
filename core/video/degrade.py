"""A clip made into a test pair: the clip is treated as the clean truth and each frame degraded by the lab's one
degradation (core/quality/degrade.py, as the Metrics page's test pair: blur → downscale → noise → JPEG), so a
restoration of the degraded clip is scored against the truth. Frame i's noise is drawn from seed + i (fresh
noise on every frame, as a camera's; the same seed always gives the same clip). Streamed: a frame at a time."""
from __future__ import annotations

import dataclasses

from core.io.video import Clip
from core.quality.degrade import Degradation, make_pair


def degrade_clip(truth: Clip, d: Degradation) -> tuple[Clip, Clip]:
    """(degraded input, reference): the reference is the truth cut to a multiple of the scale (as make_pair
    cuts an image), the input that cut divided by `d.scale`; same frame count and timestamps as `truth`."""
    d.check()
    w, h = truth.info.width - truth.info.width % d.scale, truth.info.height - truth.info.height % d.scale
    if w < d.scale or h < d.scale:
        raise ValueError(f"{truth.info.name}: frames smaller than the downscale factor {d.scale}")

    def degraded():
        for frame in truth.frames():
            pair = make_pair(frame.pixels, dataclasses.replace(d, seed=d.seed + frame.index))
            yield dataclasses.replace(frame, pixels=pair.lr)

    steps = " → ".join(d.steps()) or "no change"
    lr_info = dataclasses.replace(truth.info, name=f"{truth.info.name} ({steps})", width=w // d.scale,
                                  height=h // d.scale)
    hr_info = dataclasses.replace(truth.info, name=f"{truth.info.name} (the truth, {w}×{h})", width=w, height=h,
                                  audio=False)
    lr = Clip(lr_info, degraded, truth.path)  # its audio, where it has one, copied from the truth's file
    hr = Clip(hr_info, lambda: (dataclasses.replace(f, pixels=f.pixels[:h, :w]) for f in truth.frames()))
    return lr, hr


def describe(d: Degradation) -> str:
    noise = f"; frame i's noise from seed {d.seed} + i" if d.noise_sigma > 0 else ""
    return " → ".join(d.steps()) + noise

