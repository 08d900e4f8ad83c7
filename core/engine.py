"""enhance(): decode → method → tiles → result with statistics. The pages, the CLI and the benches call this.

Networks run through the official architectures (basicsr RRDBNet, realesrgan SRVGGNetCompact) but not through
`RealESRGANer.enhance`, which pastes tiles without blending, prints per tile, swallows tile errors (upstream
#306), guesses 16-bit from pixel values and cannot take preloaded weights. We keep its pipeline — network at
native scale, then a Lanczos resize to the requested scale — and tests compare the two.
"""
from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from core import methods as _methods
from core.imageio import LoadedImage
from core.tiling import OVERLAP as TILE_OVERLAP
from core.tiling import run_tiled, tile_grid

MAX_OUTSCALE = 8.0
MIN_OUTSCALE = 1.0
MAX_OUTPUT_PIXELS = int(os.environ.get("SRLAB_MAX_OUTPUT_PIXELS", 64_000_000))  # 8000×8000: ~0.8 GB float
TILE_MEMORY_MB = int(os.environ.get("SRLAB_TILE_MEMORY_MB", 2000))  # per job; the app runs one job at a time

Progress = Callable[[int, int, str], None]


class EnhanceError(ValueError):
    """A request that cannot be done, with a message for the user."""


@dataclass
class Stats:
    method: str
    kind: str
    input_size: tuple[int, int]
    output_size: tuple[int, int]
    outscale: float
    network_scale: int | None       # the part done by the network (None for classical methods)
    resize: str                      # what was done after the network, or "none"
    elapsed_s: float
    device: str = "cpu"
    backend: str = ""
    tiles: int = 1
    tile_size: int = 0               # 0: whole image at once
    input_file_bytes: int | None = None
    face: str = "off"
    weights: str = ""
    notes: list[str] = field(default_factory=list)
    summary: str = ""                # one true sentence: what was done, for captions

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


# ---------------------------------------------------------------- models, loaded once per process
_model_lock = threading.Lock()
_models: dict[str, tuple[object, str]] = {}


def load_network(name: str):
    """(torch module in eval mode, weights origin); cached per process, safe across threads."""
    with _model_lock:
        if name not in _models:
            import torch

            from core.weights import load_checkpoint, resolve

            spec = _methods.get(name)
            info = resolve(spec)
            model = spec.build()
            model.load_state_dict(load_checkpoint(info.path), strict=True)
            model.eval()
            for p in model.parameters():
                p.requires_grad_(False)
            _models[name] = (model, info.origin)
            torch.set_num_threads(max(1, os.cpu_count() or 1))
        return _models[name]


def weights_origin(spec) -> str:
    if spec.official_filename is None:
        from core.weights import resolve_ncnn
        return resolve_ncnn(spec).origin
    return load_network(spec.name)[1]


def auto_tile(spec, height: int, width: int, backend: str = "torch") -> int:
    """0 (whole image) when it fits the memory budget, else the largest tile that does."""
    per_pixel = spec.bytes_per_input_pixel["torch" if backend == "torch" else "ncnn"]
    max_pixels = TILE_MEMORY_MB * 1e6 / per_pixel
    if height * width <= max_pixels:
        return 0
    return max(64, int(math.sqrt(max_pixels)) - 2 * TILE_OVERLAP) // 8 * 8


_speed: dict[str, float] = {}  # measured seconds per input megapixel, per method, this process


def estimate_seconds(method: str, height: int, width: int) -> float:
    """Expected run time: the last measurement on this machine, else the registry's first guess."""
    spec = _methods.get(method)
    rate = _speed.get(method, getattr(spec, "seconds_per_mpx", 1.0))
    return rate * height * width / 1e6


# ---------------------------------------------------------------- pixel plumbing
def _split(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, float]:
    """float32 colour (H×W×1 or H×W×3, 0..1), alpha (H×W) or None, and the dtype's maximum."""
    maxval = 65535.0 if pixels.dtype == np.uint16 else 255.0
    arr = pixels.astype(np.float32) / maxval
    if arr.ndim == 2:
        return arr[..., None], None, maxval
    if arr.shape[2] in (2, 4):
        return arr[..., :-1], arr[..., -1], maxval
    return arr, None, maxval


def _join(color: np.ndarray, alpha: np.ndarray | None, maxval: float, dtype) -> np.ndarray:
    """To the input's dtype. Works in place on `color` (always an array the engine made): at 8000×8000 each
    float copy is 768 MB."""
    arr = color if alpha is None else np.dstack([color, alpha])
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    np.clip(arr, 0, 1, out=arr)
    arr *= maxval
    arr += 0.5
    return arr.astype(dtype)


def target_size(width: int, height: int, outscale: float) -> tuple[int, int]:
    return max(1, round(width * outscale)), max(1, round(height * outscale))


def _run_network(spec, color: np.ndarray, tile: int, backend, progress: Progress | None):
    rgb = np.repeat(color, 3, axis=2) if color.shape[2] == 1 else color
    chw = np.ascontiguousarray(rgb.transpose(2, 0, 1))
    tile = tile if tile > 0 else auto_tile(spec, *rgb.shape[:2], backend=backend.name)
    n_tiles = len(tile_grid(rgb.shape[0], rgb.shape[1], tile))

    def tick(done: int, total: int) -> None:
        if progress:
            progress(done, total, f"tile {done}/{total}")

    out = run_tiled(backend, chw, spec.native_scale, tile, TILE_OVERLAP, tick)
    out = np.clip(out, 0, 1, out=out).transpose(1, 2, 0)  # network output is not clamped (-0.8…1.7 seen)
    if color.shape[2] == 1:
        out = cv2.cvtColor(np.ascontiguousarray(out), cv2.COLOR_RGB2GRAY)[..., None]
    return out, tile, n_tiles


