"""Widgets drawn from registry data: scale choice, and a method's parameters from its Param entries."""
from __future__ import annotations

import streamlit as st


def scale_picker(key: str, container=st) -> float:
    choice = container.radio("Scale", ["×2", "×3", "×4", "×8", "custom"], index=2, horizontal=True, key=key)
    if choice == "custom":
        return float(container.number_input("Custom scale", 1.0, 8.0, 2.5, 0.25, key=key + "_custom"))
    return float(choice[1:])


def param_widgets(method, key_prefix: str, container=st) -> dict:
    """One widget per Param (select for choices, slider for numbers); returns {name: value}."""
    values = {}
    for p in method.params:
        key = f"{key_prefix}_{method.name}_{p.name}"
        if p.choices is not None:
            values[p.name] = container.selectbox(p.label, p.choices, index=p.choices.index(p.default),
                                                 help=p.help, key=key)
        else:
            cast = type(p.default)
            values[p.name] = container.slider(p.label, cast(p.min), cast(p.max), p.default, cast(p.step),
                                              help=p.help, key=key)
    return values


def zoom_grid(labelled: list[tuple[str, "object"]], key: str, window: int = 128, shown_px: int = 384,
              per_row: int = 4) -> None:
    """The same region of every image (all the same size), at one magnification, pixels drawn as squares."""
    from ui.common import nearest_up
    from ui.slider import to_display

    out_h, out_w = labelled[0][1].shape[:2]
    zoom = min(window, out_w, out_h)
    z1, z2 = st.columns(2)
    zx = z1.slider("Zoom centre x (output px)", 0, out_w - 1, out_w // 2, key=f"{key}_zx")
    zy = z2.slider("Zoom centre y (output px)", 0, out_h - 1, out_h // 2, key=f"{key}_zy")
    x0, y0 = min(max(0, zx - zoom // 2), out_w - zoom), min(max(0, zy - zoom // 2), out_h - zoom)
    mag = max(1, shown_px // zoom)
    for start in range(0, len(labelled), per_row):
        cols = st.columns(per_row)
        for col, (label, px) in zip(cols, labelled[start:start + per_row]):
            region = to_display(px[y0:y0 + zoom, x0:x0 + zoom], zoom)
            col.image(nearest_up(region, (zoom * mag, zoom * mag)), caption=f"{label} ×{mag} zoom")
