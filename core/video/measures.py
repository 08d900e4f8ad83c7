"""Measures on clips, frame by frame as frames come (two frames held at most).

With a reference clip: each frame's full-reference scores (core/quality/metrics.py's measures and conventions)
and the flicker (CLIP_MEASURES["flicker"]): the warping error of the output minus that of the reference, with
the optical flow computed on the reference (OpenCV DIS, medium preset):

    F_t       = DIS flow from reference frame t+1 to reference frame t (gray, 8-bit)
    W_t(x)    = x warped onto frame t+1 along F_t (cv2.remap, bilinear), M_t the pixels whose source is inside
    E(x)_t    = mean over M_t and channels of (W_t(x_t) − x_{t+1})², on 0…1
    flicker_t = 1000 · (E(output)_t − E(reference)_t)

0 for an output exactly as steady as the reference (any output that equals the reference, a static scene
reproduced identically); positive for invented change from frame to frame (a brightness jitter of ±d on a
static scene gives 1000·(2d)²). The clip's value is the mean over its frame pairs.
Without a reference: the no-reference measures of each frame and the frame-to-frame change
(CLIP_MEASURES["change"]: mean |x_t − x_{t−1}| on 0…1, motion included).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from core.io.pixels import to_uint8
from core.quality import metrics as M

DEFAULT_FULL = ("psnr_db", "ssim", "lpips")


@dataclass(frozen=True)
class ClipMeasure:
    name: str
    label: str
    higher_is_better: bool
    needs_reference: bool
    unit: str
    about: str


CLIP_MEASURES = {m.name: m for m in [
    ClipMeasure("flicker", "Flicker", False, True, "×10⁻³",
                "1000·(E(output) − E(reference)), E = mean squared error on 0…1 of frame t warped to frame t+1 "
                "by the reference's optical flow (OpenCV DIS, medium) against frame t+1, inside the warp; 0 = as "
                "steady as the reference"),
    ClipMeasure("change", "Change", None, False, "",
                "frame-to-frame change: mean |frame t − frame t−1| on 0…1 (motion included)"),
]}


def _gray(x: np.ndarray) -> np.ndarray:
    u8 = to_uint8(x)
    return u8[..., 0] if u8.shape[2] == 1 else cv2.cvtColor(u8, cv2.COLOR_RGB2GRAY)


_dis = None


def flow_back(ref_next: np.ndarray, ref_cur: np.ndarray) -> np.ndarray:
    """DIS flow from frame t+1 to frame t (H×W×2): pixel p of t+1 comes from p + flow(p) in t."""
    global _dis
    if _dis is None:
        _dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return _dis.calc(_gray(ref_next), _gray(ref_cur), None)


def warp_error(cur: np.ndarray, nxt: np.ndarray, flow: np.ndarray) -> float:
    """E: mean squared error of `cur` warped along `flow` against `nxt`, over the pixels whose source is inside."""
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mx, my = gx + flow[..., 0], gy + flow[..., 1]
    warped = cv2.remap(cur, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    warped = warped[..., None] if warped.ndim == 2 else warped
    inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
    if not inside.any():
        return math.nan
    return float(((warped - nxt) ** 2)[inside].mean())


def flicker_pair(out_cur, out_next, ref_cur, ref_next) -> float:
    """One frame pair's flicker (module docstring), frames H×W×C float on 0…1 of one size."""
    flow = flow_back(ref_next, ref_cur)
    return 1000.0 * (warp_error(out_cur, out_next, flow) - warp_error(ref_cur, ref_next, flow))


def _common(out: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = min(out.shape[0], ref.shape[0]), min(out.shape[1], ref.shape[1])
    return np.ascontiguousarray(out[:h, :w]), np.ascontiguousarray(ref[:h, :w])


class ClipScorer:
    """Scores a clip frame by frame: `add(output, reference=None)` (uint8 H×W×3) returns that frame's row;
    `summary()` the clip's means. Holds the previous frame (and reference) only."""

    def __init__(self, full: tuple[str, ...] | list[str] = DEFAULT_FULL, no_reference: list[str] | None = None):
        self.full, self.no_reference = list(full), no_reference
        self.rows: list[dict] = []
        self.notes: list[str] = []
        self._prev = None

    def add(self, output: np.ndarray, reference: np.ndarray | None = None) -> dict:
        out = M.to_float(output)
        row: dict[str, float] = {"frame": len(self.rows)}
        if reference is not None:
            values, notes = M.score(output, reference, metrics=self.full)
            row.update(values)
            if not self.notes:
                self.notes = notes
            out, ref = _common(out, M.to_float(reference))
            if self._prev is not None and self._prev[0].shape == out.shape:
                row["flicker"] = flicker_pair(self._prev[0], out, self._prev[1], ref)
            self._prev = (out, ref)
        else:
            row.update(M.indicators(output, self.no_reference))
            if self._prev is not None and self._prev[0].shape == out.shape:
                row["change"] = float(np.abs(out - self._prev[0]).mean())
            self._prev = (out, None)
        self.rows.append(row)
        return row

    def summary(self) -> dict[str, float]:
        """Each measure's mean over the frames that have it (flicker and change: over the frame pairs);
        PSNR as the mean of per-frame dB (as REDS4 / Vimeo-90K tables report it)."""
        keys = [k for k in (self.rows[0] if self.rows else {}) if k != "frame"]
        keys += [k for k in ("flicker", "change") if len(self.rows) > 1 and k in self.rows[1]]
        out = {}
        for k in keys:
            vals = [r[k] for r in self.rows if k in r and not math.isnan(r[k])]
            finite = [v for v in vals if math.isfinite(v)]
            out[k] = float(np.mean(finite)) if finite else (math.inf if vals else math.nan)
        return out
