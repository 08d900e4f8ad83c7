"""Baselines: classical interpolations and filters side by side with the network, labelled truthfully."""
import streamlit as st

from core.io.output import result_name
from core.methods import is_network
from core.pipeline import face
from core.pipeline.engine import EnhanceError, Request
from ui import jobs
from ui.compare import ab_slider, zoom_grid
from ui.controls import download, param_widgets, scale_picker
from ui.jobs import cached
from ui.region import region_picker
from ui.result_view import no_reference_table
from ui.slider import DISPLAY_MAX, to_display
from ui.state import current_image_key, kept, method, method_names, projector, require_image
from ui.words import details

st.title("Baselines")
image = require_image()

DEFAULT = ["nearest", "bicubic", "bilateral", "wavelet", "RealESRGAN_x4plus"]
GROUP_TITLES = {"interpolation": "Interpolation", "denoise": "Denoise",
            "enhance": "Contrast and sharpness", "super-resolution": "Networks"}
chosen = []
halves = st.columns(2) + st.columns(2)  # two per row: wide enough that no method name is cut
for col, (purpose, title) in zip(halves, GROUP_TITLES.items()):
    names = [n for n in method_names() if method(n).purpose == purpose]
    chosen += col.multiselect(title, names, persist_state="session",
                              key=kept(f"base_methods_{purpose}", [n for n in DEFAULT if n in names]),
                              help="; ".join(f"{n}: {method(n).description}" for n in names[:12]))
c1, c2 = st.columns([2, 2])
outscale = scale_picker("base_scale", c1)
h, w = image.height, image.width
area = region_picker(image, current_image_key())
first_choice = "the region" if h * w > 256 * 256 else "full image"
where = c2.radio("Run on", ["the region", "full image"], horizontal=True, persist_state="session",
                 key=kept("base_where", first_choice),
                 help="Networks take seconds per 128×128 on a CPU; a region keeps it quick. Choose it anywhere "
                      "under Region.")
crop = area.crop(w, h) if where == "the region" and (w > area.side or h > area.side) else None

params = {}
with_params = [method(n) for n in chosen if method(n).params]
if with_params:
    st.caption("Parameters")
    cols = st.columns(min(3, len(with_params)))
    for i, m in enumerate(with_params):
        with cols[i % len(cols)].expander(m.label):
            st.caption(f"{m.description} Source: `{m.source}`.")
            params[m.name] = param_widgets(m, "base", st)

face_ok, face_why = face.availability()
use_face = st.toggle("Face restoration on the networks' results (GFPGAN v1.4)", persist_state="session",
                     key=kept("base_face", False),
                     disabled=not face_ok, help=face_why + " Classical methods are shown as they are.")
requests = [Request.make(n, outscale=outscale, params=params.get(n), image_key=current_image_key(), crop=crop,
                         face=use_face and face_ok and is_network(method(n))) for n in chosen]
if st.button("Run", type="primary", key="base_run", disabled=not chosen):
    submitted, st.session_state.base_jobs = [], []
    for request in requests:
        try:  # one job per method: a result Enhance made, or another session is making, is shared
            job = jobs.submit_enhance(request.method, request, image)
            submitted.append(request)
            st.session_state.base_jobs += [job.id] if job else []
        except EnhanceError as exc:  # one method that cannot run must not hide the others
            st.error(f"{request.method}: {exc}")
    st.session_state.base_last = submitted
jobs.follow(st.session_state.get("base_jobs", []), "base")

shown = [(r, cached(r)) for r in st.session_state.get("base_last", []) if r.image_key == current_image_key()]
shown = [(r, hit) for r, hit in shown if hit is not None]
if not shown:
    st.caption("Choose methods and press Run. Results of the Enhance page are reused, not recomputed.")
    st.stop()
if [r for r, _ in shown] != requests:
    st.info("The results below were made with other settings than the controls show now: press Run to update.")

first = shown[0][1][0]
out_w, out_h = first.stats.output_size
made_from = shown[0][0].crop
place = "full image" if made_from is None else "region {2}×{3} at ({0}, {1})".format(*made_from)
st.subheader(f"{len(shown)} results at ×{first.stats.outscale:g} ({out_w}×{out_h}), {place}")
per_row = 2 if projector() else 3
for start in range(0, len(shown), per_row):
    cols = st.columns(per_row)
    for col, (request, (result, png)) in zip(cols, shown[start:start + per_row]):
        s = result.stats
        col.image(to_display(result.pixels, DISPLAY_MAX // 2), width="stretch", output_format="PNG")
        col.caption(f"**{s.method}** ({s.kind}): {method(s.method).description} {s.elapsed_s:.2f}\u00a0s.")
        download("Download PNG", png, result_name(image.name, s.method, f"x{s.outscale:g}", ".png"), "image/png",
                 key=f"base_dl_{start}_{s.method}", container=col)

details(*(f"**{result.stats.method}** did: {result.stats.summary}" + (f"; faces: {result.stats.face}." if request.face
                                                                       else ".") for request, (result, _) in shown))
named = [(result.stats.method, result.pixels) for _, (result, _) in shown]
st.markdown("**A / B**: any two results on one slider")
ab_slider(named, key="base_ab")
st.markdown("**Zoom**: the same region of every result, at one magnification")
zoom_grid(named, area, made_from, (w, h))
no_reference_table(named, tuple(r for r, _ in shown), "base")
