"""Chart specs as data (altair → Vega-Lite), shared by the app's pages and the printed handout: zero-free axes,
values printed, full method names, no label overlap, colour-blind-safe colours and a font size for the
projector. `svg(chart)` renders one offline (vl-convert: no browser, no network).

Colours are Okabe & Ito's palette (Color Universal Design, 2008), readable with every common colour-vision
deficiency; 7 of its 8 colours are used (not its yellow), so past 7 methods each also gets its own marker shape
or dash pattern: no two methods share both.
"""
from __future__ import annotations

import functools
import json
import math
from typing import TYPE_CHECKING

import altair as alt
import pandas as pd

if TYPE_CHECKING:
    from core.quality.spectrum import SpectrumView
    from core.quality.sweep import Sweep

FONT = 14           # on a laptop; the app's projector mode asks for 20 px or more
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")  # its yellow (#F0E442)
# left out: the faintest on white, and on a projector hard to tell from its orange (bicubic beside RealESRGAN_x4plus)
SHAPES = ("circle", "square", "triangle-up", "diamond", "cross", "triangle-down")
DASHES = ((1, 0), (6, 3), (2, 2), (8, 3, 2, 3))
REFERENCE_COLOUR, BICUBIC_COLOUR = "#000000", "#777777"
RUN_SERIES = "the network being trained"  # the validation charts' name for the run's own line
VEGA_LITE = "6.4"   # the schema altair 6 writes (alt.SCHEMA_VERSION v6.4.x)


def _style(chart, font_size: int = FONT):
    return chart.configure_axis(labelFontSize=font_size, titleFontSize=font_size, labelLimit=0,
                                labelOverlap="greedy").configure_legend(  # at 22 px "23.7523.85" ran together
        labelFontSize=font_size, titleFontSize=font_size, labelLimit=0, symbolSize=font_size * 8).configure_text(
        fontSize=font_size).configure_header(labelFontSize=font_size, titleFontSize=font_size).configure_title(
        fontSize=font_size + 2)


