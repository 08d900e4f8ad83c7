"""Metrics: score every method against a true reference (uploaded, or made by degrading a clean image)."""
import streamlit as st

from core.io.imageio import image_key
from core.io.samples import SAMPLES
from core.pipeline.engine import Request
from core.quality.degrade import make_pair
from core.quality.metrics import METRICS
from core.quality.scoring import entries
from ui import jobs
from ui.controls import scale_picker
from ui.metrics_view import (
    degradation_controls,
    report_button,
    show_pair,
    show_scores,
    sweep_panel,
    truth_caution,
    uploaded_reference,
)
from ui.picker import chosen_sample
from ui.state import kept, method_names, require_image

st.title("Metrics")
image = require_image()

DEFAULT_METHODS = ["nearest", "bicubic", "bilateral", "wavelet", "SPAN_x4", "realesr-animevideov3",
                   "RealESRGAN_x4plus"]
MODES = ["Make a test pair from a clean image", "Upload a reference", "No reference"]
DEFAULTS = dict(met_mode=MODES[0], met_factor=4, met_down="bicubic", met_blur=0.0, met_noise=0.0, met_jpeg=0,
                met_seed=0, met_methods=DEFAULT_METHODS, met_y=True, met_policy="crop")
for k, v in DEFAULTS.items():  # widgets below take their values from here, so the demo can set them
    kept(k, v)


def one_click() -> None:
    """The classroom demo: astronaut, ×4, noise σ 10, JPEG 60, seven methods (the button says it plainly)."""
    st.session_state.update(DEFAULTS, source_w="Sample", sample_w="astronaut", met_noise=10.0, met_jpeg=60,
                            met_go=True)


st.button("One click: astronaut, made 4× smaller, grainy and a low-quality JPEG; seven methods restore it",
          on_click=one_click, key="met_demo", type="primary")

mode = st.radio("Reference", MODES, horizontal=True, persist_state="session", key="met_mode")
reference = None
lr_pixels, notes = image.pixels, []
if mode == MODES[0]:
    sample = chosen_sample()
    clean = SAMPLES[sample].original() if sample else image.pixels
    st.caption(f"Clean image: {'the full-size original of the sample ' + sample if sample else image.name}, "
               f"{clean.shape[1]}×{clean.shape[0]}. It becomes the reference; its degraded copy the input.")
    if not sample:
        truth_caution(image.name)
    degradation = degradation_controls()
    pair = make_pair(clean, degradation)
    show_pair(pair)
    lr_pixels, reference, outscale = pair.lr, pair.hr, float(degradation.scale)
elif mode == MODES[1]:
    ref = uploaded_reference(image)
    reference, outscale = (ref.pixels, ref.width / image.width) if ref else (None, 4.0)
    if ref:
        st.caption(f"Reference {ref.name}: {ref.describe()}; input {image.describe()}: scale ×{outscale:.4g} "
                   "(reference width ÷ input width).")
    else:
        st.caption("Upload the high-resolution original of the image in the sidebar.")
else:
    outscale = scale_picker("met_scale")

methods = st.multiselect("Methods", method_names(), persist_state="session", key="met_methods")
c2, c3, c4 = st.columns(3)
y_only = c2.toggle("Brightness only (as papers)",
                   persist_state="session", key="met_y", help="PSNR/SSIM on the Y channel, BT.601 luma (as published "
                                                           "SR tables) instead of RGB. LPIPS is always RGB.")
crop_border = c3.number_input("Leave out a border (px)", 0, 32,
                              persist_state="session", key=kept(f"met_crop_{outscale:g}", int(round(outscale))),
                              help="Pixels removed on every side before scoring; the scale, as BasicSR does.")
policy = c4.radio("If sizes differ", ["crop", "refuse"], horizontal=True, persist_state="session", key="met_policy",
                  help="crop: both to the common top-left area (said in the notes); refuse: no score.")

has_ref = reference is not None
measures = st.multiselect("Measures", [m.name for m in entries("all", has_ref)], persist_state="session", key=kept(
    f"met_measures_{has_ref}", [m.name for m in entries(None, has_ref)]), format_func=lambda n: METRICS.get(n).label,
    help="; ".join(f"{m.label}: {m.about}" for m in entries("all", has_ref)))
go = st.button("Score", key="met_run", disabled=not (methods and measures)) or st.session_state.pop("met_go", False)
lr_key = image_key(lr_pixels)
settings_now = (lr_key, None if reference is None else image_key(reference), outscale, tuple(methods), y_only,
                int(crop_border), policy, tuple(measures))
if go:
    keys = {name: Request.make(name, outscale=outscale, image_key=lr_key) for name in methods}
    job = jobs.submit_scoring(f"Scoring {len(keys)} methods", lr_pixels, reference, list(keys.values()),
                              key=settings_now, metrics=measures, y_only=y_only, crop_border=int(crop_border),
                              size_policy=policy)
    pipeline = pair.pipeline() if mode == MODES[0] else (f"given reference {ref.name}" if reference is not None else
                                                         f"{image.name}, no reference")
    st.session_state.met_job = job.id
    st.session_state.met_pending = dict(lr_key=lr_key, settings=settings_now, keys=keys, scale=outscale,
                                        pipeline=pipeline, lr=lr_pixels)
if job := jobs.follow(st.session_state.get("met_job"), "met"):
    if job.done and st.session_state.get("met_pending"):
        st.session_state.met_result = dict(scores=job.result, **st.session_state.pop("met_pending"))

res = st.session_state.get("met_result")
if res:
    for error in res["scores"].errors:
        st.error(error)
if not res or res["lr_key"] != lr_key or not res["scores"].rows:
    st.caption("Choose methods and press Score.")
    st.stop()
if res["settings"] != settings_now:
    st.info("The scores below were made with other settings than the controls show now: press Score to update.")

show_scores(res, reference, y_only, int(crop_border), policy)
report_button(res, reference, res["lr"], res["pipeline"], image.name)
if mode == MODES[0]:
    sweep_panel(clean, degradation, methods, measures, y_only,
                int(crop_border))
