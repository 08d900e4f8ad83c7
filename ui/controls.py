"""Widgets drawn from registry data: the scale, a method's parameters, the zoom grid. Every value widget
is `kept()`, so it survives page switches."""
from __future__ import annotations

import cv2
import streamlit as st

from core.methods import SCALES
from core.pipeline.engine import FIT_MODES
from ui.state import kept, projector


def scale_picker(key: str, container=st, fit: bool = False) -> float | tuple[int, int, str]:
    """A scale (×2…×8 or custom); with `fit`, also "fit to width × height" → (width, height, fit mode)."""
    options = [f"×{s}" for s in SCALES] + ["custom"] + (["fit to size"] if fit else [])
    choice = container.radio("Scale", options, horizontal=True, persist_state="session", key=kept(key, "×4"))
    if choice == "custom":
        return float(container.number_input("Custom scale", 1.0, 8.0, step=0.25,
                                            persist_state="session", key=kept(key + "_custom", 2.5)))
    if choice == "fit to size":
        w, h, m = container.columns([1, 1, 2])
        width = w.number_input("Width", 1, 16_000, step=100, persist_state="session", key=kept(key + "_fit_w", 1920))
        height = h.number_input("Height", 1, 16_000, step=100, persist_state="session", key=kept(key + "_fit_h", 1080))
        mode = m.radio("Aspect", FIT_MODES, persist_state="session", key=kept(key + "_fit_mode", "keep"), format_func={
            "keep": "keep (fits inside)", "crop": "fill, cut the centre"}.get)
        return int(width), int(height), mode
    return float(choice[1:])


def param_widgets(method, key_prefix: str, container=st) -> dict:
    """One widget per Param (select for choices, slider for numbers); returns {name: value}."""
    values = {}
    for p in method.params:
        key = kept(f"{key_prefix}_{method.name}_{p.name}", p.default)
        if p.choices is not None:
            values[p.name] = container.selectbox(p.label, p.choices, help=p.help, persist_state="session", key=key)
        else:
            cast = type(p.default)
            values[p.name] = container.slider(p.label, cast(p.min), cast(p.max), step=cast(p.step), help=p.help,
                                              persist_state="session", key=key)
    return values


def nearest_up(pixels, size: tuple[int, int]):
    return cv2.resize(pixels, size, interpolation=cv2.INTER_NEAREST)


def download(label: str, data, file_name: str, mime: str | None = None, *, key: str, container=st,
             help: str | None = None) -> None:
    """Every download button of the app. `on_click="ignore"`: a click only downloads. A click that reran the
    page gave every deferred download (`data` a callable) a new file id on the server, so a second button
    clicked before the browser had the new ids fetched an id that was gone, and its file never came."""
    container.download_button(label, data, file_name, mime, key=key, help=help, on_click="ignore")


def dataframe(data, key: str, container=st, **kw):
    """st.dataframe, drawn anew when projector mode is switched: its grid takes the text size when it is first drawn
    and Streamlit keeps a drawn grid whose place in the page is the same (a new key is not enough), so a table on
    the page before the switch kept its laptop size (318 px tall where a fresh one is 399). In projector mode it
    sits in a container of its own: another place, a new grid."""
    return (container.container() if projector() else container).dataframe(data, key=key, **kw)
