"""Charts made to be read on a projector: zero-free axes, values printed, full method names, no label overlap."""
from __future__ import annotations

import altair as alt
import pandas as pd

FONT = 14


def _style(chart: alt.Chart) -> alt.Chart:
    return chart.configure_axis(labelFontSize=FONT, titleFontSize=FONT, labelLimit=0).configure_legend(
        labelFontSize=FONT, titleFontSize=FONT, labelLimit=0).configure_text(fontSize=FONT)


def metric_dots(values: pd.Series, label: str, higher_is_better: bool, decimals: int) -> alt.Chart:
    """One dot per method on an axis that spans the values (not from 0), best on top, each value printed."""
    data = values.dropna().rename("value").rename_axis("method").reset_index()
    order = data.sort_values("value", ascending=not higher_is_better)["method"].tolist()
    lo, hi = float(data["value"].min()), float(data["value"].max())
    pad = (hi - lo) * 0.15 or abs(hi) * 0.05 or 1.0
    x = alt.X("value:Q", title=f"{label} ({'higher' if higher_is_better else 'lower'} is better)",
              scale=alt.Scale(zero=False, domain=[lo - pad, hi + pad * 2.5]))
    y = alt.Y("method:N", sort=order, title=None)
    base = alt.Chart(data).encode(x=x, y=y, tooltip=["method", alt.Tooltip("value:Q", format=f".{decimals}f")])
    dots = base.mark_circle(size=160, color="#1f77b4")
    text = base.mark_text(align="left", dx=10).encode(text=alt.Text("value:Q", format=f".{decimals}f"))
    return _style((dots + text).properties(height=34 * len(data) + 50))


def tradeoff_scatter(points: pd.DataFrame) -> alt.Chart:
    """PSNR (→ better) against LPIPS (↓ better), one colour per method named in the legend: method names
    as text beside close points would overprint each other."""
    x = alt.X("psnr_db:Q", title="PSNR dB (right is more faithful)", scale=alt.Scale(zero=False))
    y = alt.Y("lpips:Q", title="LPIPS (lower looks closer)", scale=alt.Scale(zero=False))
    chart = alt.Chart(points).mark_point(size=220, filled=True).encode(
        x=x, y=y, color=alt.Color("method:N", title="method", scale=alt.Scale(scheme="tableau20")),
        shape=alt.Shape("kind:N", title="kind"),
        tooltip=["method", "kind", alt.Tooltip("psnr_db:Q", format=".2f"), alt.Tooltip("lpips:Q", format=".3f")])
    legend_rows = points["method"].nunique() + points["kind"].nunique() + 4  # titles and gap
    return _style(chart.properties(height=max(380, 20 * legend_rows)))  # the legend is cut at the plot's height
