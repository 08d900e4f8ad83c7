"""Local attribution maps: which input pixels a method used to draw one small window of its output (Gu & Dong,
"Interpreting Super-Resolution Networks with Local Attribution Maps", CVPR 2021), and how far they spread
(the Diffusion Index). For every method with a differentiable torch forward (`Method.torch_forward`: the torch
networks of the catalogue, a user's or a trained model, the classical linear resizes as torch ops).

Followed from the authors' code (X-Lowlevel-Vision/LAM_Demo, `SaliencyModel/BackProp.py` and `utils.py`):

- objective (`attr_grad`): the output's gradient magnitude, sqrt(dy² + dx²) of forward differences per channel,
  summed over a window of `size`×`size` output pixels at (x, y) and over the channels;
- path (`GaussianBlurPath`): from the input blurred by an isotropic Gaussian of σ = `sigma` (a 9×9 kernel, their
  `l`; σ + 1e-5 in the exponent, so σ = 0 is the input itself) to the input, σ falling linearly over `steps`
  steps; at step i the blurred image with σ_{i+1} and its derivative along the path (kernel_{i+1} − kernel_i)·steps,
  both by `cv2.filter2D` (reflect-101 edges), as theirs;
- map (`Path_gradient` + `saliency_map_PG`): the mean over the steps of gradient × path derivative, i.e. the
  right Riemann sum of the path integral, so the map sums to ≈ F(input) − F(blurred input) (integrated
  gradients' completeness; `Attribution.completeness_gap` says how close at these steps). A NaN in a gradient
  is set to 0, as theirs; a window pixel with exactly zero gradient magnitude passes no gradient (sqrt's
  derivative at 0 taken as 0) rather than a NaN;
- Diffusion Index (`grad_abs_norm`, `gini`): the map's |sum over channels| divided by (its maximum + 1e-5), its
  Gini coefficient G (values + 1e-7, sorted), DI = (1 − G) × 100: 0 when one pixel holds everything, larger
  when the network draws on a wider area. The Gini is over the pixels of the region the map covers, so DIs
  compare at the same region size (64×64 input px by default, the size of the paper's test inputs).

Defaults, from the authors' demo notebook (`window_size = 16`, `sigma = 1.2 ; fold = 50 ; l = 9`): a window of
16 output px, 50 path steps, σ = 1.2 at the blurred end, kernel 9×9. Blur is offered up to σ = 10 on the same
9×9 kernel (past σ ≈ 3 that kernel is close to a 9×9 box).

The job (`attribute`) is a plain function of a request, the image's pixels and a context with
`step(fraction, message)` (the job service's, or any object with that method): progress after every path step,
and between the layers of a step too (autograd's saved-tensor hooks call it), so Cancel stops a step mid-way.
"""
from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Protocol

import cv2
import numpy as np

from core.io.pixels import centred, to_float, to_uint8
from core.methods import lookup
from core.methods.contract import Method, NotAttributable, TorchForward

LAM_STEPS = 50           # LAM demo: fold = 50 (the benches' figures, beside the paper's)
DEFAULT_STEPS = 16       # a map's first pass; refined (×2, reusing every point) while its gap is over REFINE_GAP
REFINE_GAP = 0.05        # completeness gap a refined map aims at
ROUGH_GAP = 0.10         # over this the map is said to be rough
REFINE_BUDGET_S = 30.0   # a method's map is refined only while its next pass fits this, at the pace seen now
MAX_REFINED_STEPS = 128
DEFAULT_SIGMA = 1.2      # LAM demo: sigma = 1.2
KERNEL_SIZE = 9          # LAM demo: l = 9
DEFAULT_WINDOW = 16      # LAM demo: window_size = 16 (output px)
DEFAULT_CONTEXT = 64     # input px around the window the map covers (the paper's test inputs: 64×64 LR)
STEPS_RANGE = (2, 200)
SIGMA_RANGE = (0.1, 10.0)
WINDOW_RANGE = (4, 64)
CONTEXT_RANGE = (16, 256)
MAX_METHODS = 4
GRAD_BUDGET_BYTES = 1_000_000_000  # gradients of one batch of path steps (RealESRGAN_x4plus at 64²: 1 step)
MAX_BATCH = 16
REACH_SHARE = 0.9        # the sentence's "reach": the radius holding this share of the map


