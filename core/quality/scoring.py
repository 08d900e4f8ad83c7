"""Score a set of methods on one input: against the true reference when there is one, else with no-reference
measures. The one scorer behind the bench CLI and the Metrics page; columns, formats and "best" come from
the metric entries."""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from core.io.imageio import LoadedImage
from core.pipeline.engine import Cancelled, EnhanceResult, Request
from core.pipeline.engine import run as run_request
from core.quality.metrics import METRICS, Metric, SizeMismatch, chosen, indicators, score

Runner = Callable[[Request, LoadedImage], EnhanceResult]


@dataclass
class Scored:
    method: str
    kind: str
    values: dict[str, float]
    seconds: float
    what: str
    size: tuple[int, int]  # width, height of the output


@dataclass
class Scores:
    metrics: list[Metric]
    reference: bool
    rows: list[Scored] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    input_values: dict[str, float] = field(default_factory=dict)  # no-reference measures of the input

    def best(self, metric: Metric) -> str | None:
        return metric.best({r.method: r.values[metric.name] for r in self.rows})

    def records(self) -> list[dict]:
        """One flat dict per method (for tables and CSV): method, kind, every metric, seconds, what was done."""
        return [{"method": r.method, "kind": r.kind, **r.values, "seconds": r.seconds,
                 "output": f"{r.size[0]}×{r.size[1]}", "what": r.what} for r in self.rows]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["method", "kind", *[m.name for m in self.metrics], "seconds",
                                                 "output", "what"])
        writer.writeheader()
        for rec in self.records():
            writer.writerow({k: csv_number(v) for k, v in rec.items()})
        return out.getvalue()


def csv_number(value):
    """Floats to 6 significant digits for CSV; NaN ("n/a": under a measure's minimum size) as an empty cell."""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return value


class StepGuard:
    """An `on_step` callback that keeps what it raised, so a caller of `score_methods` (which reports a failing
    method and goes on with the others) can raise it again: a cancel is never taken for a failed method."""

    def __init__(self, on_step: Callable[[float], None] | None):
        self.on_step, self.raised = on_step, None

    def __call__(self, fraction: float) -> None:
        if self.on_step is None:
            return
        try:
            self.on_step(fraction)
        except BaseException as exc:
            self.raised = exc
            raise

    def check(self) -> None:
        if self.raised is not None:
            raise self.raised


def default_runner(request: Request, image: LoadedImage) -> EnhanceResult:
    return run_request(image, request)


def entries(names: list[str] | str | None, has_reference: bool) -> list[Metric]:
    """The metrics to report: None = the defaults for the case, "all" = every one that applies; full-reference
    names are dropped when there is no reference (nothing true to compare with)."""
    if names is None:
        return chosen(None, full_reference=has_reference)
    picked = list(METRICS) if names == "all" else [METRICS.get(n) for n in names]
    return [m for m in picked if has_reference or not m.full_reference]


def measure(output: np.ndarray, reference: np.ndarray | None, metrics: list[Metric], *, y_only: bool = False,
            crop_border: int = 0, size_policy: str = "crop") -> tuple[dict[str, float], list[str]]:
    """Full-reference entries against `reference`, no-reference entries on `output` alone."""
    full = [m.name for m in metrics if m.full_reference]
    values, notes = ({}, [])
    if full:
        values, notes = score(output, reference, y_only=y_only, crop_border=crop_border, size_policy=size_policy,
                              metrics=full)
    values.update(indicators(output, [m.name for m in metrics if not m.full_reference]))
    return {m.name: values[m.name] for m in metrics}, notes


def score_methods(lr: np.ndarray, reference: np.ndarray | None, requests: list[Request], *,
                  runner: Runner = default_runner, y_only: bool = False, crop_border: int = 0,
                  size_policy: str = "crop", metrics: list[str] | str | None = None) -> Scores:
    """Run each request on `lr` and score it. A method that fails, or whose output cannot be compared, is
    reported in `errors` and the others go on."""
    has_ref = reference is not None
    table = Scores(entries(metrics, has_ref), has_ref)
    table.input_values = indicators(lr, [m.name for m in table.metrics if not m.full_reference])
    image = LoadedImage(lr)
    for request in requests:
        try:
            result = runner(request, image)
            values, notes = measure(result.pixels, reference, table.metrics, y_only=y_only,
                                    crop_border=crop_border, size_policy=size_policy)
            table.notes = notes or table.notes
        except Cancelled:
            raise
        except SizeMismatch as exc:
            table.errors.append(f"{request.method}: {exc}")
            continue
        except Exception as exc:  # one bad method must not lose the others' scores
            table.errors.append(f"{request.method} failed: {exc}")
            continue
        h, w = result.pixels.shape[:2]
        table.rows.append(Scored(request.method, result.stats.kind, values,
                                 result.stats.elapsed_s, result.stats.summary, (w, h)))
    return table


@dataclass
class ImageRun:
    """One input scored, with what a handout shows of it: the outputs kept by method name."""
    name: str
    lr: np.ndarray
    reference: np.ndarray | None
    pipeline: str                   # how the input was made (a degradation's steps), or where it came from
    scores: Scores
    requests: list[Request]
    outputs: dict[str, np.ndarray] = field(default_factory=dict)


def score_and_keep(name: str, lr: np.ndarray, reference: np.ndarray | None, requests: list[Request], pipeline: str,
                   *, keep: bool = True, runner: Runner = default_runner, **options) -> ImageRun:
    """`score_methods` (same `options`), keeping each method's output pixels when `keep`."""
    outputs: dict[str, np.ndarray] = {}

    def keeping(request: Request, image: LoadedImage) -> EnhanceResult:
        result = runner(request, image)
        if keep:
            outputs[request.method] = result.pixels
        return result

    table = score_methods(lr, reference, requests, runner=keeping, **options)
    return ImageRun(name, lr, reference, pipeline, table, list(requests),
                    {r.method: outputs[r.method] for r in table.rows if r.method in outputs})


def mean_over(rows: list[Scored], metric: Metric) -> float:
    """Mean of the finite-or-infinite values (NaN, "n/a", left out; NaN if none)."""
    values = [r.values[metric.name] for r in rows if not math.isnan(r.values[metric.name])]
    return math.fsum(values) / len(values) if values else math.nan
