"""The charts the pages draw: built in core/quality/charts.py (the printed handout uses the same specs), drawn
here as inline SVG — the same picture as the handout, crisp on a projector, and its text measurable in the
page (Streamlit's own Vega charts draw on a canvas)."""
import base64
import html
import re

import streamlit as st

from core.quality.charts import (
    loss_chart,
    metric_dots,
    spectrum_chart,
    svg,
    sweep_chart,
    tradeoff_scatter,
    validation_chart,
)
from ui.state import projector
from ui.words import details

__all__ = ["figure_html", "font_size", "loss_chart", "metric_dots", "show", "show_tradeoff", "spectrum_caption",
           "spectrum_chart", "sweep_chart", "tradeoff_html", "tradeoff_scatter", "validation_chart", "width"]
LAPTOP_FONT, PROJECTOR_FONT = 14, 22  # px at the chart's own width; projector mode draws each chart full width


def font_size() -> int:
    return PROJECTOR_FONT if projector() else LAPTOP_FONT


def width() -> int:
    """The width charts are laid out at: in projector mode one chart a row, so it is never shrunk."""
    return 1100 if projector() else 520


@st.cache_data(max_entries=32, show_spinner=False)
def _tradeoff_svg(points, font: int, chart_width: int) -> str:
    return svg(tradeoff_scatter(points, font_size=font).properties(width=chart_width))


def show_tradeoff(points, label: str) -> None:
    """The perception–distortion scatter of `points` (method, kind, psnr_db, lpips), drawn once per table: building
    the Altair spec alone takes ~0.1 s, too long for every rerun of a page."""
    st.html(tradeoff_html(points, label))


def tradeoff_html(points, label: str) -> str:
    """show_tradeoff's element as HTML, for a page that keeps it (How it works' fixed Set5 table)."""
    return figure_html(_tradeoff_svg(points, font_size(), width()), label)


def show(chart, label: str) -> None:
    """One chart (or its SVG, already drawn) as an SVG image at most its own width (it shrinks only in a narrower
    column)."""
    st.html(figure_html(chart if isinstance(chart, str) else svg(chart), label))


def figure_html(drawn: str, label: str) -> str:
    """st.html's sanitiser drops inline <svg>, so it goes in as a data URI; its smallest font size and width are
    kept as attributes, so a test can tell the size the text is drawn at."""
    w = float(re.search(r'width="(\d+(?:\.\d+)?)"', drawn).group(1))
    fonts = [float(v) for v in re.findall(r'font-size="(\d+(?:\.\d+)?)(?:px)?"', drawn)] or [0.0]
    uri = "data:image/svg+xml;base64," + base64.b64encode(drawn.encode()).decode()
    return (f'<figure data-testid="sr-chart" style="margin:0"><img src="{uri}" alt="{html.escape(label)}" '
            f'data-svg-width="{w:g}" data-min-font="{min(fonts):g}" style="width:100%;max-width:{w:g}px;'
            'height:auto"></figure>')


FINE = 0.125  # cycles per pixel: the two finest octaves (0.125–0.5) are "fine detail", the rest "coarse"


def plain_bands(reading) -> str:
    """One method's spectrum in plain words: which sizes of detail it invents or loses against the truth."""
    said = []
    for verdict, verb in (("above", "invents"), ("below", "loses")):
        sizes = sorted({"fine" if b.low >= FINE else "coarse" for b in reading.bands if b.verdict == verdict})
        if sizes:
            said.append(f"{verb} {' and '.join(sizes)} detail")
    return f"{reading.method}: " + (" and ".join(said) if said else "as much detail of every size as the truth")


def spectrum_caption(view) -> None:
    """One plain line per method (core.quality.spectrum's readings: which detail it invents or loses), the exact
    octave bands in Details; how to read the chart is its title."""
    if view.bands:
        st.caption("\n".join(f"- {plain_bands(b)}" for b in view.bands))
    details("Each curve is the radially averaged power spectrum of the luminance (log–log). Per method, by "
            "octave band:", *(b.sentence for b in view.bands))
