"""Looking at results side by side: an A/B slider between any two of them (not only input vs result) and a
zoom grid — the same region of every result at one magnification, both from the shared region (ui/region.py)."""
from __future__ import annotations

import numpy as np
import streamlit as st

from ui.controls import nearest_up
from ui.region import Region
from ui.slider import SLIDER_MAX_WIDTH, slider_html, to_display
from ui.state import kept, projector

DISPLAY_MAX = 1024  # px: larger results are shown downsized; the full size is a download


def slider(before: np.ndarray, after: np.ndarray, before_label: str, after_label: str) -> None:
    """Two same-size images; as wide as the page in projector mode, with a Full screen button."""
    shown_before, shown_after = to_display(before, DISPLAY_MAX), to_display(after, DISPLAY_MAX)
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
    st.caption(f"Zoom: {side}×{side} output px at ({x}, {y}), ×{mag} (change it under Region)")
    for start in range(0, len(named), per_row):
        cols = st.columns(per_row)
        for col, (label, px) in zip(cols, named[start:start + per_row]):
            window = to_display(px[y:y + side, x:x + side], side)
            col.image(nearest_up(window, (side * mag, side * mag)), caption=f"{label}, ×{mag}")
