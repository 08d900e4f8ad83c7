"""A clip through one method, a frame at a time. A method that consumes frames (every image method) runs each
frame through core.pipeline.engine with one plan for the clip (backend, tile, bf16 as for an image: the request
is checked and planned once, on the first frame); a method that consumes a sequence (a video network) gets the
stream and yields frames as its windows finish (core/methods/sequence.py). Any scale: the network's ×native,
then a Lanczos resize, said in `ClipRun.how`."""
from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from core import settings
from core.io.imageio import LoadedImage
from core.io.pixels import to_float, to_uint8
from core.io.video import Clip, Frame
from core.methods import as_sequence, for_clips
from core.methods.contract import Method, OnStep, SequenceMethod
from core.pipeline import engine
from core.pipeline.engine import EnhanceError, Request


@dataclass
class ClipRun:
    """What was done to a clip, in words and numbers."""
    method: str
    how: str = ""
    backend: str = ""
    consumes: str = "frame"
    size: tuple[int, int] = (0, 0)
    frames: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def what_ran(method: str, outscale: float | None = None, own: Mapping[str, Method] | None = None) -> str:
    """A few words that tell a network's own output from a resize: "video network ×4", "network ×4 per frame",
    "network ×4, then resized to ×2", "classical ×4 per frame"."""
    spec = for_clips(method, own)
    n = spec.native_scale
    scale = outscale or n or 4
    if n is None:
        return f"classical ×{scale:g} per frame"
    kind, each = ("video network", "") if as_sequence(spec) else ("network", " per frame")
    return f"{kind} ×{n}{each}" + ("" if abs(scale - n) < 1e-9 else f", then resized to ×{scale:g}")


def process(clip: Clip, method: str, *, outscale: float | None = None, backend: str = "auto", tile: int = 0,
            params: dict | None = None, own: Mapping[str, Method] | None = None, record: ClipRun | None = None,
            on_frame: Callable[[int], None] | None = None,
            on_step: OnStep | None = None) -> Iterator[tuple[Frame, np.ndarray]]:
    """(input frame, output RGB uint8) for every frame, in order. `record` is filled as it goes. `on_frame(done)`
    after each output frame and `on_step(fraction)` inside one — between a network's layers: of the frame (an
    image method, and its backend measurement on a first run) or of the window (a video network) — may raise to
    cancel, so a clip stops as quickly as an image does."""
    spec = for_clips(method, own)
    scale = outscale or spec.native_scale or 4
    record = record if record is not None else ClipRun(method)
    record.method, record.consumes = method, spec.consumes
    start = time.perf_counter()
    sequence = as_sequence(spec)
    frames = (_frames_through_sequence(clip, sequence, method, scale, backend, tile, own, record, on_step) if sequence
              else _frames_through_engine(clip, spec, method, scale, backend, tile, params, own, record, on_step))
    for frame, out in frames:
        record.frames += 1
        record.seconds = time.perf_counter() - start
        yield frame, out
        if on_frame:
            on_frame(record.frames)


def _frames_through_engine(clip, spec, method, scale, backend, tile, params, own, record, on_step):
    request = Request.make(method, outscale=scale, backend=backend, tile=tile, params=params)
    job = None
    for frame in clip.frames():
        if job is None:
            job = engine.prepare(frame.pixels, request, own=own, on_step=on_step)
            record.size, record.backend = job.size, job.plan.label
        else:
            loaded = LoadedImage(frame.pixels)
            job = dataclasses.replace(job, loaded=loaded, pixels=frame.pixels)
        result = engine.execute(job, on_step=on_step)
        if not record.how:
            record.how = f"{result.stats.summary}, each frame alone"
        yield frame, result.pixels


def check_clip(method: str, width: int, height: int, outscale: float | None = None, *, backend: str = "auto",
               params: dict | None = None, own: Mapping[str, Method] | None = None) -> tuple[int, int]:
    """The one check of a clip's request on width×height frames, before anything runs (the Video page when it
    submits, and the job on its first frame): an image method's as for an image (engine.check); a video
    network's scale and the output limit, its whole ×native frames included (it is not tiled, so they are held).
    The output frame size, or an EnhanceError naming the method."""
    spec = for_clips(method, own)
    scale = outscale or spec.native_scale or 4
    if as_sequence(spec) is None:
        request = Request.make(method, outscale=scale, backend=backend, params=params)
        try:
            _, size, _ = engine.check(request, width, height, {method: spec})
        except EnhanceError as exc:
            raise EnhanceError(f"{method} on {width}×{height} frames: {exc}") from None
        return size
    size = engine.target_size(width, height, scale)
    if not (engine.MIN_OUTSCALE <= scale <= engine.MAX_OUTSCALE):
        raise EnhanceError(f"{method}: scale {scale:g} is out of range ({engine.MIN_OUTSCALE:g}…"
                           f"{engine.MAX_OUTSCALE:g})")
    limit = settings.current().max_output_pixels
    if size[0] * size[1] > limit or width * height * spec.native_scale ** 2 > limit:
        raise EnhanceError(f"{method}: {width}×{height} frames at ×{spec.native_scale} are over the output limit "
                           "(SRLAB_MAX_OUTPUT_PIXELS): choose smaller frames")
    return size


def _frames_through_sequence(clip, spec: SequenceMethod, method, scale, backend, tile, own, record, on_step):
    w, h = clip.info.width, clip.info.height
    size = check_clip(method, w, h, scale, own=own)
    try:
        plan = spec.plan(h, w, tile, backend)
    except ValueError as exc:
        raise EnhanceError(str(exc)) from None
    resize = spec.resize_words((w, h), size)
    record.size, record.backend = size, plan.label
    record.how = (f"{spec.name} video network ×{spec.native_scale} over the sequence (windows of {spec.window} "
                  f"frames, {spec.overlap} dropped at each inner edge)")
    record.how += "" if resize == "none" else f", then {resize}"
    waiting: deque[Frame] = deque()  # the frames in the network's window: their timestamps pair the outputs

    def floats():
        for frame in clip.frames():
            waiting.append(dataclasses.replace(frame, pixels=np.empty(0, np.uint8)))  # timestamps only
            yield to_float(frame.pixels)

    for out in spec.upscale_sequence(floats(), size, on_step=on_step):
        yield waiting.popleft(), to_uint8(out)
