"""The "What the network looks at" view: submits an attribution job (core/quality/attribution.py; the page only
gathers choices) and draws its maps side by side, legible on a projector (a log colour scale that shows the
spread, the 50 %/90 % reach as rings), with one plain sentence each (and when a map is rough); the exact method,
the Diffusion Index's formula and what ran under Details."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.io.pixels import to_uint8
from ui.controls import dataframe, download
from ui.slider import png_of
from ui.state import own_models, projector
from ui.words import details

DEFAULT_METHODS = ("bicubic", "realesr-animevideov3", "RealESRGAN_x4plus")


def attributable(scale: int) -> tuple[list[str], list[str]]:
    """(names that can be mapped at ×scale, families that cannot: no torch forward), from the methods' own data."""
    from core.methods import METHODS

    every = [*METHODS, *own_models().values()]
    ok = [m.name for m in every if m.attributable and (m.native_scale or scale) == scale]
    refused = sorted({m.family for m in every if not m.attributable and m.native_scale})
    return ok, refused


LOG_DECADES = 3  # the colour scale: a pixel used 1/1000 as much as the most-used one is the faintest colour
RINGS = ((0.5, "50 %", (255, 255, 255)), (0.9, "90 %", (140, 255, 140)))  # share of the map inside, its colour
PICTURE_PX = {False: 512, True: 800}  # a map's width as drawn (projector: larger), at least 4 px per input px


