"""Which model for my image: every network (or a family, or the ×N ones) on a crop within a time budget, ranked
by a measure — against the truth when the image is a sample degraded as on the Metrics page."""
import streamlit as st

from core.methods import networks
from core.quality.degrade import Degradation, make_pair
from core.quality.ranking import NETWORK_SETS, network_set
from core.quality.scoring import entries
from ui import jobs
from ui.picker import chosen_sample
from ui.ranking_view import show_ranking
from ui.region import region_picker
from ui.state import current_image_key, kept, require_image
from ui.words import details

st.title("Which model?")
image = require_image()
st.caption("For this image, at this scale, on this computer: every network you pick runs on the region below, "
           "fastest first, until the time budget is spent; the ranking says how each did and how long the whole "
           "image would take.")
c1, c2, c3 = st.columns(3)
scale = c1.radio("Scale", (2, 3, 4), horizontal=True,
                 persist_state="session", key=kept("rank_scale", 4), format_func=lambda s: f"×{s}")
which = c2.radio("Networks", NETWORK_SETS, persist_state="session", key=kept("rank_which", "native"), horizontal=True,
                 format_func={"native": f"the ×{scale} ones", "all": "all", "family": "one family"}.get)
family = None
if which == "family":
    families = list(dict.fromkeys(n.family for n in networks()))
    family = c2.selectbox("Family", families, persist_state="session", key=kept("rank_family", families[0]))
budget = c3.slider("Time budget (s)", 10, 600, step=10, persist_state="session", key=kept("rank_budget", 60))
names = network_set(which, scale, family)
sample = chosen_sample()
truth = sample is not None and st.toggle(
    "Score against the truth: degrade the sample's clean original as on the Metrics page",
    persist_state="session", key=kept("rank_truth", True),
    help="The input becomes the clean sample made smaller (and blurred, grainy or a JPEG as the Metrics page "
         "says).")
if truth:
    from core.io.samples import SAMPLES

    get = st.session_state.get
    pair = make_pair(SAMPLES[sample].original(), Degradation(scale, get("met_down", "bicubic"), get("met_blur", 0.0),
                                                             get("met_noise", 0.0), int(get("met_jpeg", 0)),
                                                             int(get("met_seed", 0))))
    lr, hr = pair.lr, pair.hr
    st.caption(pair.plain())
    details(f"Recipe: {pair.pipeline()}.")
else:
    lr, hr = image.pixels, None
has_ref = hr is not None
rankable = {m.name: m for m in entries("all", has_ref) if m.higher_is_better is not None and m.marks_best}
measure = st.selectbox("Rank by", list(rankable), format_func=lambda n: rankable[n].heading,
                       persist_state="session", key=kept(f"rank_measure_{has_ref}", "psnr_db" if has_ref else "niqe"))
region = region_picker(image, current_image_key())
x, y, w, h = crop = region.crop(lr.shape[1], lr.shape[0])
lr_crop = lr[y:y + h, x:x + w]
ref_crop = hr[y * scale:(y + h) * scale, x * scale:(x + w) * scale] if has_ref else None
if st.button(f"Try {len(names)} networks on the {w}×{h} region", type="primary", key="rank_run", disabled=not names):
    job = jobs.submit_ranking(lr_crop, scale, names, ref_crop, budget, measure, (lr.shape[1], lr.shape[0]))
    made = pair.pipeline() if truth else f"the image as loaded ({image.name})"
    st.session_state.rank_job = job.id
    st.session_state.rank_view = (crop, (lr.shape[1], lr.shape[0]), ref_crop, lr_crop,
                                  f"{made}; region {w}×{h} at ({x}, {y})")
if job := jobs.follow(st.session_state.get("rank_job"), "rank"):
    if job.done:
        made_from, size, reference, shown_crop, pipeline = st.session_state.rank_view
        show_ranking(job.result, region, made_from, size, reference, shown_crop, name=sample or image.name,
                     pipeline=pipeline)
