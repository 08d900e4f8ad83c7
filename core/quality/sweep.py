"""How scores move as one degradation knob moves: noise σ, JPEG quality or blur σ over a range, the other knobs
fixed, every step made by `degrade.make_pair` and scored by `scoring.score_methods` (so a step's point is a
plain scoring at that step). Each (image, step, method, scoring options) is cached in a mapping the caller
keeps, so re-running a step, or adding one method, runs only what is new."""
from __future__ import annotations

import dataclasses
import math
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.io.imageio import image_key
from core.methods.contract import OnStep
from core.pipeline.engine import Request
from core.pipeline.engine import run as run_request
from core.quality.degrade import Degradation, make_pair
from core.quality.metrics import Metric
from core.quality.scoring import Scored, StepGuard, entries, score_methods


@dataclass(frozen=True)
class Knob:
    name: str                  # the Degradation field it moves
    label: str
    unit: str
    steps: tuple[float, ...]   # the default range, in the order it is swept (mildest first)
    reverse: bool = False      # JPEG: a lower quality is a stronger degradation, so its axis runs right to left

    @property
    def axis_title(self) -> str:
        return f"{self.label} ({self.unit})" + (", stronger to the right" if not self.reverse else
                                                 ", stronger to the right (axis reversed)")


KNOBS = {k.name: k for k in [
    Knob("noise_sigma", "Gaussian noise σ", "on 0–255", (0, 6, 12, 18, 24, 30)),
    Knob("jpeg_quality", "JPEG quality", "1–100", (95, 80, 60, 40, 25, 10), reverse=True),
    Knob("blur_sigma", "Gaussian blur σ", "HR pixels", (0, 0.4, 0.8, 1.2, 1.6, 2.0)),
]}


@dataclass
class Series:
    method: str
    metric: Metric
    x: list[float]             # the knob's value at each step
    values: list[float]        # NaN where the method failed at that step (see Sweep.errors)


@dataclass
class Sweep:
    knob: Knob
    base: Degradation          # the fixed knobs; its value of the swept knob is the "default" point
    steps: list[Degradation]
    metrics: list[Metric]
    series: list[Series]       # one per method per measure, methods outermost
    pipelines: list[str]       # per step: how its pair was made
    default_index: int | None  # the step equal to `base`, or None when the range does not hold base's value
    fixed: str                 # the other knobs, in words
    cached_steps: int = 0      # method-steps answered from the cache, not run
    errors: list[str] = field(default_factory=list)

    def series_for(self, method: str, metric: str) -> Series:
        return next(s for s in self.series if s.method == method and s.metric.name == metric)


def steps_for(base: Degradation, knob: str, values: Sequence[float] | None = None) -> list[Degradation]:
    """`base` with the knob set to each value (the knob's default range if none given), each step checked."""
    if knob not in KNOBS:
        raise ValueError(f"unknown knob {knob!r}; choose one of {', '.join(KNOBS)}")
    kind = type(getattr(base, knob))
    steps = [dataclasses.replace(base, **{knob: kind(v)}) for v in (values if values is not None else
                                                                    KNOBS[knob].steps)]
    if not steps:
        raise ValueError("a sweep needs at least one step")
    for step in steps:
        step.check()
    return steps


def _fixed(base: Degradation, knob: str) -> str:
    others = dataclasses.replace(base, **{knob: type(getattr(base, knob))(0)})
    return ", ".join(others.steps()) or "nothing else"


def sweep(clean: np.ndarray, methods: Sequence[str | Request], knob: str, *, base: Degradation | None = None,
          values: Sequence[float] | None = None, metrics: list[str] | str | None = None, y_only: bool = False,
          crop_border: int | None = None, cache: MutableMapping | None = None,
          on_step: OnStep | None = None) -> Sweep:
    """Score `methods` on pairs made from `clean` (uint8/uint16) while `knob` takes `values` (default: the
    knob's range), the other knobs as in `base` (default: ×4 bicubic, nothing else). Methods given by name run
    at the base's scale. `on_step(fraction)` as the sweep advances; it may raise to cancel."""
    base = base or Degradation()
    steps = steps_for(base, knob, values)
    requests = [m if isinstance(m, Request) else Request.make(m, outscale=base.scale) for m in methods]
    border = base.scale if crop_border is None else crop_border
    chosen = entries(metrics, has_reference=True)
    options = (y_only, border, tuple(m.name for m in chosen))
    source = image_key(clean)
    cache = {} if cache is None else cache
    rows: dict[tuple[int, int], Scored] = {}
    result = Sweep(KNOBS[knob], base, steps, chosen, [], [], next((i for i, s in enumerate(steps) if s == base), None),
                   _fixed(base, knob))
    total = len(steps) * len(requests)
    guard = StepGuard(on_step)
    for i, step in enumerate(steps):
        pair = make_pair(clean, step)
        result.pipelines.append(pair.pipeline())
        todo = []
        for j, request in enumerate(requests):
            hit = cache.get((source, step, request, options))
            if hit is not None:
                rows[i, j] = hit
                result.cached_steps += 1
            else:
                todo.append(j)
        if todo:
            done_before = i * len(requests) + len(requests) - len(todo)
            table = score_methods(pair.lr, pair.hr, [requests[j] for j in todo],
                                  runner=_runner(guard, done_before, total), y_only=y_only, crop_border=border,
                                  metrics=[m.name for m in chosen])
            guard.check()
            by_method = {r.method: r for r in table.rows}
            result.errors += [f"{step_label(result.knob, step)}: {e}" for e in table.errors]
            for j in todo:
                if (row := by_method.get(requests[j].method)) is not None:
                    rows[i, j] = cache[(source, step, requests[j], options)] = row
        guard((i + 1) * len(requests) / total)
    x = [float(getattr(s, knob)) for s in steps]
    for j, request in enumerate(requests):
        for m in chosen:
            result.series.append(Series(request.method, m, x, [
                rows[i, j].values[m.name] if (i, j) in rows else math.nan for i in range(len(steps))]))
    return result


def step_label(knob: Knob, step: Degradation) -> str:
    return f"{knob.label} {getattr(step, knob.name):g}"


def _runner(guard: StepGuard, done_before: int, total: int):
    """The engine's run with `on_step` mapped onto this sweep's share; a raise from it cancels the sweep."""
    count = [done_before]

    def run(request: Request, image):
        start = count[0]
        count[0] += 1
        return run_request(image, request, on_step=lambda f: guard((start + f) / total))

    return run
