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


def mean_over(rows: list[Scored], metric: Metric) -> float:
    """Mean of the finite-or-infinite values (NaN, "n/a", left out; NaN if none)."""
    values = [r.values[metric.name] for r in rows if not math.isnan(r.values[metric.name])]
    return math.fsum(values) / len(values) if values else math.nan
