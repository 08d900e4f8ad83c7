"""Enhance: one network on the chosen image, a crop preview first, then the full image."""
import dataclasses

import streamlit as st

from core.pipeline import face
from core.pipeline.colour import COLOUR_FIXES
from core.pipeline.engine import ALPHA_MODES, EnhanceError, Request
from core.runtime.backends import CHOICES as BACKEND_CHOICES
from ui import jobs
from ui.controls import param_widgets, scale_picker
from ui.jobs import cached
from ui.region import region_picker
from ui.result_view import full_image_note, show_enhanced, show_so_far, user_model_uploader
from ui.state import current_image_key, kept, method_names, require_image
from ui.state import method as method_of

st.title("Enhance")
image = require_image()
for note in image.notes:
    if not note.startswith("sample:"):
        st.info(f"About this image: {note}.")

c1, c2 = st.columns([3, 2])
if chosen_model := st.session_state.pop("enh_method_next", None):
    st.session_state.enh_method = chosen_model
method = c1.selectbox("Method", method_names(networks_only=True),
                      persist_state="session", key=kept("enh_method", "RealESRGAN_x4plus"))
spec = method_of(method)
c1.caption(f"{spec.description} Family: {spec.family}; licence: {spec.licence}.")
params = param_widgets(spec, "enh", c1)  # a network's own knobs (SRMD's noise level)
size = scale_picker("enh_scale", c2, fit=True)
outscale, fit = (size, None) if isinstance(size, float) else (None, size)
c2.caption(f"The network upscales ×{spec.native_scale}; " + (
    "no resize after it." if outscale == spec.native_scale else "a Lanczos resize then makes it " +
    (f"×{outscale:g}." if fit is None else f"{fit[0]}×{fit[1]}" + (" (centre cut)." if fit[2] == "crop" else "."))))

face_ok, face_why = face.availability()
f1, f2 = st.columns([1, 2])
use_face = f1.toggle("Face restoration (GFPGAN v1.4)", disabled=not face_ok,
                     persist_state="session", key=kept("enh_face", False),
                     help=face_why)
strength = f2.slider("Face strength", 0.0, 1.0, step=0.05, disabled=not (face_ok and use_face),
                     help="0 keeps the network's faces, 1 uses GFPGAN's entirely.",
                     persist_state="session", key=kept("enh_strength", 0.5))
if not face_ok:
    note, button = st.columns([3, 1])
    note.caption("Face restoration is off: its weights are not on this server yet (fetched once from GitHub, "
                 "verified).", help=face_why)
    if button.button("Fetch face weights", key="enh_fetch"):
        st.session_state.enh_fetch_job = jobs.fetch_with_progress("face")
    jobs.follow(st.session_state.get("enh_fetch_job"), "enh_fetch")

with st.expander("Advanced: tile size, backend (CPU or GPU), colour fix, transparency, your own model"):
    a1, a2 = st.columns(2)
    tile = a1.selectbox("Tile size", [0, 64, 128, 192, 256, 384, 512], persist_state="session", key=kept("enh_tile", 0),
                        format_func=lambda t: "automatic" if t == 0 else f"{t} px",
                        help="Large images run in overlapping tiles, blended so no seams show; memory is bounded.")
    runtime = a2.selectbox("Backend (CPU or GPU)", BACKEND_CHOICES, persist_state="session",
                           key=kept("enh_backend", "auto"),
                           help="auto: the fastest backend whose output stays within 45 dB of fp32, measured once on "
                                "this machine (see the statistics for why). torch: the fp32 reference; torch-bf16: "
                                "bfloat16 weights; ncnn: the same files on the ncnn runtime; vulkan: this computer's "
                                "own GPU, where it has one (never a software one); cuda: an NVIDIA card.")
    fix = st.radio("Colour fix", COLOUR_FIXES, horizontal=True,
                   persist_state="session", key=kept("enh_colour_fix", "off"),
                   help="GANs can shift colours. mean/std: each channel gets the input's mean and spread; low band: "
                        "the input's low frequencies under the network's detail.")
    alpha = "resize"
    if image.channels in (2, 4):
        alpha = st.radio("Transparency", ALPHA_MODES, horizontal=True,
                         persist_state="session", key=kept("enh_alpha", "resize"),
                         format_func={"resize": "resize (bilinear)", "network": "through the network (sharper)"}.get)
    st.markdown("**Your own model**")
    user_model_uploader()
changed = [f"{name} {value}" for name, value, default in [("tile", tile, 0), ("backend", runtime, "auto"),
                                                         ("colour fix", fix, "off"), ("transparency", alpha, "resize")]
           if value != default]
if changed:
    st.caption("Advanced settings in use: " + ", ".join(map(str, changed)) + ".")
area = region_picker(image, current_image_key())
region = area.crop(image.width, image.height)
request = Request.make(method, params=params, outscale=outscale, tile=tile, face=use_face and face_ok,
                       face_strength=strength, backend=runtime, alpha=alpha, image_key=current_image_key(),
                       fit=fit and fit[:2], fit_mode=fit[2] if fit else "keep", colour_fix=fix)
buttons = st.container(horizontal=True)  # sized to their labels: nothing cut at 1280 px
preview = buttons.button(f"Preview a crop ({region[2]}×{region[3]})", type="primary", key="enh_preview")
full_ok, full_note = full_image_note(request, image)  # checked before the click: said beside its button
full = buttons.button(f"Enhance full image ({image.width}×{image.height})", key="enh_full", disabled=not full_ok)
buttons.caption(full_note)
if preview or full:
    wanted = dataclasses.replace(request, crop=region if preview else None)
    try:  # the request is checked now; the work runs as a job that no click or page switch stops
        job = jobs.submit_enhance("Crop preview" if preview else "Full image", wanted, image)
        st.session_state.enh_pending, st.session_state.enh_job = wanted, job and job.id
    except EnhanceError as exc:
        st.error(f"That cannot be done: {exc}")
if (running := jobs.follow(st.session_state.get("enh_job"), "enh", draws_so_far=True)) and (
        part := jobs.so_far(running)):
    show_so_far(image, running, st.session_state.enh_pending, part, area)
pending = st.session_state.get("enh_pending")
if pending is not None and cached(pending) is not None:
    st.session_state.enh_last = pending


def _size(req: Request) -> str:
    return f"fit {req.fit[0]}×{req.fit[1]}" if req.fit else f"×{req.scale(method_of(req.method)):g}"


last = st.session_state.get("enh_last")
if not last or last.image_key != current_image_key():
    st.caption("Preview a crop first (seconds on a CPU), then enhance the full image.")
    st.stop()
hit = cached(last)
if hit is None:
    st.warning("That result was dropped from the cache to save memory: run it again.")
    st.stop()
if dataclasses.replace(last, crop=None) != request:
    st.info("The result below was made with other settings than the controls show now "
            f"({last.method}, {_size(last)}, backend {last.backend}): press a button to update it.")
show_enhanced(image, last, *hit, area)
