"""The "What the network looks at" view: submits an attribution job (core/quality/attribution.py; the page only
gathers choices) and draws its maps side by side with their Diffusion Index and one sentence each."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.io.imageio import LoadedImage
from core.serve.jobs import Job
from ui import jobs
from ui.controls import download
from ui.slider import png_of
from ui.state import own_models, projector

DEFAULT_METHODS = ("bicubic", "realesr-animevideov3", "RealESRGAN_x4plus")


def attributable(scale: int) -> tuple[list[str], list[str]]:
    """(names that can be mapped at ×scale, families that cannot: no torch forward), from the methods' own data."""
    from core.methods import METHODS

    every = [*METHODS, *own_models().values()]
    ok = [m.name for m in every if m.attributable and (m.native_scale or scale) == scale]
    refused = sorted({m.family for m in every if not m.attributable and m.native_scale})
    return ok, refused


def submit(request, image: LoadedImage) -> Job:
    """The attribution as a job: progress per path step, Cancel between layers, kept across page switches."""
    from core.serve.tasks.attribute import attribution

    own = {name: m for name, m in own_models().items() if name in request.methods}
    request.check(image.width, image.height, own)  # a bad request is one line now, not a failed job later
    return jobs.submit(attribution(request, image.pixels, own))


def show(result, name: str) -> None:
    """Each method's map over the input region, side by side (two a row on the projector), then the figures."""
    from core.quality.attribution import heat_overlay, sentences
    from core.quality.report import attribution_html

    r = result.request
    x, y, w, h = result.region
    told = sentences(result)
    per_row = 2 if projector() else min(4, len(result.maps) + 1)
    crop = (result.crop * 255 + 0.5).clip(0, 255).astype("uint8")
    cells = [("the input region", crop.repeat(4, axis=0).repeat(4, axis=1), "")]  # as large as the maps
    cells += [(f"{m.method}: DI {m.di:.2f}", heat_overlay(result.crop, m.map, result.window, r.scale),
               told[m.method]) for m in result.maps]
    for start in range(0, len(cells), per_row):
        for col, (label, pixels, sentence) in zip(st.columns(per_row), cells[start:start + per_row]):
            col.image(png_of(pixels), caption=label, width="stretch", output_format="PNG")
            if sentence:
                col.caption(sentence)
    wx, wy, size = r.window
    st.caption(f"Window {size}×{size} output px (cyan) at ({wx}, {wy}) of the ×{r.scale} output; each map covers "
               f"the {w}×{h} input region at ({x}, {y}). Bright: input pixels that changed "
               f"the window most. {r.steps} path steps from a blur of σ {r.sigma:g}. DI = (1 − Gini of the map) × 100:"
               f" larger when a method draws on a wider area (Gu & Dong, CVPR 2021). Measured on {result.cpu}.")
    table = pd.DataFrame([{"method": m.method, "DI": round(m.di, 2), "90 % within (input px)": round(m.reach_px, 1),
                           "seconds": round(m.seconds, 1), "completeness gap %": round(100 * m.completeness_gap, 2),
                           "what ran": m.what} for m in result.maps]).set_index("method")
    st.dataframe(table, key="attr_table")
    download("Download report", attribution_html(result, name=name), file_name="attribution.html", mime="text/html",
             key="attr_report")