class AttributionError(ValueError):
    """A request that cannot be run, in one line for the user."""


class Steps(Protocol):
    def step(self, fraction: float, message: str | None = None) -> None: ...


@dataclass(frozen=True)
class AttributionRequest:
    """What to attribute: `window` = (x, y, size) in output pixels of the whole image at ×`scale`; the map covers
    a `context`×`context` input region centred on the window (clamped inside the image)."""
    methods: tuple[str, ...]
    window: tuple[int, int, int]
    scale: int = 4
    steps: int = DEFAULT_STEPS              # the first pass's path steps
    sigma: float = DEFAULT_SIGMA
    context: int = DEFAULT_CONTEXT
    image_key: str = ""
    refine: bool = True                     # double the steps while the gap is over REFINE_GAP and time allows

    def region(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(x, y, w, h) of the input the map covers."""
        x, y, size = self.window
        w, h = min(self.context, width), min(self.context, height)
        cx, cy = (x + size / 2) / self.scale, (y + size / 2) / self.scale
        return centred(cx, w, width), centred(cy, h, height), w, h

    def local_window(self, width: int, height: int) -> tuple[int, int, int]:
        """The window in output pixels of the region's output."""
        rx, ry, _, _ = self.region(width, height)
        x, y, size = self.window
        return x - rx * self.scale, y - ry * self.scale, size

    def check(self, width: int, height: int, own: Mapping[str, Method] | None = None) -> list[Method]:
        """Every method found and attributable, the numbers in range, the window inside the image and the region;
        else one line (AttributionError, NotAttributable, UnknownName)."""
        if not self.methods:
            raise AttributionError("choose at least one method")
        if len(self.methods) > MAX_METHODS:
            raise AttributionError(f"at most {MAX_METHODS} methods at once ({len(self.methods)} chosen)")
        for label, value, (lo, hi) in (("steps", self.steps, STEPS_RANGE), ("blur σ", self.sigma, SIGMA_RANGE),
                                       ("window size", self.window[2], WINDOW_RANGE),
                                       ("region side", self.context, CONTEXT_RANGE)):
            if not lo <= value <= hi:
                raise AttributionError(f"{label} {value:g} is outside {lo:g}…{hi:g}")
        x, y, size = self.window
        out_w, out_h = width * self.scale, height * self.scale
        if x < 0 or y < 0 or x + size + 1 > out_w or y + size + 1 > out_h:
            raise AttributionError(f"the window {size}×{size} at ({x}, {y}) is not inside the {out_w}×{out_h} output "
                                   "(with one pixel to its right and below for the gradient)")
        lx, ly, _ = self.local_window(width, height)
        _, _, rw, rh = self.region(width, height)
        if lx < 0 or ly < 0 or lx + size + 1 > rw * self.scale or ly + size + 1 > rh * self.scale:
            raise AttributionError(f"the window {size}×{size} does not fit the {rw}×{rh} input region around it "
                                   "(a larger region or a smaller window)")
        methods = [lookup(name, own) for name in self.methods]
        for method in methods:
            method.torch_forward(self.scale)  # NotAttributable: one line saying why
        return methods


@dataclass
class MethodMap:
    """One method's map over the region: `raw` C×h×w signed attributions, `map` h×w = |Σ_c raw| / (max + 1e-5)."""
    method: str
    what: str
    raw: np.ndarray = field(repr=False)
    map: np.ndarray = field(repr=False)
    gini: float
    di: float
    reach_px: float                 # radius around the window's centre (input px) holding REACH_SHARE of the map
    seconds: float
    objective_input: float          # F(input): the window's summed gradient magnitude
    objective_baseline: float       # F(blurred input)
    batch: int
    steps: int = 0                  # path steps of the map (after any refinement)

    @property
    def attribution_sum(self) -> float:
        return float(self.raw.sum())

    @property
    def completeness_gap(self) -> float:
        """|Σ map − (F(input) − F(baseline))| / |F(input) − F(baseline)|: how far the path sum is from exact."""
        delta = self.objective_input - self.objective_baseline
        return abs(self.attribution_sum - delta) / max(abs(delta), 1e-12)

    @property
    def rough(self) -> bool:
        """Its path sum misses over ROUGH_GAP of what the method did: a rough map."""
        return self.completeness_gap > ROUGH_GAP

    def figures(self) -> dict:
        return {"method": self.method, "what_ran": self.what, "diffusion_index": round(self.di, 3),
                "gini": round(self.gini, 5), f"reach_px_{int(REACH_SHARE * 100)}": round(self.reach_px, 2),
                "seconds": round(self.seconds, 3), "objective_input": self.objective_input,
                "objective_baseline": self.objective_baseline, "attribution_sum": self.attribution_sum,
                "completeness_gap": round(self.completeness_gap, 5), "path_steps": self.steps,
                "path_steps_per_pass": self.batch}


@dataclass
class Attribution:
    request: AttributionRequest
    region: tuple[int, int, int, int]       # x, y, w, h of the input
    window: tuple[int, int, int]            # x, y, size in output px of the region's output
    crop: np.ndarray = field(repr=False)    # the region, h×w×3 float32 0…1
    maps: list[MethodMap] = field(default_factory=list)
    cpu: str = ""

    @property
    def window_centre(self) -> tuple[float, float]:
        """The window's centre in input pixels of the region (x, y)."""
        x, y, size = self.window
        return (x + size / 2) / self.request.scale, (y + size / 2) / self.request.scale

    def figures(self) -> dict:
        r = self.request
        return {"window": dict(zip("x y size".split(), r.window)), "scale": r.scale,
                "region": dict(zip("x y w h".split(), self.region)), "steps": r.steps, "blur_sigma": r.sigma,
                "kernel": KERNEL_SIZE, "cpu": self.cpu, "methods": [m.figures() for m in self.maps],
                "sentences": sentences(self)}


# ---------------------------------------------------------------- LAM's parts
def gaussian_kernel(size: int, sigma: float) -> np.ndarray:
    """LAM's `isotropic_gaussian_kernel`: size×size, σ + 1e-5 in the exponent, summing to 1."""
    ax = np.arange(-size // 2 + 1.0, size // 2 + 1.0)
    xx, yy = np.meshgrid(ax, ax)
    kernel = np.exp(-(xx ** 2 + yy ** 2) / (2.0 * (sigma + 1e-5) ** 2))
    return kernel / kernel.sum()


def blur_path(image: np.ndarray, sigma: float, steps: int, size: int = KERNEL_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """LAM's `GaussianBlurPath` on an h×w×C image: (points, derivatives), each steps×C×h×w float32."""
    sigmas = np.linspace(sigma, 0, steps + 1)
    kernels = [gaussian_kernel(size, s) for s in sigmas]
    img = image.astype(np.float64)
    points = np.stack([cv2.filter2D(img, -1, kernels[i + 1]) for i in range(steps)])
    derivatives = np.stack([cv2.filter2D(img, -1, (kernels[i + 1] - kernels[i]) * steps) for i in range(steps)])
    return (np.moveaxis(points, 3, 1).astype(np.float32), np.moveaxis(derivatives, 3, 1).astype(np.float32))


def window_objective(out, x: int, y: int, size: int):
    """LAM's `attr_grad` per batch item: Σ over the window and the channels of sqrt(dy² + dx²)."""
    import torch

    patch = out[:, :, y:y + size + 1, x:x + size + 1]
    dy = patch[:, :, 1:, :-1] - patch[:, :, :-1, :-1]
    dx = patch[:, :, :-1, 1:] - patch[:, :, :-1, :-1]
    energy = dy * dy + dx * dx
    positive = energy > 0
    magnitude = torch.where(positive, torch.sqrt(torch.where(positive, energy, torch.ones_like(energy))), 0.0)
    return magnitude.sum(dim=(1, 2, 3))


def gini(values: np.ndarray) -> float:
    """LAM's `gini`: of the flattened values, shifted to ≥ 0, + 1e-7, sorted."""
    a = np.asarray(values, dtype=np.float64).ravel().copy()
    if a.min() < 0:
        a -= a.min()
    a = np.sort(a + 1e-7)
    n = a.size
    index = np.arange(1, n + 1)
    return float(np.sum((2 * index - n - 1) * a) / (n * np.sum(a)))


def normalised_map(raw: np.ndarray) -> np.ndarray:
    """LAM's `grad_abs_norm`: |Σ over channels| / (max + 1e-5)."""
    m = np.abs(raw.sum(axis=0))
    return (m / (m.max() + 1e-5)).astype(np.float32)


def diffusion_index(raw: np.ndarray) -> tuple[float, float]:
    """(DI, Gini) of a C×h×w map: DI = (1 − Gini(normalised map)) × 100."""
    g = gini(normalised_map(raw))
    return (1 - g) * 100, g


def reach(normed: np.ndarray, centre: tuple[float, float], share: float = REACH_SHARE) -> float:
    """The radius (input px, from `centre` = (x, y)) of the smallest disc holding `share` of the map's sum."""
    h, w = normed.shape
    yy, xx = np.mgrid[0:h, 0:w]
    dist = np.hypot(xx + 0.5 - centre[0], yy + 0.5 - centre[1]).ravel()
    order = np.argsort(dist)
    cum = np.cumsum(normed.ravel()[order])
    if cum[-1] <= 0:
        return 0.0
    return float(dist[order][np.searchsorted(cum, share * cum[-1])])


class _Ticker:
    """Calls `on_tick()` at most every 50 ms from autograd's saved-tensor hooks (forward: pack; backward:
    unpack), so a long step reports and can be cancelled between its layers."""

    def __init__(self, on_tick):
        self.on_tick, self.last = on_tick, 0.0

    def __call__(self, tensor):
        now = time.monotonic()
        if now - self.last > 0.05:
            self.last = now
            self.on_tick()
        return tensor


class PathGradients:
    """The gradients of the window's objective along LAM's blur path for one method and one region, kept per
    point, so a finer path reuses every point of a coarser one: the path of 2N steps holds the N-step path's
    points (its σ at (i + 1)/2N for odd i + 1 are the new ones), and only those N new points cost a pass."""

    def __init__(self, forward: TorchForward, image: np.ndarray, window: tuple[int, int, int],
                 sigma: float = DEFAULT_SIGMA, batch: int | None = None):
        self.forward, self.window, self.sigma = forward, window, sigma
        self.image = image.astype(np.float64)
        h, w = image.shape[:2]
        self.batch = batch or int(min(MAX_BATCH, max(1, GRAD_BUDGET_BYTES // max(1, forward.grad_bytes_per_pixel
                                                                                   * h * w))))
        self.grads: dict[Fraction, np.ndarray] = {}  # t in (0, 1] along the path (σ = sigma·(1 − t)) → gradient
        self.objective_input = 0.0                     # F at t = 1: the input itself (σ = 0)
        self._baseline: float | None = None

    def map(self, steps: int, on_step=None) -> np.ndarray:
        """The C×h×w map at `steps` (the right Riemann sum: LAM's `Path_gradient` + `saliency_map_PG`), passing
        only the points not already known. `on_step(fraction of the new points)` after every batch and between
        layers; it may raise."""
        import torch

        sigmas = np.linspace(self.sigma, 0, steps + 1)
        kernels = [gaussian_kernel(KERNEL_SIZE, s) for s in sigmas]
        todo = [i for i in range(steps) if Fraction(i + 1, steps) not in self.grads]
        done = [0]
        ticker = _Ticker(lambda: on_step(done[0] / len(todo)) if on_step else None)
        x, y, size = self.window
        for start in range(0, len(todo), self.batch):
            chunk_at = todo[start:start + self.batch]
            points = np.stack([cv2.filter2D(self.image, -1, kernels[i + 1]) for i in chunk_at])
            chunk = torch.from_numpy(np.moveaxis(points, 3, 1).astype(np.float32)).requires_grad_(True)
            with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(ticker, ticker):
                values = window_objective(self.forward.run(chunk), x, y, size)
                values.sum().backward()
            grad = chunk.grad.numpy()
            grad[np.isnan(grad)] = 0.0  # as LAM's Path_gradient
            for j, i in enumerate(chunk_at):
                self.grads[Fraction(i + 1, steps)] = grad[j]
                if i + 1 == steps:
                    self.objective_input = float(values[j].detach())
            done[0] += len(chunk_at)
            if on_step:
                on_step(done[0] / len(todo))
        total = np.zeros(self.grads[Fraction(1)].shape, dtype=np.float64)
        for i in range(steps):
            derivative = np.moveaxis(cv2.filter2D(self.image, -1, (kernels[i + 1] - kernels[i]) * steps), 2, 0)
            total += self.grads[Fraction(i + 1, steps)].astype(np.float64) * derivative.astype(np.float32)
        return (total / steps).astype(np.float32)

    @property
    def objective_baseline(self) -> float:
        """F(blurred input): the path's start."""
        if self._baseline is None:
            import torch

            with torch.no_grad():
                base = cv2.filter2D(self.image, -1, gaussian_kernel(KERNEL_SIZE, self.sigma)).astype(np.float32)
                self._baseline = float(window_objective(self.forward.run(torch.from_numpy(
                    base.transpose(2, 0, 1))[None]), *self.window)[0])
        return self._baseline

    def gap(self, raw: np.ndarray) -> float:
        """Completeness: |Σ map − (F(input) − F(baseline))| / |F(input) − F(baseline)|."""
        delta = self.objective_input - self.objective_baseline
        return abs(float(raw.sum()) - delta) / max(abs(delta), 1e-12)


def path_integrated_gradients(forward: TorchForward, image: np.ndarray, window: tuple[int, int, int],
                              steps: int = LAM_STEPS, sigma: float = DEFAULT_SIGMA, batch: int | None = None,
                              on_step=None) -> tuple[np.ndarray, float, float, int]:
    """(C×h×w map, F(input), F(baseline), steps per pass) of `forward` on the h×w×3 `image` (0…1) for `window`
    (x, y, size in output px) at a fixed number of steps. `on_step(fraction)` after every batch of steps and
    between layers; it may raise."""
    path = PathGradients(forward, image, window, sigma, batch)
    raw = path.map(steps, on_step)
    return raw, path.objective_input, path.objective_baseline, path.batch


# ---------------------------------------------------------------- the job
def as_rgb(pixels: np.ndarray) -> np.ndarray:
    """h×w×3 float32 0…1 of any decoded image (gray repeated, alpha dropped), as the methods see colour."""
    arr = to_float(pixels)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.shape[2] in (2, 4):
        arr = arr[..., :-1]
    return np.ascontiguousarray(np.repeat(arr, 3, axis=2) if arr.shape[2] == 1 else arr)


def attribute(request: AttributionRequest, pixels: np.ndarray, own: Mapping[str, Method] | None = None,
              ctx: Steps | None = None) -> Attribution:
    """The job: every method's map over the region, one after another, with progress per path step."""
    from core.runtime.machine import machine

    rgb = as_rgb(pixels)
    height, width = rgb.shape[:2]
    methods = request.check(width, height, own)
    rx, ry, rw, rh = region = request.region(width, height)
    result = Attribution(request, region, request.local_window(width, height), rgb[ry:ry + rh, rx:rx + rw].copy(),
                         cpu=machine()["cpu"].strip())
    n = len(methods)
    for i, method in enumerate(methods):
        if ctx is not None:
            ctx.step(i / n, f"{method.name}: loading (its first map in this process loads the weights)")
        forward = method.torch_forward(request.scale)
        started = time.perf_counter()
        path = PathGradients(forward, result.crop, result.window, request.sigma)
        steps = request.steps
        raw, level = path.map(steps, _progress(ctx, method.name, i, n, steps, 0.0, 0)), 0
        # a finer path costs as much again as every pass so far (its new points are as many as the old)
        while (request.refine and path.gap(raw) > REFINE_GAP and steps * 2 <= MAX_REFINED_STEPS
               and 2 * (time.perf_counter() - started) <= REFINE_BUDGET_S):
            missed, steps, level = path.gap(raw), steps * 2, level + 1
            raw = path.map(steps, _progress(ctx, method.name, i, n, steps, missed, level))
        seconds = time.perf_counter() - started
        di, g = diffusion_index(raw)
        normed = normalised_map(raw)
        result.maps.append(MethodMap(method=method.name, what=forward.what, raw=raw, map=normed, gini=g, di=di,
                                     reach_px=reach(normed, result.window_centre), seconds=seconds,
                                     objective_input=path.objective_input,
                                     objective_baseline=path.objective_baseline, batch=path.batch, steps=steps))
    return result


def _progress(ctx: Steps | None, name: str, i: int, n: int, steps: int, missed: float, level: int):
    """`on_step` for one pass of method i of n: the job's bar over the methods, the method's share split as its
    passes may come (the first pass its first half, each refinement half of what is left: the bar never goes
    back); a refining pass (its new points are half of `steps`) says what the coarser map missed."""
    if ctx is None:
        return None
    new = steps // 2 if level else steps
    start, span = 1 - 0.5 ** level, 0.5 ** (level + 1)

    def on_step(fraction: float) -> None:
        at = min(new, math.floor(fraction * new) + 1)
        what = (f"{name}: refining the map (it missed {missed * 100:.0f} %), step {at} of {new} more" if level else
                f"{name}: path step {at} of {steps}")
        ctx.step((i + start + span * fraction) / n, f"{what} ({i + 1} of {n} methods)")
    return on_step


# ---------------------------------------------------------------- words and pictures
def sentences(result: Attribution) -> dict[str, str]:
    """One sentence per method, from its measured numbers only (and, with several, how they order where the
    shown figures differ)."""
    maps = result.maps
    share = int(REACH_SHARE * 100)
    shown = {m.method: round(m.di, 2) for m in maps}
    by_di = sorted(maps, key=lambda m: m.di)
    _, _, rw, rh = result.region
    out = {}
    for m in maps:
        text = (f"{m.method}: {share} % of its map lies within {m.reach_px:.1f} input px of the window's centre; "
                f"DI {m.di:.2f}")
        if len(maps) > 1 and m is by_di[-1] and shown[m.method] > shown[by_di[-2].method]:
            text += f", the widest spread of these {len(maps)} (next: {by_di[-2].method}, {by_di[-2].di:.2f})"
        elif len(maps) > 1 and m is by_di[0] and shown[m.method] < shown[by_di[1].method]:
            text += f", the narrowest of these {len(maps)}"
        text += f" (over the {rw}×{rh} input region, {m.seconds:.1f} s)."
        if m.rough:
            text += (f" A rough map: it leaves out {m.completeness_gap * 100:.0f} % of what the method did in the "
                     "window (a finer one would take longer than a lesson allows).")
        out[m.method] = text
    return out


def heat_overlay(crop: np.ndarray, normed: np.ndarray, window: tuple[int, int, int], scale: int,
                 zoom: int = 4) -> np.ndarray:
    """The map over the input, drawn zoom× (nearest): the input in grey, the map's value as colour (inferno,
    linear in the normalised map, as LAM draws it), the window outlined in cyan. h·zoom×w·zoom×3 uint8."""
    gray = cv2.cvtColor(to_uint8(crop), cv2.COLOR_RGB2GRAY)
    heat = cv2.cvtColor(cv2.applyColorMap(to_uint8(normed), cv2.COLORMAP_INFERNO),
                        cv2.COLOR_BGR2RGB).astype(np.float32)
    alpha = np.clip(normed, 0, 1)[..., None] ** 0.5 * 0.85  # faint values still show, the input stays readable
    base = np.repeat(gray[..., None], 3, axis=2).astype(np.float32) * 0.6
    out = (base * (1 - alpha) + heat * alpha).astype(np.uint8)
    out = cv2.resize(out, (out.shape[1] * zoom, out.shape[0] * zoom), interpolation=cv2.INTER_NEAREST)
    x, y, size = window
    f = zoom / scale
    cv2.rectangle(out, (int(x * f), int(y * f)), (int(math.ceil((x + size) * f)) - 1,
                                                  int(math.ceil((y + size) * f)) - 1), (0, 230, 255), 1)
    return out


__all__ = ["AttributionError", "AttributionRequest", "Attribution", "MethodMap", "NotAttributable", "attribute",
           "path_integrated_gradients", "diffusion_index", "gini", "blur_path", "window_objective", "sentences",
           "heat_overlay", "PathGradients", "DEFAULT_STEPS", "LAM_STEPS", "DEFAULT_SIGMA", "KERNEL_SIZE",
           "DEFAULT_WINDOW", "DEFAULT_CONTEXT"]
