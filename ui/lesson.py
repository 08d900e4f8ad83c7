"""The start page's lesson, three steps on built-in images, each one click: *see* (bicubic against a GAN on a
small photo), *measure* (a degraded clean photo, several methods scored against the truth, the trade-off
chart), *compare* (several networks on one crop, ranked). Each step is a job like any other."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.io.imageio import image_key
from core.io.samples import SAMPLES
from core.pipeline.engine import Request
from core.quality.degrade import Degradation, make_pair
from core.quality.metrics import METRICS
from core.quality.ranking import network_set
from ui import jobs
from ui.charts import show_tradeoff
from ui.compare import slider
from ui.controls import dataframe
from ui.words import details, ranked_by

SEE = dict(sample="astronaut", methods=("bicubic", "RealESRGAN_x4plus"))
MEASURE = dict(sample="astronaut", degradation=Degradation(scale=4, noise_sigma=10.0, jpeg_quality=60),
               methods=("bicubic", "lanczos", "SPAN_x4", "realesr-animevideov3", "RealESRGAN_x4plus"))
COMPARE = dict(sample="astronaut_512", crop=(200, 120, 96, 96), budget_s=60)


def _state(step: str) -> list[str]:
    return st.session_state.setdefault(f"lesson_jobs_{step}", [])


def _watch(step: str) -> list:
    ids = _state(step)
    jobs.follow(ids, f"lesson_watch_{step}")
    return [j for j in map(jobs.get, ids) if j is not None]


def see() -> None:
    image = SAMPLES[SEE["sample"]].image()
    requests = [Request.make(m, outscale=4, image_key=image_key(image.pixels)) for m in SEE["methods"]]
    if st.button("1 · See: a 128×128 photo ×4, bicubic against a GAN", type="primary", key="lesson_see"):
        st.session_state.lesson_see_requests = requests
        _state("see")[:] = [j.id for r in requests if (j := jobs.submit_enhance(r.method, r, image))]
    _watch("see")
    done = [jobs.cached(r) for r in st.session_state.get("lesson_see_requests", [])]
    if done and all(done):
        (bicubic, _), (gan, _) = done
        slider(bicubic.pixels, gan.pixels, "bicubic ×4 (a formula)", "RealESRGAN_x4plus ×4 (a GAN)")
        st.caption("Drag the line. Bicubic only spreads the pixels it has; the GAN paints hair, skin and fabric it "
                   f"learned from other photos — sharp, and partly invented. Input: {image.describe()}; both "
                   f"results {gan.pixels.shape[1]}×{gan.pixels.shape[0]}.")


def measure() -> None:
    clean = SAMPLES[MEASURE["sample"]].original()
    pair = make_pair(clean, MEASURE["degradation"])
    requests = [Request.make(m, outscale=4, image_key=image_key(pair.lr)) for m in MEASURE["methods"]]
    if st.button("2 · Measure: degrade a clean photo, score five methods against the truth", key="lesson_measure"):
        job = jobs.submit_scoring("Lesson: scoring five methods", pair.lr, pair.hr, requests,
                                  key=("lesson", image_key(pair.lr)), metrics=["psnr_db", "ssim", "lpips"],
                                  y_only=True, crop_border=4)
        _state("measure")[:] = [job.id]
    for job in _watch("measure"):
        if job.done:
            scores = job.result
            st.markdown(measure_words(pair))
            table = pd.DataFrame(scores.records()).set_index("method")[["kind", "psnr_db", "ssim", "lpips"]]
            shown = table.copy()
            for name in ("psnr_db", "ssim", "lpips"):  # as every page writes this measure (Metric.format)
                shown[name] = shown[name].map(METRICS.get(name).format)
            dataframe(shown.rename(columns={n: METRICS.get(n).heading for n in ("psnr_db", "ssim", "lpips")}),
                         key="lesson_table", height="content")
            show_tradeoff(table.reset_index()[["method", "kind", "psnr_db", "lpips"]], "lesson trade-off")
            st.caption("Right is closer to the true pixels, down looks closer to the truth. The dashed line joins "
                       "the methods no other beats on both: on it, more of one costs some of the other.")
            details(*measure_details(pair))


SCORED = ("psnr_db", "ssim", "lpips")


def measure_words(pair) -> str:
    """Step 2 in plain words: what was done to the photo, and what each score says."""
    return (f"{pair.plain()} Each method made it 4× larger again, and each result was compared with the clean "
            "photo. " + "; ".join(f"**{METRICS.get(n).label}**: {METRICS.get(n).plain}" for n in SCORED) + ".")


def measure_details(pair) -> list[str]:
    """Step 2's exact recipe and conventions, for its Details."""
    return [f"Recipe: {pair.pipeline()}.",
            "PSNR and SSIM on the brightness channel Y (BT.601), LPIPS on RGB; a border of 4 px removed on every "
            "side before scoring (as published tables do).",
            *(f"{METRICS.get(n).label}: {METRICS.get(n).about}." for n in SCORED)]


def compare_summary(ranking, tried: int) -> str:
    """How many ran, which did not fit (by name) and in what order they are shown, in one plain sentence."""
    ran, by = len(ranking.rows), ranking.measure
    text = (f"**{ran} of the {tried} ×{ranking.scale} networks ran** within the {ranking.budget_s:g} s budget, "
            f"best first by {ranked_by(by)}")
    if ranking.skipped:
        text += (f"; {len(ranking.skipped)} did not fit and did not run: "
                 + ", ".join(k.name for k in ranking.skipped))
    return text + "."


def compare_caption(ranking) -> str:
    """Under step 3's pictures: how to read the order, in plain words."""
    return (f"Ranked {ranking.question}. There is no true photo here to compare with, so the order says "
            f"{ranking.measure.plain_name}, not whether it is right: a network that invents believable detail "
            "can come first.")


def compare_details(ranking) -> list[str]:
    """Step 3's measure and how its times were made, for its Details."""
    by = ranking.measure
    return [f"Ranked by {by.label} ({by.arrow} better), a no-reference measure: {by.about}.",
            f"Times: {ranking.extrapolation}.", ranking.assumption and f"{ranking.assumption}."]


def compare() -> None:
    image = SAMPLES[COMPARE["sample"]].image()
    x, y, w, h = COMPARE["crop"]
    names = network_set("native", 4)
    if st.button(f"3 · Compare: as many of the {len(names)} ×4 networks as fit in {COMPARE['budget_s']} s, on one "
                 "small crop", key="lesson_compare"):
        job = jobs.submit_ranking(image.pixels[y:y + h, x:x + w], 4, names, None, COMPARE["budget_s"], "niqe",
                                  (image.width, image.height))
        _state("compare")[:] = [job.id]
    for job in _watch("compare"):
        if job.done:
            ranking = job.result
            st.markdown(compare_summary(ranking, len(names)))
            by = ranking.measure
            for i, row in enumerate(ranking.rows):
                if i % 4 == 0:  # a row of columns for each four: a two-line caption does not push the next row's
                    cols = st.columns(4)  # picture in its column below the others
                cols[i % 4].image(ranking.outputs[row.name], width="stretch", output_format="PNG",
                                  caption=f"{i + 1}. {row.name}: {by.label} {by.format(row.scores[by.name])}, "
                                          f"{row.seconds:.2f}\u00a0s")  # "s" never alone on a line
            st.caption(compare_caption(ranking))
            details(*compare_details(ranking))
            st.page_link("pages/which_model.py", label="Rank them on your own image: Which model?")
