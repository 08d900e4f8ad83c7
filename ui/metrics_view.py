"""Drawing the Metrics page's results: the scores table with the best marked, charts and error maps."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pandas as pd
import streamlit as st

from core.io.imageio import ImageError, LoadedImage, load_image
from core.io.pixels import to_uint8
from core.methods import is_network
from core.quality.degrade import Degradation
from core.quality.metrics import Metric, error_maps
from core.quality.scoring import Scores
from ui.charts import font_size, metric_dots, show, show_tradeoff, spectrum_caption, spectrum_chart, sweep_chart, width
from ui.compare import ab_slider
from ui.controls import dataframe, download
from ui.jobs import cached
from ui.picker import UPLOAD_TYPES
from ui.region import chosen_region, handout_window
from ui.slider import to_display
from ui.state import hold, method, own_models, projector
from ui.words import details

FREQUENCIES = "**Frequencies**: how much fine and coarse detail each result has, beside the truth"


def measure_words(metrics: list[Metric]) -> tuple[str, list[str]]:
    """What each measure says: one plain sentence for under the table, and the exact definitions for Details."""
    plain = "; ".join(f"**{m.label}**: {m.plain}" for m in metrics) + "."
    return plain, [f"{m.label}: {m.about}." for m in metrics]


def uploaded_reference(image: LoadedImage) -> LoadedImage | None:
    """The uploaded true reference; a rejected upload says why and keeps the last good one (nothing else
    changes), and its error goes once a good file arrives."""
    up = st.file_uploader("Reference (the true high-resolution image)", type=UPLOAD_TYPES, key="met_ref")
    if up is not None and st.session_state.get("met_ref_id") != up.file_id:
        st.session_state.met_ref_id = up.file_id
        try:
            ref = load_image(up.getvalue(), up.name)
            hold("reference", ref.pixels.nbytes + up.size)
            if not 1 <= ref.width / image.width <= 8:
                raise ImageError(f"it is ×{ref.width / image.width:.3g} the input's width; a reference must be "
                                 "×1 to ×8 the input")
            st.session_state.met_ref_good, st.session_state.met_ref_error = ref, None
        except ImageError as exc:
            st.session_state.met_ref_error = f"That reference could not be used: {exc}"
    if msg := st.session_state.get("met_ref_error"):
        kept_one = " The previous reference is still used." if st.session_state.get("met_ref_good") else ""
        st.error(msg + kept_one)
    return st.session_state.get("met_ref_good")


def degradation_controls() -> Degradation:
    """The test pair's knobs (Metrics: make a test pair), in plain labels; σ and the seed are in their help."""
    from core.methods import SCALES
    from core.quality.degrade import DOWNSCALE_METHODS

    c = st.columns(6)
    factor = c[0].selectbox("Downscale ÷", SCALES, persist_state="session", key="met_factor")
    down = c[1].selectbox("Downscale with", DOWNSCALE_METHODS, persist_state="session", key="met_down")
    blur = c[2].slider("Blur (0 = off)", 0.0, 5.0, step=0.1, persist_state="session", key="met_blur",
                       help="Gaussian blur σ, in pixels of the clean image")
    noise = c[3].slider("Grain (0 = off)", 0.0, 50.0, step=1.0, persist_state="session", key="met_noise",
                        help="Gaussian noise σ on 0–255")
    jpeg = c[4].slider("JPEG quality (0 = off)", 0, 100, step=5, persist_state="session", key="met_jpeg",
                       help="Lower: smaller file, more blocks")
    seed = c[5].number_input("Grain pattern", 0, 10_000, persist_state="session", key="met_seed",
                             help="The random seed of the grain: the same number always gives the same grain")
    return Degradation(factor, down, blur, noise, int(jpeg), int(seed))


def show_pair(pair) -> None:
    """The test pair in plain words (its exact recipe under Details), its input and reference side by side."""
    st.markdown(pair.plain())
    details(f"Recipe: {pair.pipeline()}.")
    p1, p2 = st.columns(2)
    p1.image(to_display(pair.lr, 256), caption=f"input (degraded) {pair.lr.shape[1]}×{pair.lr.shape[0]}",
             output_format="PNG")
    p2.image(to_display(pair.hr, 256), caption=f"reference (clean) {pair.hr.shape[1]}×{pair.hr.shape[0]}",
             output_format="PNG")


def truth_caution(name: str) -> None:
    """A user's own photo made into the clean truth: say that a degraded one makes a poor truth."""
    st.warning(f"{name} is taken as the truth. Every score below measures closeness to it, so it should be a "
               "clean, sharp photo: an old, blurred, noisy or compressed one makes a poor truth (a method that "
               "removes its flaws scores worse). For a fair test use a built-in sample, or upload the clean "
               "original under 'Upload a reference'.")


