"""An enhance job: a request checked when it was submitted, planned once here (measuring this machine first if it
never ran this network), run here or on the Ray cluster, then kept in the shared results with its PNG and its
no-reference measures. `run_one` is the same for one request inside a job of several (a scoring)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from core.io.imageio import LoadedImage, encode_png
from core.methods import is_network
from core.pipeline import engine
from core.pipeline.engine import Checked, EnhanceResult, Request
from core.quality.metrics import indicators
from core.runtime.backends import is_built
from core.serve import shared, timing
from core.serve.tasks import Task

RAY_POLL_S = 0.5  # how often a job waiting on the cluster reports (it has no per-layer progress from there)
DESCRIBED_AT_ONCE_PIXELS = 1_000_000  # input and result together: ~1.5 s of no-reference measures on 2 cores


def described_at_once(*pixels: np.ndarray) -> bool:
    """Whether these images are small enough to measure without asking (else the page offers a Measure button)."""
    return sum(p.shape[0] * p.shape[1] for p in pixels) <= DESCRIBED_AT_ONCE_PIXELS


@dataclass(frozen=True)
class SoFar:
    """A running enhance job's result part-way (NetworkMethod.upscale's on_partial): the picture at the network's
    scale, RGB uint8, the unfinished area its bicubic stand-in dimmed; the stand-in; the share the network has
    drawn; tiles done of all."""
    picture: np.ndarray
    stand_in: np.ndarray
    share: float
    done: int
    tiles: int


def enhance(checked: Checked, own: Mapping | None, label: str) -> Task[Request]:
    """The job of one request, checked by `engine.check_request` when it was submitted (a wrong one never
    queues) and planned once, by the job: planning may measure this machine first and loads torch (seconds), which
    a page run must not wait for (a click or page switch in that time would stop the run that submits). Its
    result is the request; the pixels live in `shared.results()`, bounded by bytes."""
    request = checked.request

    def work(ctx) -> Request:
        def measuring(fraction: float) -> None:
            ctx.step(fraction, f"getting ready: timing the ways this computer can run {request.method} (only the "
                               "first time it runs here)")

        prepared = engine.plan_checked(checked, on_step=measuring, live=True)
        ctx.expect(prepared.plan.expected_s)
        loads = is_network(prepared.method) and not is_built(prepared.method, prepared.plan.backend)
        ctx.step(0.0, f"starting {request.method}" + (" (its first job in this server also loads it)" if loads else ""))
        # SRLAB_TIMING_LOG: one record per run of a request (a joined request runs once), with its wait in line
        with timing.timed("job", method=request.method, request=f"{hash(request):x}", job_id=ctx.job_id,
                          waited_s=round(ctx.waited_s, 3)):
            result = _run(ctx, prepared, own)
        ctx.step(1.0, "encoding the result")
        png = encode_png(result.pixels)
        if described_at_once(prepared.pixels, result.pixels):  # the input as the request cropped it, the result
            ctx.step(1.0, "describing the result (no-reference measures)")
            shared.descriptions().put(request, [indicators(prepared.pixels), indicators(result.pixels)])
        # last: any page run that finds the result (a click, a page switch) finds its measures made
        shared.results().put(request, (result, png))
        return request

    return Task("enhance", label, work, key=("enhance", request))


def _run(ctx, prepared: engine.Prepared, own: Mapping | None) -> EnhanceResult:
    on_ray, _ = shared.cluster()
    if on_ray:
        from core.serve import distributed

        def on_wait(elapsed: float) -> None:  # no per-layer progress from a remote worker
            expected = prepared.plan.expected_s
            ctx.step(min(0.95, elapsed / expected) if expected else 0.0, "running on the cluster")

        return distributed.wait_result(distributed.submit(prepared.loaded, prepared.request, own or None),
                                       RAY_POLL_S, on_wait)
    running = f"running on {prepared.plan.label}"
    tiles_done = [0]

    def on_partial(picture: np.ndarray, stand_in: np.ndarray, share: float) -> None:  # drawn as tiles land
        tiles_done[0] += 1
        ctx.note(so_far=SoFar(picture, stand_in, share, tiles_done[0], prepared.plan.tiles))

    try:
        return engine.execute(prepared, on_step=lambda f: ctx.step(f, running), on_partial=on_partial)
    finally:  # a finished job is kept a while: not its pictures so far
        ctx.drop("so_far")


def run_one(ctx, request: Request, image: LoadedImage, own: Mapping | None, start: float = 0.0,
            span: float = 1.0) -> tuple[EnhanceResult, bytes]:
    """One request inside a job of several: (result, PNG) from the shared results, else run here and kept there;
    its progress mapped onto [start, start + span] of the job."""
    if (hit := shared.results().get(request)) is not None:
        return hit
    ready = f"{request.method}: getting ready (timing this computer, only the first time)"
    prepared = engine.prepare(image, request, own=own, on_step=lambda f: ctx.step(start, ready))
    result = engine.execute(prepared, on_step=lambda f: ctx.step(start + span * f, request.method))
    done = (result, encode_png(result.pixels))
    shared.results().put(request, done)
    return done
