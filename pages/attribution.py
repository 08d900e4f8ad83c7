"""What the network looks at: local attribution maps of up to four methods for one window of the output, anywhere
on the image (the shared region picker), side by side with their Diffusion Index."""
import dataclasses

import streamlit as st

from core.io.pixels import centred
from core.quality.attribution import (
    DEFAULT_CONTEXT,
    DEFAULT_SIGMA,
    DEFAULT_STEPS,
    DEFAULT_WINDOW,
    LAM_STEPS,
    MAX_METHODS,
    REFINE_BUDGET_S,
    REFINE_GAP,
    AttributionRequest,
)
from ui import jobs
from ui.attribution_view import DEFAULT_METHODS, attributable, show
from ui.region import region_picker
from ui.state import current_image_key, kept, require_image
from ui.words import details

st.title("What the network looks at")
image = require_image()
st.caption("Which pixels of the small input did each method use to draw one small square (the window) of its "
           "large output? Each map lights up the pixels that mattered, brighter the more they did. Bicubic only "
           "reads the 4×4 pixels around the square; a network may look much further.")
details("A local attribution map (Gu & Dong, CVPR 2021) follows the window's gradients along a path from a blurred "
        "copy of the input to the input itself; the Diffusion Index (DI, shown as spread) says how widely the map "
        "is spread: (1 − Gini of the map) × 100. How it works, section 5, tells more.")
c1, c2, c3 = st.columns([1, 3, 1])
scale = c1.radio("Scale", (2, 3, 4), horizontal=True, persist_state="session", key=kept("attr_scale", 4),
                 format_func=lambda s: f"×{s}")
names, refused = attributable(scale)
st.session_state.setdefault("attr_methods", [n for n in DEFAULT_METHODS if n in names])
st.session_state.attr_methods = [n for n in st.session_state.attr_methods if n in names]
chosen = c2.multiselect(f"Methods (up to {MAX_METHODS})", names, max_selections=MAX_METHODS,
                        persist_state="session", key="attr_methods")
size = c3.select_slider("Window (output px)", (8, 16, 32), persist_state="session",
                        key=kept("attr_window", DEFAULT_WINDOW))
if refused:
    st.caption(f"Not offered here: {', '.join(refused)} (they run on a library that cannot trace back which "
               "pixels they used).")
with st.expander("Settings: how carefully each map is made"):
    a, b, c = st.columns(3)
    steps = a.slider("Steps (more: slower, more exact)", 8, 128, step=8, persist_state="session",
                     key=kept("attr_steps", DEFAULT_STEPS),
                     help=f"Path steps of the first pass ({DEFAULT_STEPS} by default); doubled while the map misses "
                          f"over {REFINE_GAP * 100:.0f} % of what the method did, as long as a method's map takes "
                          f"under {REFINE_BUDGET_S:g} s (LAM's paper: {LAM_STEPS} steps).")
    sigma = b.slider("Blur at the start", 0.5, 10.0, step=0.1, persist_state="session",
                     key=kept("attr_sigma", DEFAULT_SIGMA),
                     help=f"The Gaussian blur σ the path starts from ({DEFAULT_SIGMA:g} by default, as LAM's paper)")
    context = c.select_slider("Map covers (input px)", (32, 64, 96, 128), persist_state="session",
                              key=kept("attr_context", DEFAULT_CONTEXT),
                              help="The region around the window the map is made over (64: the paper's inputs). "
                                   "Larger costs more time: a step goes through the whole region.")
region = region_picker(image, current_image_key())
st.caption("The window sits at the region's centre; the map covers the region's centre area chosen above.")
out_w, out_h = image.width * scale, image.height * scale
wx, wy = centred(region.cx * out_w, size, out_w - 1), centred(region.cy * out_h, size, out_h - 1)
request = AttributionRequest(tuple(chosen), window=(wx, wy, size), scale=scale, steps=steps, sigma=sigma,
                             context=context, image_key=current_image_key())
if st.button(f"Map {len(chosen)} method(s) for the {size}×{size} window at ({wx}, {wy})", type="primary",
             key="attr_run", disabled=not chosen):
    try:
        job = jobs.submit_attribution(request, image)
    except ValueError as exc:  # one line: a method without a torch forward, a window outside the image
        st.error(str(exc).splitlines()[0])
    else:
        st.session_state.attr_job = job.id
        st.session_state.attr_name = image.name
if job := jobs.follow(st.session_state.get("attr_job"), "attr"):
    if job.done:
        shown = job.result
        if dataclasses.replace(shown.request, image_key="") != dataclasses.replace(request, image_key=""):
            st.caption("These maps are for the choices made when they were run (above: what a new run would map).")
        show(shown, st.session_state.get("attr_name", "image"))
