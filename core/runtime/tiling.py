"""Run an image-to-image network tile by tile with overlap blending, so memory is bounded by the tile and
no seams show. Shared by every backend; `auto_tile` sizes the tile from a memory budget.

RealESRGANer pastes tiles without blending (visible seams, upstream #211); here each tile is run with
`overlap` extra input pixels on every inner side, and neighbouring outputs are cross-faded with linear
ramps over that band. The ramps are separable, so their normalising sum is two 1-D arrays, not an image.

Given a target size, `run_tiled` also resizes to it tile by tile (a 12-MP photo at ×2 through a ×4 network: the
×4 output, 195 MP, is never held whole, only the 49-MP result). Lanczos is linear, so the resize of the blended
output is the sum of the resizes of each tile's ramp-weighted contribution, provided each is resized with the
whole image's sampling: `Lanczos` reproduces cv2.resize's INTER_LANCZOS4 (OpenCV's positions and weights, the
border replicated), and a tile adds, to each output pixel its contribution reaches, the taps that fall on it.
Measured against cv2.resize of the whole output: float32 rounding only (≤ 1e-6, ≥ 125 dB; tests/test_big_photo.py).
cv2.warpAffine with the same mapping was measured too and is not exact: it rounds positions to 1/32 px (64 dB,
up to 3 levels of 255 off, on a photo at ×0.625).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from core.io.pixels import to_uint8

Progress = Callable[[int, int], None]
OVERLAP = 12  # input px per inner side: ≥ 43 dB tiled vs untiled for RRDBNet at 96-px tiles (tests/test_engine.py)


def _spans(length: int, tile: int) -> list[tuple[int, int]]:
    """Split [0, length) into near-equal core spans no longer than `tile`."""
    n = max(1, math.ceil(length / tile))
    edges = [round(i * length / n) for i in range(n + 1)]
    return list(zip(edges[:-1], edges[1:]))


def _ramp(lo: int, hi: int, core_lo: int, core_hi: int, length: int, overlap: int, scale: int) -> np.ndarray:
    """Weights over output positions of input span [lo, hi): 1 in the core, linear fades into neighbours."""
    out = np.ones((hi - lo) * scale, np.float32)
    pos = (np.arange((hi - lo) * scale, dtype=np.float32) + 0.5) / scale + lo  # input coordinate of each pixel
    if core_lo > 0:  # fade in across [core_lo - overlap, core_lo + overlap)
        out *= np.clip((pos - (core_lo - overlap)) / (2 * overlap), 0, 1)
    if core_hi < length:
        out *= np.clip(((core_hi + overlap) - pos) / (2 * overlap), 0, 1)
    return out


def auto_tile(height: int, width: int, bytes_per_input_pixel: int, budget_mb: int) -> int:
    """0 (whole image) when one pass fits the memory budget, else the largest tile (a multiple of 8, at least
    64) whose pass with its overlaps does."""
    max_pixels = budget_mb * 1e6 / bytes_per_input_pixel
    if height * width <= max_pixels:
        return 0
    return max(64, int(math.sqrt(max_pixels)) - 2 * OVERLAP) // 8 * 8


def tile_grid(height: int, width: int, tile: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    if tile <= 0:
        return [((0, height), (0, width))]
    return [(ys, xs) for ys in _spans(height, tile) for xs in _spans(width, tile)]


def windows(height: int, width: int, tile: int, overlap: int = OVERLAP):
    """Per tile: its core spans and the input window run for it (the core plus `overlap` on inner sides)."""
    grid = tile_grid(height, width, tile)
    overlap = max(1, min(overlap, tile // 2)) if len(grid) > 1 else 0
    for (y0, y1), (x0, x1) in grid:
        window = (max(0, y0 - overlap), min(height, y1 + overlap)), (max(0, x0 - overlap), min(width, x1 + overlap))
        yield ((y0, y1), (x0, x1)), window, overlap


def tiled_area(height: int, width: int, tile: int, overlap: int = OVERLAP) -> int:
    """Input pixels the network really processes for this grid, overlaps included (a cost model)."""
    return sum((hy - ly) * (hx - lx) for _, ((ly, hy), (lx, hx)), _ in windows(height, width, tile, overlap))


TileDone = Callable[[np.ndarray, np.ndarray], None]

_S45 = 0.70710678118654752440084436210485  # OpenCV's interpolateLanczos4, its table of sines and cosines
_LANCZOS_CS = np.array([[1, 0], [-_S45, -_S45], [0, 1], [_S45, -_S45], [-1, 0], [_S45, _S45], [0, -1], [-_S45, _S45]])


def _lanczos_taps(src: int, dst: int) -> tuple[np.ndarray, np.ndarray]:
    """cv2.resize's INTER_LANCZOS4 along one axis of `src` pixels resized to `dst`: for each output pixel the
    source indices of its 8 taps (the border replicated, as cv2.resize does) and their weights, computed as
    OpenCV computes them: the position (x + 0.5)·src/dst − 0.5 rounded to float32, the weights in float64 rounded
    to float32 and normalised in float32 (a position on a pixel gets that pixel alone)."""
    position = ((np.arange(dst, dtype=np.float64) + 0.5) * (1.0 / (dst / src)) - 0.5).astype(np.float32)
    first = np.floor(position).astype(np.int64)
    frac = (position - first.astype(np.float32)).astype(np.float32)
    angle0 = -(frac.astype(np.float64) + 3) * math.pi * 0.25
    offset = (frac[:, None] + np.float32(3) - np.arange(8, dtype=np.float32)).astype(np.float32)
    angle = -offset.astype(np.float64) * math.pi * 0.25
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = ((_LANCZOS_CS[:, 0] * np.sin(angle0)[:, None] + _LANCZOS_CS[:, 1] * np.cos(angle0)[:, None])
                   / (angle * angle)).astype(np.float32)
    weights[np.abs(offset) < 1e-6] = np.float32(1e30)
    weights *= np.float32(1) / weights.sum(axis=1, dtype=np.float32)[:, None]
    index = np.clip(first[:, None] - 3 + np.arange(8), 0, src - 1)
    return index, weights


class Lanczos:
    """cv2.resize(image, size, interpolation=cv2.INTER_LANCZOS4) of a C×H×W image that arrives as a sum of blocks
    (`add`), each resized with the whole image's taps: the result (`out`, C×h×w) is the resize of their sum."""

    def __init__(self, channels: int, height: int, width: int, size: tuple[int, int]):
        self.rows = _lanczos_taps(height, size[1])
        self.cols = _lanczos_taps(width, size[0])
        self.out = np.zeros((channels, size[1], size[0]), np.float32)

    @staticmethod
    def _reach(taps: tuple[np.ndarray, np.ndarray], lo: int, hi: int, ramp: np.ndarray | None):
        """The output span [a, b) whose taps fall on source [lo, hi), with those taps' indices within the block
        and their weights (0 for the taps that fall outside it: other blocks add those), times `ramp` (the block's
        weight along this axis) at each tap."""
        index, weights = taps
        a = int(np.searchsorted(index[:, 7], lo))  # the taps of an output pixel are a run of source pixels,
        b = int(np.searchsorted(index[:, 0], hi))  # non-decreasing from one output pixel to the next
        index = index[a:b]
        inside = (index >= lo) & (index < hi)
        local = np.clip(index - lo, 0, hi - lo - 1)
        weights = np.where(inside, weights[a:b], np.float32(0))
        return a, b, local, weights if ramp is None else weights * ramp[local]

    def add(self, block: np.ndarray, y: int, x: int, ramp_y: np.ndarray | None = None,
            ramp_x: np.ndarray | None = None) -> None:
        """Add the resize of `block` (C×bh×bw) times `ramp_y[:, None] * ramp_x[None, :]` (1 where not given),
        its top left at (y, x) of the source, zero elsewhere. The ramps go into the taps' weights: the weighted
        block is never made. Holds two arrays of the block's height × the output's width beside it."""
        y0, y1, iy, wy = self._reach(self.rows, y, y + block.shape[1], ramp_y)
        x0, x1, ix, wx = self._reach(self.cols, x, x + block.shape[2], ramp_x)
        if y0 >= y1 or x0 >= x1:
            return
        across = np.zeros((block.shape[0], block.shape[1], x1 - x0), np.float32)
        taken = np.empty_like(across)
        for k in range(8):  # along rows first, then columns, as cv2.resize does
            np.take(block, ix[:, k], axis=2, out=taken)
            taken *= wx[:, k]
            across += taken
        del taken
        target = self.out[:, y0:y1, x0:x1]
        taken = np.empty_like(target)
        for k in range(8):
            np.take(across, iy[:, k], axis=1, out=taken)
            taken *= wy[:, k, None]
            target += taken


