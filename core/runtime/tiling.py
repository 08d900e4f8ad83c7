"""Run an image-to-image network tile by tile with overlap blending, so memory is bounded by the tile and
no seams show. Shared by every backend; `auto_tile` sizes the tile from a memory budget.

RealESRGANer pastes tiles without blending (visible seams, upstream #211); here each tile is run with
`overlap` extra input pixels on every inner side, and neighbouring outputs are cross-faded with linear
ramps over that band. The ramps are separable, so their normalising sum is two 1-D arrays, not an image.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

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


def run_tiled(run: Callable[[np.ndarray], np.ndarray], image: np.ndarray, scale: int, tile: int,
              overlap: int = OVERLAP, progress: Progress | None = None, on_tile: TileDone | None = None) -> np.ndarray:
    """`run` maps a C×h×w float32 array to C'×(h·scale)×(w·scale). `tile` ≤ 0 runs the image whole.
    `on_tile(out, weights)` after each tile of several: the blended sum so far and the weight each output pixel
    has received (1 where every tile touching it is done, 0 where none is): what `so_far` shows. Both are the
    live arrays: read, do not keep."""
    channels, height, width = image.shape
    tiles = list(windows(height, width, tile, overlap))
    if len(tiles) == 1:
        out = run(image)
        if progress:
            progress(1, 1)
        return out
    out = weights = None
    for i, (((y0, y1), (x0, x1)), ((ly, hy), (lx, hx)), ov) in enumerate(tiles):
        result = run(np.ascontiguousarray(image[:, ly:hy, lx:hx]))
        if out is None:
            out = np.zeros((result.shape[0], height * scale, width * scale), np.float32)
            weights = np.zeros((height * scale, width * scale), np.float32) if on_tile else None
        wy = _ramp(ly, hy, y0, y1, height, ov, scale)
        wx = _ramp(lx, hx, x0, x1, width, ov, scale)
        out[:, ly * scale:hy * scale, lx * scale:hx * scale] += result * wy[:, None] * wx[None, :]
        if on_tile and i + 1 < len(tiles):  # (the last tile's is the result itself)
            weights[ly * scale:hy * scale, lx * scale:hx * scale] += wy[:, None] * wx[None, :]
            on_tile(out, weights)
        if progress:
            progress(i + 1, len(tiles))
    return out  # complementary ramps sum to exactly 1 everywhere: no normalisation needed


UNFINISHED_DIM = 0.55  # the bicubic stand-in is drawn at this brightness: it must not pass for the network's work
SO_FAR_MAX_PIXELS = 16_000_000  # larger outputs show progress only: a picture so far costs ~4 bytes a pixel more


def so_far(out: np.ndarray, weights: np.ndarray, stand_in: np.ndarray) -> tuple[np.ndarray, float]:
    """A tiled result part-way: (H×W×C uint8, the share of pixels the network has drawn). Where tiles are done,
    their blend renormalised by the weight received so far (at a seam with an unfinished neighbour that is the
    done tile alone); elsewhere `stand_in` (H×W×C uint8: the bicubic of the input), dimmed."""
    drawn = weights > 0
    picture = (stand_in * np.float32(UNFINISHED_DIM)).astype(np.uint8)
    network = out.transpose(1, 2, 0)[drawn] / weights[drawn][:, None]
    picture[drawn] = (np.clip(network, 0, 1) * 255 + 0.5).astype(np.uint8)
    return picture, float(drawn.mean())