def palette(names: list[str], avoid: tuple[str, ...] = ()) -> tuple[list[str], list[str], list[list[int]]]:
    """Per name, in order: its colour, marker shape and dash pattern. Names 1–7 (1–6 with one colour to
    `avoid`: a chart's own reference line) differ by colour; past them the shape and dash change too, so every
    (colour, shape) pair is unique."""
    pool = [c for c in OKABE_ITO if c not in avoid]
    colours = [pool[i % len(pool)] for i in range(len(names))]
    shapes = [SHAPES[(i // len(pool)) % len(SHAPES)] for i in range(len(names))]
    dashes = [list(DASHES[(i // len(pool)) % len(DASHES)]) for i in range(len(names))]
    return colours, shapes, dashes


def metric_dots(values: pd.Series, label: str, higher_is_better: bool, decimals: int, *,
                font_size: int = FONT) -> alt.Chart:
    """One dot per method on an axis that spans the values (not from 0), best on top, each value printed."""
    data = values.dropna().rename("value").rename_axis("method").reset_index()
    order = data.sort_values("value", ascending=not higher_is_better)["method"].tolist()
    lo, hi = float(data["value"].min()), float(data["value"].max())
    pad = (hi - lo) * 0.15 or abs(hi) * 0.05 or 1.0
    x = alt.X("value:Q", title=f"{label} ({'higher' if higher_is_better else 'lower'} is better)",
              scale=alt.Scale(zero=False, domain=[lo - pad, hi + pad * 2.5]), axis=alt.Axis(tickCount=5))
    y = alt.Y("method:N", sort=order, title=None)
    base = alt.Chart(data).encode(x=x, y=y, tooltip=["method", alt.Tooltip("value:Q", format=f".{decimals}f")])
    dots = base.mark_circle(size=160 * font_size / FONT, color=OKABE_ITO[0], opacity=1)
    text = base.mark_text(align="left", dx=10).encode(text=alt.Text("value:Q", format=f".{decimals}f"))
    row = max(34, round(font_size * 2.4))
    return _style((dots + text).properties(height=row * len(data) + 50), font_size)


def frontier(points: pd.DataFrame) -> list[str]:
    """The methods on the perception–distortion frontier (Blau & Michaeli, 2018), best PSNR first: those no other
    method beats on both PSNR (higher) and LPIPS (lower). The others lie inside it."""
    rows = list(points[["method", "psnr_db", "lpips"]].itertuples(index=False))
    on = [r for r in rows if not any(o.psnr_db >= r.psnr_db and o.lpips <= r.lpips and (o.psnr_db, o.lpips) !=
                                     (r.psnr_db, r.lpips) for o in rows)]
    return [r.method for r in sorted(on, key=lambda r: -r.psnr_db)]


def _d3(metric: str) -> str:
    """The d3 number format of a measure: its decimals as Metric.format writes it on every page."""
    from core.quality.metrics import METRICS

    return f".{METRICS.get(metric).decimals}f"


def _padded(values: pd.Series, share: float = 0.08) -> list[float]:
    """An axis domain with room around the extreme points (the best one must not sit on the edge)."""
    lo, hi = float(values.min()), float(values.max())
    pad = (hi - lo) * share or abs(hi) * 0.05 or 0.1
    return [lo - pad, hi + pad]


def _crowded(points: pd.DataFrame, share: float = 0.06) -> pd.Series:
    """Whether each point lies within `share` of both axes' spans of an earlier point (bicubic and lanczos in the
    lesson: their numbers "1" and "2" overprinted)."""
    span_x = float(points["psnr_db"].max() - points["psnr_db"].min()) or 1.0
    span_y = float(points["lpips"].max() - points["lpips"].min()) or 1.0
    near = []
    for i, row in enumerate(points.itertuples(index=False)):
        near.append(any(abs(row.psnr_db - o.psnr_db) < share * span_x and abs(row.lpips - o.lpips) < share * span_y
                        for o in points.iloc[:i].itertuples(index=False)))
    return pd.Series(near, index=points.index)


MAX_LABELLED = 12  # points a chart labels one by one; past it only those that matter (`labelled`)
NAMED = ("bicubic", "RealESRGAN_x4plus")  # the lesson's two landmarks, labelled on a crowded chart too


def labelled(points: pd.DataFrame, named: tuple[str, ...] = NAMED) -> list[str]:
    """The one rule for which points of a chart get a label: every one up to MAX_LABELLED; past it the frontier's
    (the methods no other beats on both) and the `named` landmarks, so 49 points do not print 49 overlapping
    labels and a 49-line legend."""
    methods = list(points["method"])
    if len(methods) <= MAX_LABELLED:
        return methods
    edge = frontier(points)
    return edge + [m for m in named if m in methods and m not in edge]


def _placed_labels(names: pd.DataFrame, points: pd.DataFrame, font_size: int) -> pd.DataFrame:
    """Where each name goes beside its point, in data units: the first of right-above, left-above, right-below,
    left-below whose box (its length in characters, the chart taken as ~40 font sizes wide and ~26 tall) overlaps
    no name placed before and stays inside the axes (on the right it may pass the axis a little: the chart grows
    to hold it). Columns lx, ly and align ("left"/"right")."""
    xs, ys = _padded(points["psnr_db"]), _padded(points["lpips"])
    span_x, span_y = xs[1] - xs[0], ys[1] - ys[0]
    char_w, line_h = 0.6 / 40 * span_x, 1.3 / 26 * span_y  # one character's width, one line's height
    gap_x, gap_y = 0.8 / 40 * span_x, 0.3 / 26 * span_y
    boxes, out = [], []
    for row in names.itertuples(index=False):
        w = char_w * len(row.method)
        tries = [(side, up) for up in (True, False) for side in (1, -1)]
        chosen = None
        for side, up in tries:
            x0 = row.psnr_db + gap_x if side > 0 else row.psnr_db - gap_x - w
            y0 = row.lpips + gap_y if up else row.lpips - gap_y - line_h  # LPIPS grows upwards on the chart
            box = (x0, y0, x0 + w, y0 + line_h)
            inside = xs[0] <= box[0] and box[2] <= xs[1] + 0.15 * span_x and ys[0] <= box[1] and box[3] <= ys[1]
            clear = all(box[2] <= b[0] or b[2] <= box[0] or box[3] <= b[1] or b[3] <= box[1] for b in boxes)
            if inside and clear:
                chosen = (side, box)
                break
        side, box = chosen or (1, (row.psnr_db + gap_x, row.lpips + gap_y, row.psnr_db + gap_x + w,
                                   row.lpips + gap_y + line_h))
        boxes.append(box)
        out.append({"method": row.method, "lx": box[0] if side > 0 else box[2], "ly": (box[1] + box[3]) / 2,
                    "align": "left" if side > 0 else "right"})
    return pd.DataFrame(out, columns=["method", "lx", "ly", "align"])


def tradeoff_scatter(points: pd.DataFrame, *, font_size: int = FONT) -> alt.Chart:
    """PSNR (→ better) against LPIPS (↓ better), the frontier (methods no other beats on both) drawn as a line.
    Up to MAX_LABELLED points: each numbered, the numbers named in the legend (with the kind) — names beside close
    points would overprint each other —, one colour and shape per method. More: coloured by kind, only the points
    `labelled` picks named beside them (the rest are in the tooltip)."""
    points = points.reset_index(drop=True)
    ticks = alt.Axis(tickCount=6)  # Vega's default is one per 40 px: 40 labels of "23.75" at 1100 px ran together
    x = alt.X("psnr_db:Q", title="PSNR dB (right is more faithful)", scale=alt.Scale(domain=_padded(points["psnr_db"])),
              axis=ticks)
    y = alt.Y("lpips:Q", title="LPIPS (lower looks closer)", scale=alt.Scale(domain=_padded(points["lpips"])),
              axis=ticks)
    tooltip = ["method", "kind", alt.Tooltip("psnr_db:Q", format=_d3("psnr_db")),
               alt.Tooltip("lpips:Q", format=_d3("lpips"))]
    edge = points[points["method"].isin(frontier(points))].sort_values("psnr_db")
    line = alt.Chart(edge).mark_line(color="#777777", strokeDash=[6, 4]).encode(x=x, y=y)
    text = dict(fontWeight="bold")
    if len(points) > MAX_LABELLED:
        names = points[points["method"].isin(labelled(points))]
        kinds = sorted(set(points["kind"]))
        colours, shapes, _ = palette(kinds)
        legend = alt.Legend(title="kind", orient="bottom")
        dots = alt.Chart(points).mark_point(size=120 * font_size / FONT, filled=True, opacity=0.85).encode(
            x=x, y=y, color=alt.Color("kind:N", scale=alt.Scale(domain=kinds, range=colours), legend=legend),
            shape=alt.Shape("kind:N", scale=alt.Scale(domain=kinds, range=shapes), legend=legend), tooltip=tooltip)
        rings = alt.Chart(names).mark_point(size=320 * font_size / FONT, color="#000000", strokeWidth=2).encode(
            x=x, y=y)
        spots = _placed_labels(names, points, font_size)
        lx, ly = alt.X("lx:Q", scale=alt.Scale(domain=_padded(points["psnr_db"]))), alt.Y(
            "ly:Q", scale=alt.Scale(domain=_padded(points["lpips"])))
        labels = [alt.Chart(spots[spots["align"] == side]).encode(x=lx, y=ly, text="method:N").mark_text(
            align=side, baseline="middle", **text) for side in ("left", "right")]
        chart = alt.layer(line, dots, rings, *labels).properties(height=max(420, round(font_size * 26)))
        return _style(chart, font_size)
    points = points.assign(number=[str(i + 1) for i in range(len(points))])
    points = points.assign(entry=points["number"] + " " + points["method"] + " (" + points["kind"] + ")")
    names = list(points["entry"])
    colours, shapes, _ = palette(names)
    legend = alt.Legend(title="method (kind)", symbolLimit=0)
    base = alt.Chart(points).encode(x=x, y=y)
    dots = base.mark_point(size=220 * font_size / FONT, filled=True, opacity=1).encode(
        color=alt.Color("entry:N", scale=alt.Scale(domain=names, range=colours), legend=legend),
        shape=alt.Shape("entry:N", scale=alt.Scale(domain=names, range=shapes), legend=legend), tooltip=tooltip)
    crowded = _crowded(points)  # near an earlier point: its number goes below left, not onto the other's
    numbers = alt.Chart(points[~crowded]).encode(x=x, y=y, text="number:N").mark_text(
        align="left", dx=round(font_size * 0.7), dy=-round(font_size * 0.5), **text)
    below = alt.Chart(points[crowded]).encode(x=x, y=y, text="number:N").mark_text(
        align="right", dx=-round(font_size * 0.7), dy=round(font_size * 0.9), **text)
    legend_rows = len(names) + 3  # title and gap
    chart = (line + dots + numbers + below).properties(height=max(380, round(1.45 * font_size) * legend_rows))
    return _style(chart, font_size)


FREQUENCY_TICKS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)


def spectrum_chart(view: "SpectrumView", *, font_size: int = FONT, width: int = 560) -> alt.Chart:
    """Log-log radially averaged power spectra: the reference in solid black, bicubic in dashed grey, one
    colour (and past 8, one dash) per method; the input's Nyquist frequency marked."""
    rows = [{"curve": s.label, "frequency": float(f), "power": float(p)}
            for s in view.curves for f, p in zip(s.frequency, s.power) if f > 0 and p > 0]
    data = pd.DataFrame(rows)
    methods = [s.label for s in view.curves if s.role == "method"]
    colours, _, dashes = palette(methods, avoid=(REFERENCE_COLOUR,))  # the 7th method was the truth's black
    domain, colour_range, dash_range = list(methods), list(colours), list(dashes)
    for s in view.curves:
        if s.role != "method":
            domain.append(s.label)
            colour_range.append(REFERENCE_COLOUR if s.role == "reference" else BICUBIC_COLOUR)
            dash_range.append([1, 0] if s.role == "reference" else [5, 4])
    legend = alt.Legend(title=None, orient="bottom", columns=2)
    lines = alt.Chart(data).mark_line(strokeWidth=2).encode(
        x=alt.X("frequency:Q", title="frequency (cycles per pixel of the output)",
                scale=alt.Scale(type="log", domain=[float(data["frequency"].min()), 0.5], nice=False),
                axis=alt.Axis(values=[v for v in FREQUENCY_TICKS if v >= float(data["frequency"].min())],
                              format="~g", labelOverlap="greedy")),  # every 1-2-5: "0.0030.004" ran together
        y=alt.Y("power:Q", title="power (log scale)", scale=alt.Scale(type="log"), axis=alt.Axis(format="~e")),
        color=alt.Color("curve:N", scale=alt.Scale(domain=domain, range=colour_range), legend=legend),
        strokeDash=alt.StrokeDash("curve:N", scale=alt.Scale(domain=domain, range=dash_range), legend=legend),
        tooltip=["curve", alt.Tooltip("frequency:Q", format=".3f"), alt.Tooltip("power:Q", format=".3g")])
    layers = [lines]
    if view.input_nyquist:
        rule = pd.DataFrame({"frequency": [view.input_nyquist], "label": ["input's Nyquist"]})
        mark = alt.Chart(rule).encode(x="frequency:Q")
        layers += [mark.mark_rule(color=BICUBIC_COLOUR, strokeDash=[2, 2]),
                   mark.mark_text(align="left", dx=4, dy=-6, baseline="bottom", color="#444444").encode(
                       text="label:N", y=alt.value(0))]
    height = round(width * 0.62)
    return _style(alt.layer(*layers).properties(width=width, height=height, title=view.reading), font_size)


def sweep_chart(sweep: "Sweep", *, font_size: int = FONT, width: int = 520) -> alt.Chart:
    """One panel per measure (each its own axis), one line per method: the score as the knob moves."""
    rows = [{"method": s.method, "measure": s.metric.heading, "x": x, "value": y}
            for s in sweep.series for x, y in zip(s.x, s.values) if not math.isnan(y) and not math.isinf(y)]
    data = pd.DataFrame(rows, columns=["method", "measure", "x", "value"])
    methods = list(dict.fromkeys(s.method for s in sweep.series))
    colours, shapes, dashes = palette(methods)
    scale = dict(domain=methods)
    base = alt.Chart(data).encode(
        x=alt.X("x:Q", title=sweep.knob.axis_title, scale=alt.Scale(zero=False, reverse=sweep.knob.reverse)),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
        color=alt.Color("method:N", scale=alt.Scale(range=colours, **scale), legend=alt.Legend(orient="bottom")),
        tooltip=["method", "measure", "x", alt.Tooltip("value:Q", format=".4g")])
    layer = alt.layer(
        base.mark_line(strokeWidth=2).encode(strokeDash=alt.StrokeDash("method:N", scale=alt.Scale(
            range=dashes, **scale), legend=None)),
        base.mark_point(filled=True, size=60 * font_size / FONT, opacity=1).encode(shape=alt.Shape(
            "method:N", scale=alt.Scale(range=shapes, **scale), legend=None)),
    ).properties(width=width, height=round(width * 0.45))
    measures = list(dict.fromkeys(data["measure"]))
    chart = layer.facet(row=alt.Row("measure:N", sort=measures, title=None, header=alt.Header(
        labelOrient="top", labelAnchor="start", labelAngle=0))).resolve_scale(y="independent")
    return _style(chart.properties(title=f"{sweep.knob.label} swept; fixed: {sweep.fixed}"), font_size)


def frame_curve(table: pd.DataFrame, measure: str, title: str, *, font_size: int = FONT, width: int = 520,
                height: int = 200, zero: str | None = None) -> alt.Chart:
    """A clip's per-frame curve of one measure, one line per method (`table`: columns frame, method, measure); the
    legend below in two columns, every name whole; `zero`: a dashed line at 0 labelled so (the flicker's "as
    steady as the true clip")."""
    data = table.dropna(subset=[measure])[["frame", "method", measure]]
    methods = list(dict.fromkeys(data["method"]))
    colours, _, _ = palette(methods)
    last = int(data["frame"].max()) if len(data) else 0
    ticks = list(range(0, last + 1, max(1, -(-last // 10))))  # whole frames only, at most about ten
    x = alt.X("frame:Q", title="frame", axis=alt.Axis(format="d", values=ticks))
    layers = [alt.Chart(data).mark_line(point=True).encode(
        x=x, y=alt.Y(f"{measure}:Q", title=title, scale=alt.Scale(zero=zero is not None)),
        color=alt.Color("method:N", scale=alt.Scale(domain=methods, range=colours),
                        legend=alt.Legend(orient="bottom", columns=min(2, len(methods)), title=None)),
        tooltip=["method", "frame", alt.Tooltip(f"{measure}:Q", format=".4g")])]
    if zero is not None:
        rule = alt.Chart(pd.DataFrame({"y": [0.0], "label": [zero]})).encode(y="y:Q")
        layers += [rule.mark_rule(color=BICUBIC_COLOUR, strokeDash=[6, 4]),
                   rule.mark_text(align="right", baseline="bottom", dx=-4, dy=-4, color="#444444").encode(
                       text="label:N", x=alt.value(width))]  # at the right end, clear of the first points
    return _style(alt.layer(*layers).properties(width=width, height=height, title=title), font_size)


def svg(chart) -> str:
    """The chart as a standalone SVG document, rendered offline by vl-convert (Vega in an embedded Deno; it
    fetches nothing: data is inline and fonts are the system's). The same spec is rendered once: a page redraws
    its charts on every rerun."""
    return _svg_of(json.dumps(chart.to_dict(), sort_keys=True))


@functools.lru_cache(maxsize=128)  # small: the SVGs of a few pages' charts, a few hundred KB
def _svg_of(spec: str) -> str:
    import vl_convert

    return vl_convert.vegalite_to_svg(json.loads(spec), vl_version=VEGA_LITE)


def loss_chart(points: list[tuple[int, float]], *, font_size: int = FONT, width: int = 520) -> alt.Chart:
    """The training loss per step (log scale: it falls by orders of magnitude early on)."""
    data = pd.DataFrame(points, columns=["step", "loss"])
    chart = alt.Chart(data).mark_line(color=OKABE_ITO[0]).encode(
        x=alt.X("step:Q", title="step"), y=alt.Y("loss:Q", title="training loss (log)", scale=alt.Scale(type="log")))
    return _style(chart.properties(width=width, height=round(width * 0.45)), font_size)


def validation_chart(history: list[dict], baselines: dict[str, float], label: str, higher_is_better: bool, *,
                     font_size: int = FONT, width: int = 520) -> alt.Chart:
    """One validation measure over the steps, beside flat lines for the baselines (name → value: "bicubic" and
    "start", the network before its first step); one legend, below, names every line."""
    names = {"bicubic": "bicubic", "start": "before training", RUN_SERIES: RUN_SERIES}
    data = pd.DataFrame([{"step": h["step"], "value": h["value"], "series": RUN_SERIES} for h in history])
    lines = pd.DataFrame([{"series": names.get(n, n), "value": v} for n, v in baselines.items()])
    domain = [*lines["series"], RUN_SERIES] if len(lines) else [RUN_SERIES]
    palette_of = {"bicubic": BICUBIC_COLOUR, "before training": OKABE_ITO[2], RUN_SERIES: OKABE_ITO[3]}
    colour = alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom", direction="horizontal"),
                       scale=alt.Scale(domain=domain, range=[palette_of.get(n, OKABE_ITO[5]) for n in domain]))
    y = alt.Y("value:Q", title=f"{label} ({'higher' if higher_is_better else 'lower'} is better)",
              scale=alt.Scale(zero=False))
    run = alt.Chart(data).mark_line(point=True).encode(x=alt.X("step:Q", title="step"), y=y, color=colour)
    flat = alt.Chart(lines).mark_rule(strokeDash=[6, 4]).encode(y="value:Q", color=colour)
    return _style((flat + run).properties(width=width, height=round(width * 0.45)), font_size)