def map_picture(crop: np.ndarray, normed: np.ndarray, window: tuple[int, int, int], scale: int,
                centre: tuple[float, float], radii: list[float], big: bool) -> np.ndarray:
    """One map drawn to be read from the back of a room: the input in grey, the map's value as colour on a log
    scale (LOG_DECADES decades: a wide faint spread shows, where a linear scale left a few bright pixels), the
    radii holding 50 % and 90 % of the map as labelled rings around the window's centre, the window in cyan;
    magnified (nearest) to about PICTURE_PX wide, lines and labels in proportion."""
    import cv2

    h, w = normed.shape
    zoom = max(4, round(PICTURE_PX[big] / w))
    gray = cv2.cvtColor(to_uint8(crop), cv2.COLOR_RGB2GRAY)
    level = np.clip(1 + np.log10(np.maximum(normed, 1e-12)) / LOG_DECADES, 0, 1)
    heat = cv2.cvtColor(cv2.applyColorMap(to_uint8(level), cv2.COLORMAP_INFERNO),
                        cv2.COLOR_BGR2RGB).astype(np.float32)
    alpha = np.where(level > 0, 0.35 + 0.6 * level, 0.0)[..., None]
    base = np.repeat(gray[..., None], 3, axis=2).astype(np.float32) * 0.55
    out = (base * (1 - alpha) + heat * alpha).astype(np.uint8)
    out = np.ascontiguousarray(cv2.resize(out, (w * zoom, h * zoom), interpolation=cv2.INTER_NEAREST))
    line = max(2, zoom // 3)
    x, y, size = window
    f = zoom / scale
    cv2.rectangle(out, (int(x * f), int(y * f)), (int(np.ceil((x + size) * f)) - 1, int(np.ceil((y + size) * f)) - 1),
                  (0, 230, 255), line)
    cx, cy = centre[0] * zoom, centre[1] * zoom
    font = cv2.FONT_HERSHEY_SIMPLEX
    text_scale = out.shape[1] / (900 if big else 560)  # labels ~1/20 of the width: legible four to a row too
    ink_w = max(2, round(2 * text_scale))
    for side, ((share, label, colour), radius) in zip((-1, 1), zip(RINGS, radii)):  # 50 % left, 90 % right
        r = max(radius * zoom, line * 2)
        cv2.circle(out, (round(cx), round(cy)), round(r), colour, line, lineType=cv2.LINE_AA)
        (tw, th), _ = cv2.getTextSize(label, font, text_scale, ink_w + 3)
        left = cx + side * (r * 0.72 + line) - (tw if side < 0 else 0)
        spot = (round(min(max(left, 2), out.shape[1] - tw - 2)), round(max(cy - r * 0.72 - line, th + 2)))
        for thick, ink in ((ink_w + 3, (0, 0, 0)), (ink_w, colour)):  # a dark outline, then the colour
            cv2.putText(out, label, spot, font, text_scale, ink, thick, cv2.LINE_AA)
    return out


def colour_scale_html() -> str:
    """The maps' colour scale as a bar with words under it, in the page's text size (it grows on the projector)."""
    import cv2

    stops = cv2.applyColorMap(np.linspace(0, 255, 9).astype(np.uint8)[:, None], cv2.COLORMAP_INFERNO)[:, 0, ::-1]
    gradient = ", ".join(f"rgb({r},{g},{b})" for r, g, b in stops)
    marks = "".join(f'<span>{t}</span>' for t in ("used 1000× less", "100× less", "10× less", "the most used"))
    return (f'<div data-testid="sr-colour-scale" style="max-width:40rem"><div style="height:1rem;border-radius:3px;'
            f'background:linear-gradient(to right, {gradient})"></div><div style="display:flex;'
            f'justify-content:space-between;font-size:0.9rem">{marks}</div></div>')


def gap_words(m) -> str:
    """The completeness gap of one map in plain words: nothing to say under 5 %; else how far its parts are from
    the whole change in the window (they leave some out; or they overshoot or point the other way: off by), and
    over ROUGH_GAP that it is rough."""
    gap = m.completeness_gap
    whole = m.objective_input - m.objective_baseline
    short = m.attribution_sum * whole > 0 and abs(m.attribution_sum) < abs(whole)  # its parts fall short
    off = f"{'leaves out' if short else 'is off by'} {gap * 100:.0f} % of what the network did"
    if m.rough:
        return f"Rough: this map {off}, so read it with care."
    if gap > 0.05:
        return f"Close: this map {off}."
    return ""


def halves(result) -> dict[str, float]:
    """Each map's radius (input px) around the window's centre holding half of it: the inner ring."""
    from core.quality.attribution import reach

    return {m.method: reach(m.map, result.window_centre, 0.5) for m in result.maps}


def plain_sentences(result, half: dict[str, float]) -> dict[str, str]:
    """One plain sentence per map: how far it reaches (half and 90 % of it), which reaches widest or least, and
    whether it is rough."""
    maps = result.maps
    widest = max(maps, key=lambda m: m.di) if len(maps) > 1 else None
    narrowest = min(maps, key=lambda m: m.di) if len(maps) > 1 else None
    out = {}
    for m in maps:
        text = (f"Half of what it used lies within {half[m.method]:.0f} input px of the window's centre, 90 % within "
                f"{m.reach_px:.0f} px")
        if m is widest and widest.di > narrowest.di:
            text += f": the widest of these {len(maps)}"
        elif m is narrowest and widest.di > narrowest.di:
            text += f": the narrowest of these {len(maps)}"
        out[m.method] = " ".join(t for t in (text + ".", gap_words(m)) if t)
    return out


def show(result, name: str) -> None:
    """Each method's map over the input region, side by side (two a row on the projector, larger), one plain
    sentence each, the colour scale, the figures; the exact method and the formulas under Details."""
    from core.quality.attribution import REACH_SHARE, ROUGH_GAP, sentences
    from core.quality.report import attribution_html

    r = result.request
    x, y, w, h = result.region
    big = projector()
    half = halves(result)
    told = plain_sentences(result, half)
    per_row = 2 if big else min(4, len(result.maps) + 1)
    crop = to_uint8(result.crop)
    zoom = max(4, round(PICTURE_PX[big] / w))
    cells = [("the input region", crop.repeat(zoom, axis=0).repeat(zoom, axis=1), "")]  # as large as the maps
    centre = result.window_centre
    cells += [(f"{m.method}: spread {m.di:.0f}", map_picture(
        result.crop, m.map, result.window, r.scale, centre, [half[m.method], m.reach_px], big),
        told[m.method]) for m in result.maps]
    for start in range(0, len(cells), per_row):
        for col, (label, pixels, sentence) in zip(st.columns(per_row), cells[start:start + per_row]):
            col.image(png_of(pixels), caption=label, width="stretch", output_format="PNG")
            if sentence:
                col.caption(sentence)
    st.html(colour_scale_html())
    wx, wy, size = r.window
    st.caption(f"The cyan square is the window of the ×{r.scale} output; each map covers the {w}×{h} input pixels "
               "around it. The brighter a pixel, the more it changed the window; the rings hold half (50 %) and "
               f"{REACH_SHARE * 100:.0f} % of all it used. Spread: 0 if a method used one pixel only, larger the "
               "wider it looked. Off by: a map adds up each pixel's part along the way from a blurred copy to the "
               "real input; the parts should add up to the whole change in the window, and the difference is how far "
               f"off the map is. Over {ROUGH_GAP * 100:.0f} % a map is rough.")
    table = pd.DataFrame([{"method": m.method, "spread": round(m.di, 1), "half within (px)": round(half[m.method], 1),
                           "90 % within (px)": round(m.reach_px, 1), "off by": f"{m.completeness_gap * 100:.0f} %",
                           "seconds": round(m.seconds, 1)} for m in result.maps]).set_index("method")
    dataframe(table, key="attr_table")
    exact = sentences(result)
    details(f"Window {size}×{size} output px at ({wx}, {wy}) of the ×{r.scale} output; each map covers the {w}×{h} "
            f"input region at ({x}, {y}).",
            f"Local attribution maps (Gu & Dong, CVPR 2021): the window's gradients followed along "
            f"{'; '.join(f'{m.method}: {m.steps}' for m in result.maps)} path steps from a blur of σ {r.sigma:g} to "
            "the input. Spread is the Diffusion Index, DI = (1 − Gini of the map) × 100; off by is the "
            "completeness gap |Σ map − (F(input) − F(blurred))| / |F(input) − F(blurred)| (shown as off by).",
            *(f"**{m.method}** ran as: {m.what}. {exact[m.method]}" for m in result.maps),
            f"Measured on {result.cpu}.")
    download("Download report", attribution_html(result, name=name), file_name="attribution.html", mime="text/html",
             key="attr_report")
