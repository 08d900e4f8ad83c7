"""The data path every page, the CLI and the benches walk, for one `Request`:
validate everything → choose the plan (backend, tile) once → split colour and alpha → the method → colour fix →
faces → alpha → join. Nothing expensive starts before every part of the request is known to be valid.

Networks run through the official architectures (basicsr RRDBNet, realesrgan SRVGGNetCompact) but not through
`RealESRGANer.enhance`, which pastes tiles without blending, prints per tile, swallows tile errors (upstream
#306), guesses 16-bit from pixel values and cannot take preloaded weights. We keep its pipeline — network at
native scale, then a Lanczos resize to the requested scale — and tests compare the two.
"""
from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import cv2
import numpy as np

from core import methods as _methods
from core import settings
from core.io.imageio import LoadedImage
from core.io.pixels import from_float, to_float
from core.methods.contract import Method, MethodRun, OnPartial, OnStep, Plan, Progress, checked_params
from core.pipeline.colour import COLOUR_FIXES, colour_fix
from core.runtime.progress import scaled
from core.runtime.select import resolve_choice

MAX_OUTSCALE = 8.0
MIN_OUTSCALE = 1.0
ALPHA_MODES = ("resize", "network")
FIT_MODES = ("keep", "crop")


class EnhanceError(ValueError):
    """A request that cannot be done, with a message for the user."""


class Cancelled(Exception):
    """The user cancelled the job (raised from a progress callback)."""


@dataclass(frozen=True)
class Request:
    """Everything that decides a result: the results cache key, and what `run()` is called with.
    `image_key` names the input pixels (core.io.imageio.image_key); `crop` is (x, y, w, h) of them or None."""
    method: str = "RealESRGAN_x4plus"
    outscale: float | None = None           # None: the method's native scale (×4 for classical methods)
    tile: int = 0                           # input px; 0 = automatic
    face: bool = False
    face_strength: float = 0.5
    params: tuple[tuple[str, object], ...] = ()
    backend: str = "auto"
    alpha: str = "resize"                   # "resize" (bilinear) or "network" (alpha run through the method)
    image_key: str = ""
    crop: tuple[int, int, int, int] | None = None
    fit: tuple[int, int] | None = None      # width, height to fit instead of `outscale`
    fit_mode: str = "keep"                  # "keep": inside the box, aspect kept; "crop": fill it, centre-cropped
    colour_fix: str = "off"                 # core.pipeline.colour.COLOUR_FIXES: the input's colours on the output

    @classmethod
    def make(cls, method: str = "RealESRGAN_x4plus", *, params: dict | None = None, **fields) -> "Request":
        """From plain values: `params` as a dict; face strength only counts when faces are on."""
        if not fields.get("face"):
            fields["face_strength"] = 0.5
        if fields.get("outscale") is not None:
            fields["outscale"] = float(fields["outscale"])
        return cls(method=method, params=tuple(sorted((params or {}).items())), **fields)

    @property
    def method_params(self) -> dict:
        return dict(self.params)

    def scale(self, method: Method | None = None) -> float:
        native = (method or _methods.get(self.method)).native_scale
        return float(self.outscale if self.outscale is not None else (native or 4))


@dataclass(kw_only=True)
class Stats(MethodRun):
    """What the method did (its `MethodRun`), and around it: sizes, time, faces, notes."""
    method: str
    kind: str
    input_size: tuple[int, int]
    output_size: tuple[int, int]
    outscale: float
    elapsed_s: float = 0.0
    device: str = "cpu"
    input_file_bytes: int | None = None
    face: str = "off"
    notes: list[str] = field(default_factory=list)

    @property
    def input_pixels(self) -> int:
        return self.input_size[0] * self.input_size[1]

    @property
    def output_pixels(self) -> int:
        return self.output_size[0] * self.output_size[1]

    @property
    def pixel_ratio(self) -> float:
        return self.output_pixels / self.input_pixels

    def rows(self, output_png_bytes: int | None = None) -> list[tuple[str, str]]:
        """(label, value) pairs, for the page's table and the CLI summary."""
        fmt = lambda wh: f"{wh[0]} × {wh[1]}"  # noqa: E731
        rows = [
            ("method", f"{self.method} ({self.kind})"),
            ("what was done", self.summary),
            ("input size", f"{fmt(self.input_size)} px = {self.input_pixels:,} pixels"),
            ("output size", f"{fmt(self.output_size)} px = {self.output_pixels:,} pixels"),
            ("pixel ratio", f"×{self.pixel_ratio:.2f} (scale ×{self.outscale:g} per side)"),
            ("network pass", f"×{self.network_scale}" if self.network_scale else "none (no network)"),
            ("resize after", self.resize),
            ("elapsed", f"{self.elapsed_s:.2f} s"),
            ("device / backend", f"{self.device} / {self.backend}"),
            *([("why this backend", self.backend_why)] if self.backend_why else []),
            ("tiles", f"{self.tiles}" + (f" of {self.tile_size} px, overlap-blended" if self.tiles > 1 else
                                         " (whole image)")),
            ("face restoration", self.face),
        ]
        if self.weights:
            rows.append(("weights", self.weights))
        if self.input_file_bytes is not None:
            rows.append(("input file", f"{self.input_file_bytes:,} bytes"))
        if output_png_bytes is not None:
            rows.append(("output PNG", f"{output_png_bytes:,} bytes"))
        return rows


