"""Drawing an enhanced result: the crop region, the slider, the zoom grid, the statistics and the download."""
from __future__ import annotations

import cv2
import numpy as np
import streamlit as st

from core.engine import EnhanceResult, Request
from core.imageio import LoadedImage
from ui.controls import nearest_up, zoom_grid
from ui.slider import slider_html, slider_size, to_display
from ui.state import kept

DISPLAY_MAX = 1024  # px: larger results are shown downsized; the full size is a download


def crop_picker(image: LoadedImage) -> tuple[int, int, int, int]:
    """The preview region (x, y, w, h), chosen in an expander and drawn on a thumbnail of the image."""
    h, w = image.height, image.width
    with st.expander(f"Preview region ({'the whole image' if max(h, w) <= 128 else 'part of the image'})"):
        sizes = [s for s in (128, 192, 256) if s <= max(h, w)] or [max(h, w)]
        key = kept("enh_crop", sizes[0])
        if st.session_state[key] not in sizes:
            st.session_state[key] = sizes[0]
        side = st.select_slider("Crop size (input px)", sizes, key=key)
        cw, ch = min(side, w), min(side, h)
        cx = st.slider("Centre x", cw // 2, w - (cw - cw // 2), w // 2, key="enh_cx") if w > cw else w // 2
        cy = st.slider("Centre y", ch // 2, h - (ch - ch // 2), h // 2, key="enh_cy") if h > ch else h // 2
        x0, y0 = min(max(0, cx - cw // 2), w - cw), min(max(0, cy - ch // 2), h - ch)
        thumb = np.array(to_display(image.pixels, 320), copy=True)  # drawn on: never the input itself
        f = thumb.shape[1] / w
        if thumb.ndim == 2:
            thumb = cv2.cvtColor(thumb, cv2.COLOR_GRAY2RGB)
        color = (255, 60, 0, 255)[:thumb.shape[2]]
        cv2.rectangle(thumb, (int(x0 * f), int(y0 * f)), (int((x0 + cw) * f) - 1, int((y0 + ch) * f) - 1), color, 2)
        st.image(thumb, caption=f"crop {cw}×{ch} at ({x0}, {y0}), outlined")
    return x0, y0, cw, ch


def show_enhanced(image: LoadedImage, request: Request, result: EnhanceResult, png: bytes) -> None:
    s = result.stats
    crop = request.crop
    src = image.pixels if crop is None else image.pixels[crop[1]:crop[1] + crop[3], crop[0]:crop[0] + crop[2]]
    out_w, out_h = s.output_size
    what = f"crop {crop[2]}×{crop[3]} at ({crop[0]}, {crop[1]})" if crop else "full image"
    done_by = f"network ×{s.network_scale}" + ("" if s.resize == "none" else f", then {s.resize}")
    st.subheader(f"Result: {s.method} on the {what}")
    st.caption(f"{done_by}. Settings of this result: scale ×{s.outscale:g}, backend {s.backend}, face: {s.face}.")

    before = nearest_up(src, (out_w, out_h))
    shown_before, shown_after = to_display(before, DISPLAY_MAX), to_display(result.pixels, DISPLAY_MAX)
    _, frame_height = slider_size(shown_after)
    st.iframe(slider_html(shown_before, shown_after, f"input, nearest-neighbour ×{s.outscale:g}",
                          f"{s.method} ×{s.outscale:g}"), height=frame_height)
    if shown_after.shape[:2] != result.pixels.shape[:2]:
        st.caption(f"Display preview downsized to {shown_after.shape[1]}×{shown_after.shape[0]}; "
                   f"the download is the full {out_w}×{out_h}.")

    st.markdown("**Zoom** (same region, same magnification, pixels shown as squares)")
    bicubic = cv2.resize(src, (out_w, out_h), interpolation=cv2.INTER_CUBIC)
    zoom_grid([("input, nearest neighbour", before), ("bicubic (OpenCV)", bicubic), (s.method, result.pixels)],
              key="enh", per_row=3)

    st.markdown("**Statistics**")
    rows = s.rows(len(png))
    st.table({"": [r[0] for r in rows], "value": [r[1] for r in rows]})
    for note in s.notes:
        st.caption(note)
    stem = image.name.rsplit(".", 1)[0]
    st.download_button(f"Download full-size PNG ({out_w}×{out_h}, {len(png) / 1e6:.1f} MB)", png,
                       file_name=f"{stem}_{s.method}_x{s.outscale:g}{'_crop' if crop else ''}.png",
                       mime="image/png", key="enh_download")
