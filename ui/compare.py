"""Looking at results side by side: an A/B slider between any two of them (not only input vs result) and a
zoom grid — the same region of every result at one magnification, both from the shared region (ui/region.py)."""
from __future__ import annotations

import cv2
import numpy as np
import streamlit as st

from core.pipeline.engine import EnhanceResult, Request, plan
from core.serve.cache import BoundedCache
from ui.controls import nearest_up
from ui.region import Region
from ui.slider import SLIDER_MAX_WIDTH, PerArray, png_of, shown, slider_html, to_display
from ui.state import kept, projector


def slider(before: np.ndarray, after: np.ndarray, before_label: str, after_label: str) -> None:
    """Two same-size images; as wide as the page in projector mode, with a Full screen button."""
    shown_before, shown_after = shown(before), shown(after)
    st.iframe(slider_html(shown_before, shown_after, before_label, after_label,
                          max_width=None if projector() else SLIDER_MAX_WIDTH, font_px=20 if projector() else 13),
              height="content")
    if shown_after.shape[:2] != after.shape[:2]:
        st.caption(f"Shown downsized to {shown_after.shape[1]}×{shown_after.shape[0]}; the download is the full "
                   f"{after.shape[1]}×{after.shape[0]}.")


def ab_slider(named: list[tuple[str, np.ndarray]], key: str) -> None:
    """An A/B slider between any two of `named` (label, pixels; all the same size): A on the left."""
    labels = [label for label, _ in named]
    if len(labels) < 2:
        return
    left, right = st.columns(2)
    if st.session_state.get(f"{key}_a") not in labels:  # new results: the old choice may be gone
        st.session_state[f"{key}_a"] = labels[0]
    a = left.selectbox("A (left)", labels, persist_state="session", key=kept(f"{key}_a", labels[0]))
    default_b = next((label for label in labels if label != a), labels[0])
    if st.session_state.get(f"{key}_b") not in labels:
        st.session_state[f"{key}_b"] = default_b
    b = right.selectbox("B (right)", labels, persist_state="session", key=kept(f"{key}_b", default_b))
    pixels = dict(named)
    slider(pixels[a], pixels[b], a, b)


def zoom_grid(named: list[tuple[str, np.ndarray]], region: Region, made_from, input_size: tuple[int, int],
              per_row: int = 4) -> None:
    """The region's window in every image of `named` (all the same size, made from `made_from` of the input),
    at the region's magnification, pixels drawn as squares."""
    out_h, out_w = named[0][1].shape[:2]
    x, y, side = region.window(out_w, out_h, made_from, input_size)
    mag = region.magnification
    per_row = 2 if projector() else per_row
    st.caption(f"Zoom: {side}×{side} output px at ({x}, {y}), magnified ×{mag} (change it under Region)")
    for start in range(0, len(named), per_row):
        cols = st.columns(per_row)
        for col, (label, px) in zip(cols, named[start:start + per_row]):
            col.image(_zoomed_png(px, x, y, side, mag), caption=label, output_format="PNG")


def _window_png(pixels: np.ndarray, x: int, y: int, side: int, mag: int) -> bytes:
    window = to_display(pixels[y:y + side, x:x + side], side)
    return png_of(nearest_up(window, (side * mag, side * mag)))


_zoomed_png = PerArray(_window_png)  # a rerun with the region unchanged cuts, scales and hashes nothing


VIEWS_BYTES = 300_000_000  # the images each enhanced result is compared against, every session's


@st.cache_resource
def _views() -> BoundedCache:
    return BoundedCache(VIEWS_BYTES)


def beside_input(src: np.ndarray, request: Request, result: EnhanceResult, method) -> list[tuple[str, np.ndarray]]:
    """The result with what it is compared against, all at its size and cut: the input nearest-neighbour
    upscaled, bicubic, the result. The two made from the input are made once per request (by the job that made
    the result, which also encodes them for the slider), so the page runs that draw it only read them; only they
    count against VIEWS_BYTES (the result's pixels are the results cache's)."""
    s = result.stats
    mine = (f"{s.method} ×{s.outscale:.3g}", result.pixels)
    if (hit := _views().get(request)) is not None:
        return [*hit, mine]
    _, made, final = plan(request, src.shape[1], src.shape[0], method)
    x0, y0 = ((made[0] - final[0]) // 2, (made[1] - final[1]) // 2) if final else (0, 0)
    cut_w, cut_h = final or made

    def same_cut(arr):  # what a fit-and-fill did to the result
        return arr[y0:y0 + cut_h, x0:x0 + cut_w]

    made_from_input = [(f"input, nearest-neighbour ×{s.outscale:.3g}", same_cut(nearest_up(src, made))),
                       ("bicubic (OpenCV)", same_cut(cv2.resize(src, made, interpolation=cv2.INTER_CUBIC)))]
    _views().put(request, made_from_input)
    return [*made_from_input, mine]
