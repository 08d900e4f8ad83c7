"""The charts the pages draw: built in core/quality/charts.py (the printed handout uses the same specs), drawn
here as inline SVG — the same picture as the handout, crisp on a projector, and its text measurable in the
page (Streamlit's own Vega charts draw on a canvas)."""
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

__all__ = ["font_size", "loss_chart", "metric_dots", "show", "spectrum_chart", "sweep_chart", "tradeoff_scatter",
           "validation_chart", "width"]
LAPTOP_FONT, PROJECTOR_FONT = 14, 22  # px at the chart's own width; projector mode draws each chart full width


def font_size() -> int:
    return PROJECTOR_FONT if projector() else LAPTOP_FONT


def width() -> int:
    """The width charts are laid out at: in projector mode one chart a row, so it is never shrunk."""
    return 1100 if projector() else 520


def show(chart, label: str) -> None:
    """One chart as inline SVG at most its own width (it shrinks only in a narrower column), with a label for
    screen readers and tests."""
    drawn = svg(chart)
    w = re.search(r'width="(\d+(?:\.\d+)?)"', drawn).group(1)
    drawn = re.sub(r'<svg([^>]*?) width="[^"]+" height="[^"]+"', rf'<svg\1 width="100%" style="max-width:{w}px;'
                   r'height:auto"', drawn, count=1)
    st.html(f'<figure data-testid="sr-chart" aria-label="{label}" style="margin:0">{drawn}</figure>')