def _resize(arr: np.ndarray, size: tuple[int, int], interpolation=cv2.INTER_LANCZOS4) -> np.ndarray:
    out = cv2.resize(arr, size, interpolation=interpolation)
    return out[..., None] if out.ndim == 2 and arr.ndim == 3 else out


# ---------------------------------------------------------------- the one entry point
def enhance(image: LoadedImage | np.ndarray, method: str = "RealESRGAN_x4plus", outscale: float | None = None,
            tile: int = 0, face: bool = False, face_strength: float = 0.5, params: dict | None = None,
            progress: Progress | None = None, face_landmarks: list | None = None,
            backend: str = "auto") -> EnhanceResult:
    """Upscale `image` by `outscale` (1–8; default the method's native scale) with `method`.

    `progress(done, total, message)` is called per tile; it may raise to cancel the job. `backend`: one of
    core.backends.CHOICES ("auto" measures once per machine and picks the fastest faithful one).
    """
    loaded = image if isinstance(image, LoadedImage) else LoadedImage(np.asarray(image))
    pixels = loaded.pixels
    spec = _methods.get(method)
    native = getattr(spec, "native_scale", None)
    outscale = float(outscale if outscale is not None else (native or 4))
    if not (MIN_OUTSCALE <= outscale <= MAX_OUTSCALE) or not math.isfinite(outscale):
        raise EnhanceError(f"scale {outscale:g} is out of range: choose a scale from {MIN_OUTSCALE:g} to "
                           f"{MAX_OUTSCALE:g}.")
    if pixels.dtype not in (np.uint8, np.uint16):
        raise EnhanceError(f"pixels must be uint8 or uint16, not {pixels.dtype}")
    if face:
        from core.face import availability

        ok, why = availability()
        if not ok:
            raise EnhanceError(why)
    height, width = pixels.shape[:2]
    out_w, out_h = target_size(width, height, outscale)
    if native and outscale < native and width * height * native ** 2 > MAX_OUTPUT_PIXELS:
        raise EnhanceError(f"the network's ×{native} pass would make {width * native}×{height * native} = "
                           f"{width * height * native ** 2 / 1e6:.0f} megapixels before the resize to ×{outscale:g}, "
                           f"over the output limit of {MAX_OUTPUT_PIXELS / 1e6:.0f} MP: crop or downscale the image "
                           "first, or use a classical method (limit: SRLAB_MAX_OUTPUT_PIXELS).")
    if out_w * out_h > MAX_OUTPUT_PIXELS:
        fit = math.sqrt(MAX_OUTPUT_PIXELS / (width * height))
        hint = (f"choose a scale of at most ×{math.floor(fit * 4) / 4:g}" if fit >= MIN_OUTSCALE
                else "crop or downscale the image first")
        raise EnhanceError(f"the output would be {out_w}×{out_h} = {out_w * out_h / 1e6:.0f} megapixels, over the "
                           f"output limit of {MAX_OUTPUT_PIXELS / 1e6:.0f} MP: {hint} "
                           "(limit: SRLAB_MAX_OUTPUT_PIXELS).")
    color, alpha, maxval = _split(pixels)
    if spec.kind == "network":
        from core import backends

        # built once, chosen once per machine ("auto" also weighs tiling costs on this image); not timed
        runner = backends.get(spec, backend, height, width,
                              tile_for=lambda name: tile or auto_tile(spec, height, width, backend=name))
    start = time.perf_counter()
    stats = Stats(method=method, kind=spec.kind, input_size=(width, height), output_size=(out_w, out_h),
                  outscale=outscale, network_scale=None, resize="none", elapsed_s=0.0,
                  input_file_bytes=loaded.file_bytes or None, notes=list(loaded.notes))
    if spec.kind == "network":
        out, used_tile, n_tiles = _run_network(spec, color, tile, runner, progress)
        stats.network_scale, stats.tiles, stats.tile_size = native, n_tiles, used_tile
        stats.backend, stats.weights = runner.label, weights_origin(spec)
        stats.summary = f"{method} network ×{native}"
        if out.shape[:2] != (out_h, out_w):
            factor = out_w / out.shape[1]
            stats.resize = f"×{factor:.4g} Lanczos resize ({out.shape[1]}×{out.shape[0]} → {out_w}×{out_h})"
            stats.summary += f", then {stats.resize}"
            out = _resize(out, (out_w, out_h))
    else:
        try:
            stats.summary = spec.describe(params, outscale)
        except ValueError as exc:
            raise EnhanceError(str(exc)) from None
        out = spec.upscale(color, (out_w, out_h), params or {})
        stats.backend = spec.library_call
        if progress:
            progress(1, 1, "done")
    if face:
        from core.face import restore_faces

        out, stats.face = restore_faces(color, out, outscale, face_strength, face_landmarks)
    if alpha is not None:  # alpha is resized, not hallucinated: a network was never trained on it
        alpha = cv2.resize(alpha, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
        stats.notes.append("alpha channel resized with bilinear interpolation")
    result = _join(out, alpha, maxval, pixels.dtype)
    stats.elapsed_s = time.perf_counter() - start
    if not face:
        _speed[method] = stats.elapsed_s / (height * width / 1e6)
    return EnhanceResult(result, stats)
