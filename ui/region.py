"""One region of the image, chosen anywhere on it, shared by the crop (Enhance's preview, Baselines' run), the
zoom grid and the A/B slider's zoom: its centre as a share of the input (so it means the same on any result of
any size) and its side in input pixels; and one magnification (×2–×8) for every zoom. A new image starts on
its most detailed part, not its centre."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import streamlit as st

from core.io.imageio import LoadedImage
from core.io.pixels import centred
from core.quality.detail import most_detailed
from ui.slider import png_of, thumbnail
from ui.state import kept

SIDES = (64, 96, 128, 192, 256)
ZOOM_SHOWN_PX = 360  # each zoomed crop is drawn about this wide


@dataclass(frozen=True)
class Region:
    cx: float            # centre, as a share of the input's width and height
    cy: float
    side: int            # input px
    magnification: int

    def crop(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(x, y, w, h) of the input, inside it."""
        w, h = min(self.side, width), min(self.side, height)
        return centred(self.cx * width, w, width), centred(self.cy * height, h, height), w, h

    def window(self, out_w: int, out_h: int, made_from: tuple[int, int, int, int] | None,
               input_size: tuple[int, int]) -> tuple[int, int, int]:
        """(x, y, side) of a result's zoom window, out_w×out_h px made from `made_from` (x, y, w, h of the input,
        None: all of it): centred on the region's centre where the result shows it, else on the result's."""
        in_w, in_h = input_size
        x0, y0, w, h = made_from or (0, 0, in_w, in_h)
        fx = min(max((self.cx * in_w - x0) / w, 0.0), 1.0)
        fy = min(max((self.cy * in_h - y0) / h, 0.0), 1.0)
        side = max(4, min(ZOOM_SHOWN_PX // self.magnification, out_w, out_h))
        return centred(fx * out_w, side, out_w), centred(fy * out_h, side, out_h), side


@st.cache_data(max_entries=64, show_spinner=False)
def _most_detailed_of(image_key: str, _pixels: np.ndarray) -> tuple[float, float]:
    """most_detailed, once per image in this server (the samples are every session's)."""
    return most_detailed(_pixels)


def chosen_region() -> Region | None:
    """The region last chosen on any page (None before one was drawn)."""
    get = st.session_state.get
    if get("region_x") is None:
        return None
    return Region(get("region_x") / 100, get("region_y") / 100, get("region_side", 128), get("zoom_mag", 4))


def handout_window(region: Region, out: tuple[int, int], made_from, input_size: tuple[int, int]) -> tuple:
    """(x, y, side, magnification) of the region's zoom window on a result of out=(width, height): the handout's
    zoomed crops show what the page showed."""
    return (*region.window(out[0], out[1], made_from, input_size), region.magnification)


def region_picker(image: LoadedImage, image_key: str, container=None) -> Region:
    """The region controls (in an expander) with the region outlined on a thumbnail; returns the Region."""
    if st.session_state.get("region_of") != image_key:  # a new image: start on its most detailed part
        cx, cy = _most_detailed_of(image_key, image.pixels)
        st.session_state.region_x, st.session_state.region_y = round(cx * 100), round(cy * 100)
        st.session_state.region_of = image_key
    kept("region_x", 50), kept("region_y", 50), kept("region_side", 128), kept("zoom_mag", 4)
    kept("region_of", image_key)
    box = (container or st).expander("Region: where to crop and zoom (anywhere on the image)")
    with box:
        left, right = st.columns([3, 2])
        left.slider("Across (% of the width)", 0, 100, persist_state="session", key="region_x")
        left.slider("Down (% of the height)", 0, 100, persist_state="session", key="region_y")
        sides = [s for s in SIDES if s <= max(image.width, image.height)] or [SIDES[0]]
        if st.session_state.region_side not in sides:
            st.session_state.region_side = sides[-1] if st.session_state.region_side > sides[-1] else sides[0]
        left.select_slider("Crop size (input px)", sides, persist_state="session", key="region_side")
        left.select_slider("Zoom magnification", list(range(2, 9)),
                           persist_state="session", key="zoom_mag", format_func=lambda m: f"×{m}")
        region = Region(st.session_state.region_x / 100, st.session_state.region_y / 100,
                        st.session_state.region_side, st.session_state.zoom_mag)
        x, y, w, h = region.crop(image.width, image.height)
        thumb = np.array(thumbnail(image_key, 320, image.pixels), copy=True)  # drawn on: never the input itself
        f = thumb.shape[1] / image.width
        if thumb.ndim == 2:
            thumb = cv2.cvtColor(thumb, cv2.COLOR_GRAY2RGB)
        color = (255, 60, 0, 255)[:thumb.shape[2]]
        cv2.rectangle(thumb, (int(x * f), int(y * f)), (int((x + w) * f) - 1, int((y + h) * f) - 1), color, 2)
        right.image(png_of(thumb), caption=f"crop {w}×{h} at ({x}, {y}), outlined", output_format="PNG")
    return region