def scores_frame(scores: Scores, with_input: bool) -> tuple[pd.DataFrame, dict[str, Metric]]:
    """The table as shown: one column per metric, headed with its label, unit and direction."""
    df = pd.DataFrame(scores.records()).set_index("method")
    if with_input:
        df = pd.concat([pd.DataFrame([{"method": "(input)", **scores.input_values}]).set_index("method"), df])
    columns = {m.heading: m for m in scores.metrics}
    table = df[[m.name for m in scores.metrics] + ["seconds", "output"]]
    return table.set_axis([*columns, "time (s)", "output"], axis=1), columns


def show_scores(res: dict, reference, y_only: bool, crop_border: int, policy: str) -> None:
    scores: Scores = res["scores"]
    table, columns = scores_frame(scores, with_input=not scores.reference)
    best = {h: scores.best(m) for h, m in columns.items() if scores.best(m)}

    def mark_best(column: pd.Series):
        return ["font-weight: bold; background-color: #c8e6c9" if best.get(column.name) == i else ""
                for i in column.index]

    styled = table.style.apply(mark_best).format({**{h: m.format for h, m in columns.items()},
                                                  "time (s)": lambda v: "" if pd.isna(v) else f"{v:.2f}"})
    plain, about = measure_words(scores.metrics)
    descriptive = [m.label for m in scores.metrics if m.higher_is_better is None or not m.marks_best]
    unmarked = (f" Not marked best: {', '.join(descriptive)}: they describe a picture (its edges, its grain); more or "
                "less of them is not better (a blocky picture has little grain)." if descriptive else "")
    if not scores.reference:
        st.warning("No reference: PSNR, SSIM, LPIPS and the other full-reference scores need the true "
                   "high-resolution image and are not shown. Below are no-reference measures, which describe an "
                   "image but cannot say which restore is right.")
        dataframe(styled, key="met_table", height="content")
        st.caption(plain + unmarked)
        details(*about)
        download("Download CSV", scores.csv().encode(), "measures.csv", "text/csv", key="met_csv")
        return
    st.subheader("Scores against the true reference")
    dataframe(styled, key="met_table", height="content")
    st.caption("Best per column in bold green: " + ", ".join(f"{columns[h].label} {v}" for h, v in best.items())
               + ". " + plain)
    details("How the scores were made: " + "; ".join(scores.notes) + ".", *about,  # full sentences: a table
            *(f"**{r.method}** did: {r.what}" for r in scores.rows))  # column would cut them
    download("Download CSV", scores.csv().encode(), "scores.csv", "text/csv", key="met_csv")

    st.markdown("**Each metric**, best on top (the axis spans the values, it does not start at 0)")
    df = pd.DataFrame(scores.records()).set_index("method")
    finite = df.replace([math.inf], np.nan)
    chart_cols = st.columns(1 if projector() else 2)
    for i, m in enumerate(m for m in scores.metrics if m.higher_is_better is not None):
        with chart_cols[i % len(chart_cols)]:
            show(metric_dots(finite[m.name], m.label, m.higher_is_better, m.decimals, font_size=font_size())
                 .properties(width=width()), f"{m.label} of every method")

    if {"psnr_db", "lpips"} <= set(df.columns):
        tradeoff(finite)
    error_map(res, list(df.index), reference, y_only, crop_border, policy)
    outputs = _outputs(res)
    compare(outputs, reference, res)
    frequency_view(outputs, reference, res)


def _outputs(res: dict) -> dict[str, np.ndarray]:
    """Each scored method's output, from the shared cache (a dropped one is simply left out)."""
    hits = {name: cached(request) for name, request in res["keys"].items()}
    return {name: hit[0].pixels for name, hit in hits.items() if hit is not None}


def compare(outputs: dict[str, np.ndarray], reference, res: dict) -> None:
    """Any two of the results, or a result and the truth, on one slider."""
    named = ([("reference (the truth)", reference)] if reference is not None else []) + list(outputs.items())
    sizes = {p.shape[:2] for _, p in named}
    if len(sizes) > 1:  # a method made another size (sizes differ: crop to the common top-left, as scoring does)
        h, w = min(s[0] for s in sizes), min(s[1] for s in sizes)
        named = [(n, p[:h, :w]) for n, p in named]
    st.markdown("**A / B**: any two results, or one and the truth, on one slider")
    ab_slider(named, key="met_ab")


def frequency_view(outputs: dict[str, np.ndarray], reference, res: dict) -> None:
    from core.quality.spectrum import compare_spectra

    if not outputs:
        return
    st.markdown(FREQUENCIES)
    view = compare_spectra(outputs, reference=reference, scale=res.get("scale"))
    show(spectrum_chart(view, font_size=font_size(), width=width()), "power spectra")
    spectrum_caption(view)