@dataclass
class EnhanceResult:
    pixels: np.ndarray
    stats: Stats


# ---------------------------------------------------------------- pixel plumbing
def _split(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """float32 colour (H×W×1 or H×W×3, 0..1) and alpha (H×W) or None."""
    arr = to_float(pixels)
    if arr.ndim == 2:
        return arr[..., None], None
    if arr.shape[2] in (2, 4):
        return arr[..., :-1], arr[..., -1]
    return arr, None


def _join(color: np.ndarray, alpha: np.ndarray | None, dtype) -> np.ndarray:
    """To the input's dtype. Works in place on `color` (always an array the engine made): at 8000×8000 each
    float copy is 768 MB."""
    arr = color if alpha is None else np.dstack([color, alpha])
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    return from_float(arr, dtype, in_place=True)


def target_size(width: int, height: int, outscale: float) -> tuple[int, int]:
    return max(1, round(width * outscale)), max(1, round(height * outscale))


def plan(request: Request, width: int, height: int, method: Method | None = None
         ) -> tuple[float, tuple[int, int], tuple[int, int] | None]:
    """(scale, size the method makes, final size after a centre crop or None) for an input of width×height, or
    an EnhanceError when the scale (given, or needed to fit) is out of range."""
    size = final = None
    if request.fit is None:
        outscale = request.scale(method)
    else:
        box_w, box_h = request.fit
        if request.fit_mode not in FIT_MODES or box_w < 1 or box_h < 1:
            raise EnhanceError(f"fit {box_w}×{box_h} ({request.fit_mode}): give a positive width and height and a "
                               f"mode from {', '.join(FIT_MODES)}")
        if request.fit_mode == "keep":  # exact on the tighter side
            if box_w / width <= box_h / height:
                outscale, size = box_w / width, (box_w, max(1, round(height * box_w / width)))
            else:
                outscale, size = box_h / height, (max(1, round(width * box_h / height)), box_h)
        else:
            outscale = max(box_w / width, box_h / height)
            size, final = (max(box_w, round(width * outscale)), max(box_h, round(height * outscale))), (box_w, box_h)
    if not math.isfinite(outscale) or not (MIN_OUTSCALE <= outscale <= MAX_OUTSCALE):
        fitted = f" (to fit {request.fit[0]}×{request.fit[1]})" if request.fit else ""
        raise EnhanceError(f"scale {outscale:.4g}{fitted} is out of range: choose a scale from {MIN_OUTSCALE:g} to "
                           f"{MAX_OUTSCALE:g}.")
    return outscale, size or target_size(width, height, outscale), final


def _method(request: Request, own: Mapping[str, Method] | None) -> Method:
    try:
        return _methods.lookup(request.method, own)
    except KeyError as exc:
        raise EnhanceError(str(exc)) from None


def largest_scale(width: int, height: int, limit: int) -> float | None:
    """The largest scale in steps of ×0.25 from MIN_OUTSCALE whose output (`target_size`, rounded) is within
    `limit` pixels, or None when not even MIN_OUTSCALE is (what the output limit's refusal offers)."""
    scale = math.floor(math.sqrt(limit / (width * height)) * 4) / 4
    while scale >= MIN_OUTSCALE:
        w, h = target_size(width, height, scale)
        if w * h <= limit:
            return min(scale, MAX_OUTSCALE)
        scale -= 0.25
    return None


def check(request: Request, width: int, height: int, own: Mapping[str, Method] | None = None
          ) -> tuple[float, tuple[int, int], tuple[int, int] | None]:
    """Every part of `request` checked for an input of width×height, before anything runs: scale or fit,
    limits, the method's parameters, alpha and colour-fix modes, backend, faces. `plan()`'s sizes, or an
    EnhanceError that says what is wrong and what to do."""
    spec = _method(request, own)
    outscale, (out_w, out_h), _ = planned = plan(request, width, height, spec)
    limit = settings.current().max_output_pixels
    # The output is what counts: a network's ×native pass larger than the output is resized tile by tile and never
    # held whole (NetworkMethod.upscale, tiling.run_tiled); each pass is bounded by the tile's memory budget.
    if out_w * out_h > limit:
        fits = largest_scale(width, height, limit)
        hint = f"choose a scale of at most ×{fits:g}" if fits else "crop or downscale the image first"
        raise EnhanceError(f"the output would be {out_w}×{out_h} = {out_w * out_h / 1e6:.0f} megapixels, over the "
                           f"output limit of {limit / 1e6:.0f} MP: {hint} (limit: SRLAB_MAX_OUTPUT_PIXELS).")
    if request.alpha not in ALPHA_MODES:
        raise EnhanceError(f"alpha mode {request.alpha!r}: choose one of {', '.join(ALPHA_MODES)}")
    if request.colour_fix not in COLOUR_FIXES:
        raise EnhanceError(f"colour fix {request.colour_fix!r}: choose one of {', '.join(COLOUR_FIXES)}")
    try:
        checked_params(spec.name, spec.params, request.method_params)
        resolve_choice(request.backend)
    except ValueError as exc:
        raise EnhanceError(str(exc)) from None
    if request.face:
        from core.pipeline.face import availability

        ok, why = availability()
        if not ok:
            raise EnhanceError(why)
    return planned


@dataclass(frozen=True)
class Checked:
    """A request checked on its input, before anything expensive: what `plan_checked()` plans."""
    request: Request
    method: Method
    loaded: LoadedImage
    pixels: np.ndarray                      # the input, cropped when the request says so
    outscale: float
    size: tuple[int, int]                   # what the method makes
    final: tuple[int, int] | None           # after a fit-and-fill's centre cut


@dataclass(frozen=True)
class Prepared(Checked):
    """A checked request with its plan: what `execute()` runs."""
    plan: Plan


def check_request(image: LoadedImage | np.ndarray, request: Request, *,
                  own: Mapping[str, Method] | None = None) -> Checked:
    """Check every part of `request` on `image` (the whole input; `request.crop` selects a part): an
    EnhanceError that says what is wrong at once, before anything runs (a page submitting a job calls this)."""
    loaded = image if isinstance(image, LoadedImage) else LoadedImage(np.asarray(image))
    pixels = loaded.pixels
    if request.crop is not None:
        x, y, w, h = request.crop
        pixels = pixels[y:y + h, x:x + w]
    if pixels.dtype not in (np.uint8, np.uint16):
        raise EnhanceError(f"pixels must be uint8 or uint16, not {pixels.dtype}")
    height, width = pixels.shape[:2]
    outscale, size, final = check(request, width, height, own)
    return Checked(request, _method(request, own), loaded, pixels, outscale, size, final)


def plan_checked(checked: Checked, *, on_step: OnStep | None = None, live: bool = False) -> Prepared:
    """Choose a checked request's plan, once: the backend and tile. On a machine that has not measured this
    network yet, that measures it (a few seconds; `on_step` shows it and may cancel it). `live`: someone
    watches the result come (the app): a long run is tiled so that its first part can be shown within seconds
    (select.FIRST_PIXELS_S)."""
    height, width = checked.pixels.shape[:2]
    try:
        chosen = checked.method.plan(height, width, checked.request.tile, checked.request.backend, on_step, live)
    except ValueError as exc:
        raise EnhanceError(str(exc)) from None
    return Prepared(**{f: getattr(checked, f) for f in Checked.__dataclass_fields__}, plan=chosen)


def prepare(image: LoadedImage | np.ndarray, request: Request, *, own: Mapping[str, Method] | None = None,
            on_step: OnStep | None = None, live: bool = False) -> Prepared:
    """`check_request` then `plan_checked`, in one call (the CLI, the benches, the tests)."""
    return plan_checked(check_request(image, request, own=own), on_step=on_step, live=live)


def execute(job: Prepared, progress: Progress | None = None, on_step: OnStep | None = None,
            face_landmarks: list | None = None, on_partial: OnPartial | None = None) -> EnhanceResult:
    """Run a prepared request. `progress(done, total, message)` per tile and `on_step(fraction)` within
    tiles (colour, then alpha when it goes through the method) may raise to cancel the job. `on_partial(picture,
    share)`: the colour pass's network output so far, after each tile of several (before any resize, colour
    fix, faces or alpha)."""
    request, spec, pixels = job.request, job.method, job.pixels
    (out_w, out_h), final = job.size, job.final
    color, alpha = _split(pixels)
    through_method = alpha is not None and request.alpha == "network"
    start = time.perf_counter()
    try:
        done = spec.upscale(color, (out_w, out_h), request.method_params, job.plan, progress=progress,
                            on_step=scaled(on_step, 0.0, 0.5) if through_method else on_step, on_partial=on_partial)
        if through_method:  # as the official alpha_upsampler='realesrgan': alpha as a gray image
            alpha = spec.upscale(alpha[..., None], (out_w, out_h), request.method_params, job.plan,
                                 on_step=scaled(on_step, 0.5, 0.5)).pixels[..., 0]
    except ValueError as exc:  # a model that cannot run this input
        raise EnhanceError(str(exc)) from None
    height, width = pixels.shape[:2]
    stats = Stats(**done.record(), method=request.method, kind=spec.kind,
                  input_size=(width, height), output_size=(out_w, out_h), outscale=job.outscale,
                  input_file_bytes=job.loaded.file_bytes or None, notes=list(job.loaded.notes))
    out = done.pixels
    if request.colour_fix != "off":
        out = colour_fix(out, color, request.colour_fix)
        stats.notes.append(f"colour fix ({request.colour_fix}): the input's colours put back on the output")
    if request.face:
        from core.pipeline.face import restore_faces

        out, stats.face = restore_faces(color, out, stats.outscale, request.face_strength, face_landmarks)
    if alpha is not None:
        if through_method:
            stats.notes.append("alpha channel run through the method as gray (sharper edges)")
        else:  # resized, not hallucinated: a network was never trained on it
            alpha = cv2.resize(alpha, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
            stats.notes.append("alpha channel resized with bilinear interpolation")
    result = _join(out, alpha, pixels.dtype)
    if request.fit:
        box = f"fit to {request.fit[0]}×{request.fit[1]}"
        if final:
            x0, y0 = (out_w - final[0]) // 2, (out_h - final[1]) // 2
            result = np.ascontiguousarray(result[y0:y0 + final[1], x0:x0 + final[0]])
            stats.output_size = final
            stats.notes.append(f"{box}: scaled ×{job.outscale:.4g} to fill it ({out_w}×{out_h}), then the centre cut")
        else:
            stats.notes.append(f"{box}: scaled ×{job.outscale:.4g}, aspect kept ({out_w}×{out_h})")
    stats.elapsed_s = time.perf_counter() - start
    return EnhanceResult(result, stats)


def run(image: LoadedImage | np.ndarray, request: Request, progress: Progress | None = None,
        on_step: OnStep | None = None, face_landmarks: list | None = None,
        own: Mapping[str, Method] | None = None) -> EnhanceResult:
    """Check, plan and run `request` on `image` in one call (the CLI, the benches, the tests)."""
    return execute(prepare(image, request, own=own), progress, on_step, face_landmarks)


def enhance(image: LoadedImage | np.ndarray, method: str = "RealESRGAN_x4plus", *, progress: Progress | None = None,
            on_step: OnStep | None = None, face_landmarks: list | None = None, params: dict | None = None,
            own: Mapping[str, Method] | None = None, **fields) -> EnhanceResult:
    """`run()` for callers holding plain values: `enhance(img, "bicubic", outscale=3, params={...})`."""
    return run(image, Request.make(method, params=params, **fields), progress, on_step, face_landmarks, own)
