"""Try every network on one crop, within a time budget, and rank them: the answer "for this image, at this
scale, on this computer".

Networks run fastest first, by this machine's calibration (`method.plan(h, w).expected_s`); networks this
machine has not measured run after them (their first run measures the backends first, which the budget's
clock counts but their time does not). Before its timed run each network loads and runs once on a 32-pixel
corner of the crop (weights, backend set-up, first-call costs): that is its `setup_s`, not its time on the crop.
A network is started only while the time spent so far plus its
expected time fits the budget; the ones that did not fit are listed with their expected times, never dropped.
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from core.methods import METHODS, networks
from core.methods.contract import Method, OnStep
from core.pipeline.engine import Request
from core.pipeline.engine import run as run_request
from core.quality.metrics import METRICS, Metric
from core.quality.scoring import Scores, StepGuard, entries, score_methods
from core.runtime import calibrate
from core.runtime.tiling import tiled_area

QUESTION = "for this image, at this scale, on this computer"
NETWORK_SETS = ("native", "all", "family")
DEFAULT_MEASURE = {True: "psnr_db", False: "niqe"}  # with a reference / without
UNMEASURED = ("not measured on this machine yet: run after the measured ones, in catalogue order, each started "
              "while any budget is left (its time is unknown, so the last one may overrun the budget by its own "
              "time); its first run measures its backends first, counted by the budget's clock, not in its time")
NO_REFERENCE = ("no true reference: ranked by a no-reference measure, which describes how an image looks, not "
                "whether it is right; a network that invents plausible detail can rank first")
WARM_UP = 32  # px: the corner each network runs on first, untimed
EXTRAPOLATION = ("full-image time = this crop's seconds per input pixel processed (tile overlaps included) × the "
                 "input pixels the full image's tiles process, tiles from the plan for the full size on the same "
                 "backend; a small crop's fixed per-call cost makes it an overestimate")


@dataclass
class Row:
    name: str
    family: str
    seconds: float                  # the method's run on this crop (set-up, plan and calibration excluded)
    setup_s: float                  # loading and a first run on a 32-px corner, before the timed run
    expected_s: float | None        # what the calibration expected for this crop (None: not measured)
    full_seconds: float             # extrapolated to the full image (see Ranking.extrapolation)
    full_tiles: int                 # tiles the full image would run in
    full_expected_s: float | None   # the calibration's own expectation for the full image
    scores: dict[str, float]
    what: str                       # what was done, in one sentence
    backend: str


@dataclass
class Skipped:
    name: str
    family: str
    expected_s: float | None        # for this crop; None: not measured on this machine
    why: str


@dataclass
class Ranking:
    question: str
    scale: int
    crop_size: tuple[int, int]      # width, height of the input crop
    full_size: tuple[int, int]      # width, height of the whole input image
    measure: Metric                 # what the rows are ranked by
    metrics: list[Metric]           # every score in the rows
    reference: bool
    rows: list[Row]                 # best first by `measure`; NaN last; ties by time
    skipped: list[Skipped]          # did not fit the budget, slowest expected last
    budget_s: float
    spent_s: float                  # wall time of the whole ranking (runs, scoring, any calibration)
    caveat: str = ""                # non-empty without a reference
    extrapolation: str = EXTRAPOLATION
    assumption: str = ""            # how unmeasured networks were ordered, when there were any
    run_order: list[str] = field(default_factory=list)  # the ones started, in order: fastest expected first
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    outputs: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # each network's result on the crop


def network_set(which: str, scale: int, family: str | None = None) -> list[str]:
    """Names of the built-in networks to try: "native" (native scale == `scale`), "all", or "family" (one
    family, e.g. "Real-ESRGAN", at any native scale)."""
    if which not in NETWORK_SETS:
        raise ValueError(f"network set {which!r}: choose one of {', '.join(NETWORK_SETS)}")
    pool = networks()
    if which == "native":
        return [n.name for n in pool if n.native_scale == scale]
    if which == "family":
        families = list(dict.fromkeys(n.family for n in pool))
        if family not in families:
            raise ValueError(f"unknown family {family!r}; choose one of {', '.join(families)}")
        return [n.name for n in pool if n.family == family]
    return [n.name for n in pool]


def expected_time(method: Method, height: int, width: int) -> float | None:
    """This machine's expected seconds for `method` on a height×width input, or None when it has not been
    measured here (then nothing is measured now: `plan()` would calibrate)."""
    if calibrate.measured(method) is None:
        return None
    return method.plan(height, width).expected_s


def rank_key(measure: Metric):
    """Best first by `measure`, NaN (n/a) last, ties by the faster."""
    def key(row: Row):
        value = row.scores[measure.name]
        return (math.isnan(value), -value if measure.higher_is_better else value, row.seconds)
    return key


def _measure(name: str | None, has_reference: bool, notes: list[str]) -> Metric:
    if name is None:
        return METRICS.get(DEFAULT_MEASURE[has_reference])
    chosen = METRICS.get(name)
    if chosen.higher_is_better is None:
        raise ValueError(f"{chosen.label} describes an image without a better direction: it cannot rank")
    if chosen.full_reference and not has_reference:
        fallback = METRICS.get(DEFAULT_MEASURE[False])
        notes.append(f"{chosen.label} needs a true reference: ranked by {fallback.label} instead")
        return fallback
    return chosen


def _full_time(method: Method, row_seconds: float, backend: str, crop: tuple[int, int], full: tuple[int, int]
               ) -> tuple[float, int, float | None]:
    """(extrapolated seconds, tiles, the calibration's expectation) for the full image; see EXTRAPOLATION."""
    (cw, ch), (fw, fh) = crop, full
    on_crop = method.plan(ch, cw, backend=backend) if backend else method.plan(ch, cw)
    on_full = method.plan(fh, fw, backend=backend) if backend else method.plan(fh, fw)
    per_pixel = row_seconds / tiled_area(ch, cw, on_crop.tile)
    return per_pixel * tiled_area(fh, fw, on_full.tile), on_full.tiles, on_full.expected_s


def try_networks(crop: np.ndarray, scale: int, names: Sequence[str], *, reference: np.ndarray | None = None,
                 budget_s: float = 60.0, measure: str | None = None, full_size: tuple[int, int] | None = None,
                 metrics: list[str] | str | None = None, y_only: bool = False, crop_border: int | None = None,
                 on_step: OnStep | None = None) -> Ranking:
    """Run the networks `names` (see `network_set`) on `crop` (uint8/uint16) at ×`scale`, fastest first, within
    `budget_s` seconds, and rank them by `measure` (default PSNR with a `reference` — the true image for this
    crop at ×scale —, NIQE without). `full_size` (width, height; default the crop's) is what the times are
    extrapolated to. `on_step(fraction)` as it goes; it may raise to cancel."""
    start = time.perf_counter()
    has_ref = reference is not None
    notes: list[str] = []
    rank_by = _measure(measure, has_ref, notes)
    chosen = entries(metrics, has_ref)
    if rank_by not in chosen:
        chosen.append(rank_by)
    h, w = crop.shape[:2]
    full = full_size or (w, h)
    methods = [METHODS.get(n) for n in dict.fromkeys(names)]
    if not methods:
        raise ValueError("no network to try")
    expected = {m.name: expected_time(m, h, w) for m in methods}
    measured = sorted((m for m in methods if expected[m.name] is not None), key=lambda m: expected[m.name])
    order = measured + [m for m in methods if expected[m.name] is None]
    guard = StepGuard(on_step)
    table = Scores(chosen, has_ref)
    skipped: list[Skipped] = []
    rows: list[Row] = []
    outputs: dict[str, np.ndarray] = {}
    known = [t for t in expected.values() if t is not None]
    weight = {n: t if t is not None else (sum(known) / len(known) if known else 1.0) for n, t in expected.items()}

    done_w = [0.0]  # the expected seconds of the networks run so far
    took = [0.0, 0.0]  # the measured networks run so far: their seconds expected, and those they really took

    def progress(i: int, f: float) -> float:
        """The share of the whole done, in this machine's expected seconds (their ratios hold on a busy machine
        too): those of the networks run, and `f` of this one's, over those plus the ones still to run that fit
        what is left of the budget. Counting networks sat at 90 % while the slowest, run last, took most of the
        time."""
        clock, left = time.perf_counter() - start, 0.0
        for m in order[i:]:
            if m is order[i] or clock + weight[m.name] <= budget_s:
                left += weight[m.name]
                clock += weight[m.name]
        total = done_w[0] + left
        return (done_w[0] + f * weight[order[i].name]) / total if total > 0 else 0.0

    shown = [0.0]

    def step(i: int, f: float) -> None:
        shown[0] = max(shown[0], min(progress(i, f), 0.99))  # never backwards
        guard(shown[0])

    for i, method in enumerate(order):
        spent = time.perf_counter() - start
        need = expected[method.name]
        # the machine as busy as it is now (a class server): the measurement stretched by the pace seen so far
        slower = max(1.0, took[1] / took[0]) if took[0] > 0 else 1.0
        if spent + (need or 0.0) * slower > budget_s or (need is None and spent >= budget_s):
            busy = f" × {slower:.1f} (this machine is slower now than when it was measured)" if slower > 1.05 else ""
            skipped.append(Skipped(method.name, method.family, need,
                                   f"{spent:.1f} s spent + {need:.2f} s expected{busy} > the {budget_s:g} s budget"
                                   if need is not None else f"not measured, and the {budget_s:g} s budget was spent"))
            continue
        request = Request.make(method.name, outscale=scale)
        setup = time.perf_counter()
        try:
            run_request(crop[:WARM_UP, :WARM_UP], request, on_step=lambda f, i=i: step(i, 0.1 * f))
        except Exception:
            guard.check()  # a cancel; any other failure shows again in the scored run below
        setup_s = time.perf_counter() - setup

        def run(req, image, i=i):
            result = run_request(image, req, on_step=lambda f: step(i, 0.1 + 0.9 * f))
            outputs[req.method] = result.pixels
            return result

        one = score_methods(crop, reference, [request], runner=run, y_only=y_only,
                            crop_border=scale if crop_border is None else crop_border, metrics=[m.name for m in chosen])
        guard.check()
        done_w[0] += weight[method.name]
        if need is not None and one.rows:  # (its own run, not the warm-up: that may load the network)
            took[0], took[1] = took[0] + need, took[1] + one.rows[0].seconds
        table.notes = one.notes or table.notes
        table.errors += one.errors
        for scored in one.rows:
            plan = method.plan(h, w)
            full_s, tiles, full_expected = _full_time(method, scored.seconds, plan.backend, (w, h), full)
            rows.append(Row(method.name, method.family, scored.seconds, setup_s, need, full_s, tiles, full_expected,
                            scored.values, scored.what, plan.label))
        if i + 1 < len(order):
            step(i + 1, 0.0)
    guard(1.0)
    rows.sort(key=rank_key(rank_by))
    left_out = {k.name for k in skipped}
    return Ranking(QUESTION, scale, (w, h), full, rank_by, chosen, has_ref, rows, skipped, budget_s,
                   time.perf_counter() - start, caveat="" if has_ref else NO_REFERENCE,
                   assumption=UNMEASURED if len(measured) < len(methods) else "",
                   run_order=[m.name for m in order if m.name not in left_out],
                   errors=table.errors, notes=notes + table.notes, outputs=outputs)