def report_button(res: dict, reference, lr, pipeline: str, name: str) -> None:
    """The handout: one self-contained HTML file (images and charts inside), made when it is downloaded."""
    from core.quality.report import comparison_html
    from core.quality.scoring import ImageRun

    region = chosen_region()

    def page() -> str:
        run = ImageRun(name, lr, reference, pipeline, res["scores"], list(res["keys"].values()), _outputs(res))
        out = next(iter(run.outputs.values()), None)
        window = None if region is None or out is None else handout_window(
            region, (out.shape[1], out.shape[0]), None, (lr.shape[1], lr.shape[0]))  # the region of every page
        return comparison_html(run, title=f"SR Lab: {name}", scale=res.get("scale"), font_size=font_size(),
                               own=own_models(), window=window)

    download("Download report (HTML, prints on A4)", page, "sr-lab-report.html", "text/html",
             key="met_report", help="Every method with its settings and weights' sha256, the scores, "
             "the charts, zoomed crops, the CPU and library versions: one file, readable offline.")


def tradeoff(finite: pd.DataFrame) -> None:
    from core.quality.charts import frontier

    points = finite.reset_index()[["method", "kind", "psnr_db", "lpips"]].dropna()
    edge = frontier(points)
    inside = [m for m in points["method"] if m not in edge]
    st.markdown("**Faithful or natural-looking?** Right is closer to the true pixels (PSNR), down looks closer to "
                "the truth (LPIPS). The dashed line joins the methods no other beats on both: "
                f"{', '.join(edge)}" + (f"; beaten on both: {', '.join(inside)}" if inside else "") +
                ". On the line, more of one costs some of the other.")
    show_tradeoff(points, "perception–distortion scatter")
    details("The perception–distortion trade-off (Blau & Michaeli, 2018): PSNR (pixel fidelity, higher is better) "
            "against LPIPS (perceptual distance, lower is better); the dashed line is the frontier.")


def error_map(res: dict, methods: list[str], reference, y_only: bool, crop_border: int, policy: str) -> None:
    st.markdown("**Where the errors are**")
    networks = [r.method for r in res["scores"].rows if is_network(method(r.method))]
    if st.session_state.get("met_map_method") not in methods:  # a network's errors are the lesson
        st.session_state.met_map_method = networks[-1] if networks else methods[0]
    pick = st.selectbox("Method", methods, persist_state="session", key="met_map_method")
    hit = cached(res["keys"][pick])
    if hit is not None and reference is not None:
        err, smap = error_maps(hit[0].pixels, reference, y_only=y_only, crop_border=int(crop_border),
                               size_policy=policy)
        m1, m2 = st.columns(2)
        heat = cv2.applyColorMap(to_uint8(err * 4), cv2.COLORMAP_INFERNO)
        m1.image(to_display(cv2.cvtColor(heat, cv2.COLOR_BGR2RGB), 512),
                 caption=f"absolute error ×4 (bright = wrong), {pick}", output_format="PNG")
        m2.image(to_display(to_uint8(smap), 512),
                 caption=f"SSIM map (dark = structure differs), {pick}", output_format="PNG")


def sweep_panel(clean: np.ndarray, base, methods: list[str], measures: list[str], y_only: bool,
                crop_border: int) -> None:
    """The survey's method table made live: the chosen methods scored while one degradation knob moves (the
    others as set above), as a job with progress; each step is kept, so moving back costs nothing."""
    from core.quality.sweep import KNOBS
    from ui import jobs

    with st.expander("Sweep: score the methods while one degradation knob moves"):
        knob = st.radio("Knob", list(KNOBS), horizontal=True, persist_state="session", key="met_sweep_knob",
                        format_func=lambda k: f"{KNOBS[k].label} ({', '.join(f'{v:g}' for v in KNOBS[k].steps)})")
        st.caption(f"The other knobs stay as set above; {len(methods)} methods × {len(KNOBS[knob].steps)} steps "
                   "(each step cached).")
        if st.button("Run the sweep", key="met_sweep_run", disabled=not methods):
            job = jobs.submit_sweep(clean, methods, knob, base, measures, y_only, crop_border)
            st.session_state.met_sweep_job = job.id
        if job := jobs.follow(st.session_state.get("met_sweep_job"), "met_sweep"):
            if job.done:
                done = job.result
                show(sweep_chart(done, font_size=font_size(), width=width()), f"sweep over {done.knob.label}")
                st.caption(f"Other knobs fixed: {done.fixed}. " + " ".join(done.errors))