def run_tiled(run: Callable[[np.ndarray], np.ndarray], image: np.ndarray, scale: int, tile: int,
              overlap: int = OVERLAP, progress: Progress | None = None, on_tile: TileDone | None = None,
              size: tuple[int, int] | None = None) -> np.ndarray:
    """`run` maps a C×h×w float32 array to C'×(h·scale)×(w·scale). `tile` ≤ 0 runs the image whole.
    `on_tile(out, weights)` after each tile of several: the blended sum so far and the weight each output pixel
    has received (1 where every tile touching it is done, 0 where none is): what `so_far` shows. Both are the
    live arrays: read, do not keep.
    `size` (width, height), when it is not the ×scale size: the result is the ×scale output resized to it with
    cv2.resize's INTER_LANCZOS4, made tile by tile (`Lanczos`): the ×scale output is never held whole, only
    one tile's and the result (no `on_tile` then)."""
    channels, height, width = image.shape
    native = (width * scale, height * scale)
    if size is not None and tuple(size) == native:
        size = None
    if size is not None and on_tile:
        raise ValueError("on_tile shows the ×scale output so far: it is not made when resizing tile by tile")
    tiles = list(windows(height, width, tile, overlap))
    if len(tiles) == 1:
        out = run(image)
        if size is not None:
            resized = Lanczos(out.shape[0], native[1], native[0], size)
            resized.add(out, 0, 0)
            out = resized.out
        if progress:
            progress(1, 1)
        return out
    out = weights = resized = None
    for i, (((y0, y1), (x0, x1)), ((ly, hy), (lx, hx)), ov) in enumerate(tiles):
        result = run(np.ascontiguousarray(image[:, ly:hy, lx:hx]))
        wy = _ramp(ly, hy, y0, y1, height, ov, scale)
        wx = _ramp(lx, hx, x0, x1, width, ov, scale)
        if size is not None:
            if resized is None:
                resized = Lanczos(result.shape[0], native[1], native[0], size)
            resized.add(result, ly * scale, lx * scale, wy, wx)
        else:
            if out is None:
                out = np.zeros((result.shape[0], native[1], native[0]), np.float32)
                weights = np.zeros((native[1], native[0]), np.float32) if on_tile else None
            out[:, ly * scale:hy * scale, lx * scale:hx * scale] += result * wy[:, None] * wx[None, :]
            if on_tile and i + 1 < len(tiles):  # (the last tile's is the result itself)
                weights[ly * scale:hy * scale, lx * scale:hx * scale] += wy[:, None] * wx[None, :]
                on_tile(out, weights)
        if progress:
            progress(i + 1, len(tiles))
    return resized.out if size is not None else out  # complementary ramps sum to exactly 1: no normalisation


UNFINISHED_DIM = 0.55  # the bicubic stand-in is drawn at this brightness: it must not pass for the network's work
SO_FAR_MAX_PIXELS = 16_000_000  # larger outputs show progress only: a picture so far costs ~4 bytes a pixel more


def so_far(out: np.ndarray, weights: np.ndarray, stand_in: np.ndarray) -> tuple[np.ndarray, float]:
    """A tiled result part-way: (H×W×C uint8, the share of pixels the network has drawn). Where tiles are done,
    their blend renormalised by the weight received so far (at a seam with an unfinished neighbour that is the
    done tile alone); elsewhere `stand_in` (H×W×C uint8: the bicubic of the input), dimmed."""
    drawn = weights > 0
    picture = (stand_in * np.float32(UNFINISHED_DIM)).astype(np.uint8)
    network = out.transpose(1, 2, 0)[drawn] / weights[drawn][:, None]
    picture[drawn] = to_uint8(network)
    return picture, float(drawn.mean())
