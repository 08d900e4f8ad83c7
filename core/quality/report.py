"""A handout: one self-contained HTML file that opens offline and prints on A4. Every image is a data: URI, every
chart an inline SVG rendered here by vl-convert (core/quality/charts.py), nothing is fetched. It holds the
image and how it was made, every method with its settings and what pins its output (a network's weights
sha256, a classical method's library call), the scores, the charts, zoomed crops, the machine, the library
versions and the date. The page is laid out with jinja2 (autoescaped)."""
from __future__ import annotations

import base64
import datetime
import importlib.metadata as md
import math
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.io.imageio import encode_png, to_display
from core.io.pixels import centred, to_uint8
from core.methods import lookup
from core.methods.contract import checked_params
from core.pipeline.engine import Request
from core.pipeline.engine import run as run_request
from core.quality import charts
from core.quality.detail import most_detailed
from core.quality.metrics import Metric
from core.quality.ranking import Ranking
from core.quality.scoring import ImageRun, Scores
from core.quality.spectrum import SpectrumView, compare_spectra
from core.quality.sweep import Sweep
from core.runtime import backends, machine

LIBRARIES = ("numpy", "torch", "ncnn", "opencv-python", "scikit-image", "pillow", "piq", "lpips", "pypiqe",
             "basicsr", "altair", "vl-convert-python", "jinja2")
DISPLAY_SIDE = 720      # px: larger images are shown area-downscaled (the page is 680 px wide on A4)
ZOOM_SIDE = 48          # px of the output grid in each zoomed crop
ZOOM = 3                # nearest-neighbour enlargement of a crop, so single pixels can be seen


@dataclass
class MethodEntry:
    name: str
    label: str
    settings: str           # scale, parameters with their values, backend choice
    provenance: str         # weights sha256 for a network, library call for a classical method
    source: str
    what: str = ""          # what was done, from the run (may differ per image)


# ---------------------------------------------------------------- pieces
def data_uri(pixels: np.ndarray, max_side: int = DISPLAY_SIDE) -> str:
    """A PNG data: URI of the display copy (core.io.imageio.to_display: 8-bit, at most `max_side`)."""
    img = to_display(pixels, max_side)
    return "data:image/png;base64," + base64.b64encode(encode_png(np.ascontiguousarray(img))).decode()


def inline_svg(chart, index: int) -> str:
    """The chart as inline SVG that scales to the column (viewBox kept, width 100% up to its own) and whose ids
    are its own (two inline SVGs sharing a clip-path id would clip each other)."""
    svg = charts.svg(chart)
    prefix = f"c{index}-"
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    for name in sorted(ids, key=len, reverse=True):
        svg = svg.replace(f'id="{name}"', f'id="{prefix}{name}"').replace(f"url(#{name})", f"url(#{prefix}{name})")
        svg = svg.replace(f'href="#{name}"', f'href="#{prefix}{name}"')
    svg = re.sub(r'^<svg([^>]*?) width="([\d.]+)" height="([\d.]+)"',
                 lambda m: f'<svg{m.group(1)} width="100%" style="max-width:{m.group(2)}px" '
                           f'data-height="{m.group(3)}"', svg, count=1)
    return re.sub(r"^<\?xml[^>]*>\s*", "", svg)


def method_entry(request: Request, what: str = "", own: Mapping | None = None) -> MethodEntry:
    """One method as the handout lists it; `own`: a session's user models by name."""
    method = lookup(request.method, own)
    values = checked_params(method.name, method.params, request.method_params)
    told = ", ".join(f"{k}={v}" for k, v in values.items())
    scale = f"×{request.outscale:g}" if request.outscale else "native scale"
    settings = "; ".join(s for s in [scale, told, f"backend {request.backend}",
                                     f"tile {request.tile or 'automatic'}"] if s)
    return MethodEntry(method.name, method.label, settings, method.provenance, method.source, what)


def detailed_corner(image: np.ndarray, side: int) -> tuple[int, int]:
    """(x, y) of the side×side window around the image's most detailed part (core.quality.detail, as the app's
    region starts): where methods differ."""
    h, w = image.shape[:2]
    side = min(side, h, w)
    fx, fy = most_detailed(image)
    return centred(fx * w, side, w), centred(fy * h, side, h)


def zoomed_crops(images: Mapping[str, np.ndarray], around: np.ndarray, side: int = ZOOM_SIDE, zoom: int = ZOOM,
                 window: tuple[int, int, int, int] | None = None) -> tuple[list[tuple[str, str]], str]:
    """The same side×side window of every image, enlarged with nearest-neighbour: [(label, data URI)], and where
    the window is. `window` (x, y, side, magnification in output px): the region the user chose in the app;
    without it, where `around` has the most detail (the CLI's handout)."""
    if window is not None:
        x, y, side, zoom = window
    else:
        x, y = detailed_corner(around, side)
    side = min(side, *(img.shape[0] for img in images.values()), *(img.shape[1] for img in images.values()))
    crops = []
    for label, img in images.items():
        cut = np.ascontiguousarray(img[y:y + side, x:x + side])
        big = cv2.resize(cut, (cut.shape[1] * zoom, cut.shape[0] * zoom), interpolation=cv2.INTER_NEAREST)
        crops.append((label, data_uri(big)))
    where = "the region chosen in the app" if window is not None else "where the reference has the most detail"
    return crops, f"{side}×{side} px at ({x}, {y}) of the output grid, {where}, enlarged ×{zoom} nearest-neighbour."


def versions() -> list[tuple[str, str]]:
    found = [("python", platform.python_version())]
    for name in LIBRARIES:
        try:
            found.append((name, md.version(name)))
        except md.PackageNotFoundError:
            found.append((name, "not installed"))
    return found


def score_table(metrics: Sequence[Metric], rows: Sequence[tuple[str, Mapping[str, float]]],
                extra: Sequence[tuple[str, Sequence[str]]] = ()) -> dict:
    """A table as the template draws it: headings, then per row the method and formatted values; the best per
    column marked. `extra`: more columns (heading, one string per row)."""
    best = {m.name: m.best({name: values[m.name] for name, values in rows}) for m in metrics}
    body = []
    for i, (name, values) in enumerate(rows):
        cells = [(m.format(values[m.name]), best[m.name] == name) for m in metrics]
        cells += [(column[i], False) for _, column in extra]
        body.append((name, cells))
    return {"headings": [m.heading for m in metrics] + [h for h, _ in extra], "rows": body}


def _finite(values: Mapping[str, float]) -> dict[str, float]:
    return {k: v for k, v in values.items() if not (math.isnan(v) or math.isinf(v))}


TRADEOFF_CAPTION = ("perception–distortion: PSNR (→ better) against LPIPS (↓ better); the dashed line joins the "
                    "methods no other beats on both")


def metric_charts(metrics: Sequence[Metric], rows: Sequence[tuple[str, str, Mapping[str, float]]],
                  font_size: int, dots_caption: str) -> list[tuple]:
    """(chart, its caption): one dot chart per measure that has a better direction (`dots_caption`), and
    PSNR–LPIPS when both are there (its own caption)."""
    import pandas as pd

    found = []
    for m in metrics:
        if m.higher_is_better is None:
            continue
        values = pd.Series(_finite({name: v[m.name] for name, _, v in rows}), dtype=float)
        if len(values):
            found.append((charts.metric_dots(values, m.label, m.higher_is_better, m.decimals, font_size=font_size),
                          dots_caption))
    names = {m.name for m in metrics}
    if {"psnr_db", "lpips"} <= names:
        points = pd.DataFrame([{"method": n, "kind": k, "psnr_db": v["psnr_db"], "lpips": v["lpips"]}
                               for n, k, v in rows]).replace([np.inf, -np.inf], np.nan).dropna()
        if len(points):
            found.append((charts.tradeoff_scatter(points, font_size=font_size), TRADEOFF_CAPTION))
    return found


def spectra_for(run: ImageRun, scale: float | None) -> SpectrumView | None:
    """Spectra of a run's kept outputs, its reference and bicubic (run here when it is not among them)."""
    if not run.outputs:
        return None
    bicubic = run.outputs.get("bicubic")
    if bicubic is None and scale:
        bicubic = run_request(run.lr, Request.make("bicubic", outscale=scale)).pixels
    return compare_spectra({k: v for k, v in run.outputs.items() if k != "bicubic"}, reference=run.reference,
                           bicubic=bicubic, scale=scale)


# ---------------------------------------------------------------- the page
CSS = """
@page { size: A4; margin: 15mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #111;
       max-width: 180mm; margin: 1.5em auto; padding: 0 0.5em; }
h1 { font-size: 17pt; margin: 0 0 0.3em; } h2 { font-size: 13pt; margin: 1.2em 0 0.4em; border-bottom: 1px solid #999; }
h3 { font-size: 11pt; margin: 0.9em 0 0.3em; }
p, li, figcaption, td, th { overflow-wrap: anywhere; }  /* a long method name must not widen the page */
p, li { margin: 0.25em 0; }
.small { font-size: 8.5pt; color: #333; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; font-size: 8.5pt; margin: 0.4em 0; }
th, td { border: 1px solid #bbb; padding: 2px 4px; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; word-break: break-word; }
th { background: #eee; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.best { font-weight: bold; background: #ddeeff; }
code, .hash { font-family: "DejaVu Sans Mono", monospace; font-size: 7.5pt; overflow-wrap: anywhere; }
img, svg { max-width: 100%; height: auto; }
figure { margin: 0.5em 0; break-inside: avoid; page-break-inside: avoid; }
figcaption { font-size: 8.5pt; color: #333; }
.crops { display: flex; flex-wrap: wrap; gap: 6px; }
.crops figure { margin: 0; width: calc((100% - 18px) / 4); min-width: 0; }
.crops img { width: 100%; image-rendering: pixelated; }
section, tr, .chart { break-inside: avoid; page-break-inside: avoid; }
.chart svg { display: block; }
h2.record { break-before: page; page-break-before: always; }
@media print { body { margin: 0; max-width: none; padding: 0; } a { color: inherit; text-decoration: none; } }
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title><style>{{ css | safe }}</style></head>
<body>
<h1>{{ title }}</h1>
<p class="small">Made by SR Lab on {{ date }}. {{ subtitle }}</p>
{% for block in blocks %}{{ block | safe }}
{% endfor %}
<h2 class="record">For the record: how to repeat it</h2>
<p class="small">What pins each result (licences, weights sha256, library calls), the machine and the library
versions.</p>
{% for block in record %}{{ block | safe }}
{% endfor %}
<section><h2>Machine and libraries</h2>
<p>CPU: {{ cpu }}</p>
{% for line in gpus %}<p>{{ line }}</p>
{% endfor %}<table><colgroup><col style="width:30%"><col></colgroup><tr><th>library</th><th>version</th></tr>
{% for name, version in versions %}<tr><td>{{ name }}</td><td>{{ version }}</td></tr>
{% endfor %}</table>
<p class="small">Date: {{ date }}.</p></section>
</body></html>
"""

BLOCKS = {
    "image": """<section><h2>{{ heading }}</h2>
<figure><img src="{{ src }}" alt="input" style="width:{{ width }}px; image-rendering: pixelated">
<figcaption>{{ caption }}</figcaption></figure>
<p><b>How it was made:</b> {{ pipeline }}</p></section>""",
    "what": """<section><h2>What was done</h2>{% for line in lines %}<p>{{ line }}</p>{% endfor %}</section>""",
    "methods": """<section><h3>Methods</h3>
<table><colgroup><col style="width:22%"><col style="width:24%"><col style="width:30%"><col></colgroup>
<tr><th>method (source, licence)</th><th>settings</th><th>weights sha256 / library call</th><th>what was done</th></tr>
{% for m in methods %}<tr><td>{{ m.name }}<br><span class="small">{{ m.source }}</span></td><td>{{ m.settings }}</td>
<td class="hash">{{ m.provenance }}</td><td>{{ m.what }}</td></tr>
{% endfor %}</table></section>""",
    "table": """<section><h{{ level }}>{{ heading }}</h{{ level }}>
{% if caveat %}<p><b>Caveat:</b> {{ caveat }}</p>{% endif %}
<table><colgroup><col style="width:{{ first }}%"></colgroup>
<tr><th>method</th>{% for h in table.headings %}<th>{{ h }}</th>{% endfor %}</tr>
{% for name, cells in table.rows %}<tr><td>{{ name }}</td>{% for text, best in cells %}<td class="num{{ ' best' if best
}}">{{ text }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% for note in notes if note %}<p class="small">{{ note }}</p>{% endfor %}</section>""",
    "list": """<section><h{{ level }}>{{ heading }}</h{{ level }}><ul>
{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul></section>""",
    "charts": """<section><h{{ level }}>{{ heading }}</h{{ level }}>{% for svg, caption in items %}
<figure class="chart">{{ svg | safe }}<figcaption>{{ caption }}</figcaption></figure>{% endfor %}</section>""",
    "crops": """<section><h{{ level }}>{{ heading }}</h{{ level }}><p class="small">{{ where }}</p><div class="crops">
{% for label, src in crops %}<figure><img src="{{ src }}" alt="{{ label }}"><figcaption>{{ label }}</figcaption>
</figure>{% endfor %}</div></section>""",
}


class _Page:
    """Blocks rendered in order (each escaped when rendered, then kept as markup), charts numbered so their SVG
    ids stay unique."""

    def __init__(self):
        import jinja2

        self.env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
        self.blocks: list[str] = []  # the student's pages: what was done, the ranking, the picture, the measures
        self.record: list[str] = []  # after them: what pins the results (licences, sha256, settings)
        self.charts = 0

    def add(self, kind: str, *, record: bool = False, **values) -> None:
        (self.record if record else self.blocks).append(self.env.from_string(BLOCKS[kind]).render(**values))

    def add_charts(self, heading: str, items: Sequence[tuple[object, str]], level: int = 2) -> None:
        rendered = []
        for chart, caption in items:
            self.charts += 1
            rendered.append((inline_svg(chart, self.charts), caption))
        if rendered:
            self.add("charts", heading=heading, items=rendered, level=level)

    def html(self, title: str, subtitle: str) -> str:
        date = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        return self.env.from_string(TEMPLATE).render(title=title, subtitle=subtitle, css=CSS, date=date,
                                                     cpu=machine.describe(), gpus=backends.device_lines(),
                                                     versions=versions(), blocks=self.blocks, record=self.record)


def sentence(text: str) -> str:
    """A note as a sentence: capital first, a full stop last (notes joined without them ran together)."""
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", ")")) else text + "."


def _measures_block(page: _Page, metrics: Sequence[Metric], extra: Sequence[str] = ()) -> None:
    """What each measure in the tables means, one line each, for a student."""
    way = {True: "higher is better", False: "lower is better", None: "describes the image, neither way is better"}
    page.add("list", level=2, heading="What the measures mean",
             items=[f"{m.heading}: {m.about}" + ("" if "better" in m.about else f" ({way[m.higher_is_better]})") + "."
                    for m in metrics] + list(extra))


def _scores_block(page: _Page, run: ImageRun, level: int = 2) -> None:
    scores: Scores = run.scores
    rows = [(r.method, r.values) for r in scores.rows]
    extra = [("time (s)", [f"{r.seconds:.3f}" for r in scores.rows])]
    caveat = "" if scores.reference else ("no true reference: these no-reference measures describe each image; "
                                          "they cannot say which result is right")
    page.add("table", level=level, heading=f"Scores: {run.name}", caveat=caveat, first=22,
             table=score_table(scores.metrics, rows, extra),
             notes=[sentence("How it was scored: " + "; ".join(scores.notes)) if scores.notes else "",
                    *(sentence(f"error: {e}") for e in scores.errors)])


def _crops_block(page: _Page, run: ImageRun, level: int = 2,
                 window: tuple[int, int, int, int] | None = None) -> None:
    """Zoomed crops of the kept outputs (and the reference): the region chosen in the app when `window` is given."""
    if not run.outputs:
        return
    images = {"reference": run.reference} if run.reference is not None else {}
    images.update(run.outputs)
    crops, where = zoomed_crops(images, run.reference if run.reference is not None else
                                next(iter(run.outputs.values())), window=window)
    page.add("crops", level=level, heading=f"Zoomed crops: {run.name}", where=where, crops=crops)


def _picture_blocks(page: _Page, run: ImageRun, scale: float | None, font_size: int, level: int = 2,
                    spectra: SpectrumView | None = None, window: tuple[int, int, int, int] | None = None,
                    crops: bool = True) -> None:
    """Zoomed crops of the kept outputs (and the reference; unless `crops` is False), and the frequency view."""
    if not run.outputs:
        return
    if crops:
        _crops_block(page, run, level, window)
    view = spectra if spectra is not None else spectra_for(run, scale)
    page.add_charts(f"Frequency view: {run.name}", [(charts.spectrum_chart(view, font_size=font_size),
                                                    f"{view.reading}. {view.method}. " + " ".join(view.notes))],
                    level=level)
    if view.bands:
        page.add("list", level=level + 1, heading="Where each method is above or below the reference",
                 items=[b.sentence for b in view.bands])


def _input_block(page: _Page, heading: str, lr: np.ndarray, pipeline: str, what: str) -> None:
    h, w = lr.shape[:2]
    enlarge = max(1, min(4, DISPLAY_SIDE // 2 // max(h, w)))  # a small input shown larger, pixels kept square
    shown = f" (shown ×{enlarge}, nearest-neighbour)" if enlarge > 1 else (
        " (shown smaller)" if max(h, w) > DISPLAY_SIDE else "")
    page.add("image", heading=heading, src=data_uri(lr), pipeline=pipeline,
             width=min(w, DISPLAY_SIDE) * enlarge, caption=f"{what}, {w}×{h} px{shown}")


def comparison_html(run: ImageRun, *, title: str = "SR Lab comparison", scale: float | None = None,
                    ranking: Ranking | None = None, sweep: Sweep | None = None, spectra: SpectrumView | None = None,
                    font_size: int = charts.FONT, own: Mapping | None = None,
                    window: tuple[int, int, int, int] | None = None) -> str:
    """The handout for one image. First what a student reads: what was done, the input, the scores, the zoomed
    crops (of `window`, the region chosen in the app: x, y, side, magnification in output px), what each measure
    means, the frequency view (`spectra`, or made from the kept outputs), the charts, optionally a ranking of
    networks and a sweep; then the record: every method (settings, weights sha256 or library call), the machine
    and the library versions. `own`: the session's user models."""
    page = _Page()
    names = [r.method for r in run.scores.rows]
    page.add("what", lines=[
        f"{len(names)} methods made the input larger{f' ×{scale:g}' if scale else ''}: {', '.join(names)}.",
        ("Each result was scored against the true image: the clean original the input was made from."
         if run.scores.reference else "There is no true image: the measures describe each result, they cannot "
                                      "say which one is right.")])
    _input_block(page, f"The image: {run.name}", run.lr, run.pipeline, "the input")
    _scores_block(page, run)
    _crops_block(page, run, window=window)
    _measures_block(page, run.scores.metrics, ["time (s): how long the method took on this machine."])
    _picture_blocks(page, run, scale, font_size, spectra=spectra, crops=False)
    what = {r.method: r.what for r in run.scores.rows}
    page.add("methods", record=True, methods=[method_entry(r, what.get(r.method, ""), own) for r in run.requests])
    kinds = {r.method: r.kind for r in run.scores.rows}
    page.add_charts("Charts", metric_charts(run.scores.metrics, [(r.method, kinds[r.method], r.values)
                                                                 for r in run.scores.rows], font_size,
                                            "each measure, best on top; the axis spans the values"))
    if ranking is not None:
        _ranking_blocks(page, ranking)
    if sweep is not None:
        page.add_charts(f"Sweep: {sweep.knob.label}", [(charts.sweep_chart(sweep, font_size=font_size),
                                                       f"other knobs fixed: {sweep.fixed}")])
    return page.html(title, f"Scale ×{scale:g}." if scale else "")


def _ranking_blocks(page: _Page, ranking: Ranking) -> None:
    rows = [(r.name, r.scores) for r in ranking.rows]
    expected = ["—" if r.expected_s is None else f"{r.expected_s:.3f}" for r in ranking.rows]
    extra = [("family", [r.family for r in ranking.rows]), ("s on crop", [f"{r.seconds:.3f}" for r in ranking.rows]),
             ("s expected", expected),
             (f"s for {ranking.full_size[0]}×{ranking.full_size[1]}", [f"{r.full_seconds:.1f}" for r in ranking.rows])]
    (cw, ch), (fw, fh) = ranking.crop_size, ranking.full_size
    told = (f"Crop {cw}×{ch} of a {fw}×{fh} input at ×{ranking.scale}; budget {ranking.budget_s:g} s, spent "
            f"{ranking.spent_s:.1f} s; tried in this order: {', '.join(ranking.run_order)}.")
    page.add("table", level=2, heading=f"Every network, ranked by {ranking.measure.label}: {ranking.question}",
             caveat=sentence(ranking.caveat), table=score_table(ranking.metrics, rows, extra), first=20,
             notes=[sentence(n) for n in [told, f"Full-image times: {ranking.extrapolation}", ranking.assumption,
                                           "; ".join(ranking.notes), *ranking.errors]])
    if ranking.skipped:
        page.add("list", level=3, heading=f"Did not fit the {ranking.budget_s:g} s budget", items=[
            f"{s.name} ({s.family}): expected {'%.2f s' % s.expected_s if s.expected_s is not None else 'unknown'}"
            f" — {s.why}" for s in ranking.skipped])


def ranking_spectra(ranking: Ranking, lr: np.ndarray, reference: np.ndarray | None) -> SpectrumView | None:
    """The frequency view of a ranking: each network's result on the crop, the truth and bicubic (run here)."""
    if not ranking.outputs:
        return None
    bicubic = run_request(lr, Request.make("bicubic", outscale=ranking.scale)).pixels
    return compare_spectra(ranking.outputs, reference=reference, bicubic=bicubic, scale=ranking.scale)


def ranking_html(ranking: Ranking, lr: np.ndarray, reference: np.ndarray | None, *, name: str, pipeline: str,
                 title: str = "SR Lab: which network", spectra: SpectrumView | None = None,
                 font_size: int = charts.FONT, window: tuple[int, int, int, int] | None = None) -> str:
    """The handout of a ranking. First what a student reads: what was done, the ranked table with times, what
    did not fit the budget, zoomed crops of the results (of `window`, the region chosen in the app: x, y, side,
    magnification in output px), what each measure and time column means, the crop and how it was made, the
    frequency view (`spectra`, or made here); then the record: every network run (its weights sha256), the
    machine and the library versions."""
    page = _Page()
    (cw, ch), by = ranking.crop_size, ranking.measure
    tried = len(ranking.rows) + len(ranking.skipped)
    page.add("what", lines=[
        f"{tried} networks were asked to make a {cw}×{ch} crop of {name} ×{ranking.scale} larger on this computer, "
        f"fastest first, within a {ranking.budget_s:g} s budget; {len(ranking.rows)} ran"
        + (f", {len(ranking.skipped)} did not fit the budget" if ranking.skipped else "") + ".",
        f"They are ranked best first by {by.label} ({'higher' if by.higher_is_better else 'lower'} is better)"
        + (", measured against the true image." if ranking.reference else
           ": there is no true image, so this measure describes how natural a result looks, not whether it is "
           "right."),
        sentence(f"How the crop was made: {pipeline}")])
    _ranking_blocks(page, ranking)
    kept = {r.name: ranking.outputs[r.name] for r in ranking.rows if r.name in ranking.outputs}
    run = ImageRun(name, lr, reference, pipeline, Scores([], reference is not None), [], kept)
    _crops_block(page, run, window=window)
    _measures_block(page, ranking.metrics, [
        "s on crop: how long the network took on this crop on this machine.",
        "s expected: what this machine's earlier measurement of the network predicted for this crop before it "
        "ran (— when it had not been measured); far from 's on crop' means the machine was busier or quieter.",
        f"s for {ranking.full_size[0]}×{ranking.full_size[1]}: the time the whole image would take, worked out "
        "from the crop's time."])
    _input_block(page, f"The crop: {name}", lr, pipeline, "the input crop")
    if kept:
        _picture_blocks(page, run, ranking.scale, font_size, crops=False,
                        spectra=spectra if spectra is not None else ranking_spectra(ranking, lr, reference))
    page.add("methods", record=True, methods=[method_entry(Request.make(r.name, outscale=ranking.scale), r.what)
                                              for r in ranking.rows])
    return page.html(title, f"Scale ×{ranking.scale}; {ranking.question}.")


def bench_html(runs: Sequence[ImageRun], metrics: Sequence[Metric], summary: Sequence[dict], *, how: str,
               scale: float, title: str = "SR Lab bench", per_image: Sequence | None = None,
               font_size: int = charts.FONT) -> str:
    """The handout for a bench run: how the pairs were made and scored, every method, the summary (mean per
    method), per-image tables, and crops and spectra of the images whose outputs were kept."""
    page = _Page()
    first = runs[0]
    page.add("list", level=2, heading="How", items=[how, *dict.fromkeys(r.pipeline for r in runs),
                                                   f"{len(runs)} images: {', '.join(r.name for r in runs)}"])
    what = {r.method: r.what for r in first.scores.rows}
    page.add("methods", record=True, methods=[method_entry(r, what.get(r.method, "")) for r in first.requests])
    page.add("table", level=2, heading="Summary: mean over the images", caveat="", first=22,
             table=score_table(metrics, [(r["method"], r) for r in summary],
                               [("images", [str(r["images"]) for r in summary])]), notes=[])
    kinds = {r.method: r.kind for run in runs for r in run.scores.rows}
    page.add_charts("Charts of the summary", metric_charts(
        metrics, [(r["method"], kinds.get(r["method"], "reference"), r) for r in summary if r["method"] in kinds],
        font_size, "mean over the images; best on top"))
    for run in runs:
        if per_image is not None:  # the bench's own rows, with the reference's no-reference measures
            rows = [(s.method, s.values) for s in per_image if s.image == run.name]
            page.add("table", level=3, heading=f"Scores: {run.name}", caveat="", first=22,
                     table=score_table(metrics, rows), notes=["; ".join(run.scores.notes)])
        else:
            _scores_block(page, run, level=3)
        _picture_blocks(page, run, scale, font_size, level=3)
    return page.html(title, f"Scale ×{scale:g}, {len(runs)} images.")


def write(path: str | Path, page: str) -> Path:
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path



# ---------------------------------------------------------------- attribution maps (core/quality/attribution.py)
ATTRIBUTION_BLOCK = """<section><h{{ level }}>What each method looked at: attribution maps</h{{ level }}>
<p>{{ how }}</p><div class="crops">
{% for label, src in maps %}<figure><img src="{{ src }}" alt="{{ label }}"><figcaption>{{ label }}</figcaption>
</figure>{% endfor %}</div>
<table><colgroup><col style="width:24%"></colgroup><tr><th>method</th><th>DI</th><th>90 % within (input px)</th>
<th>completeness gap</th><th>s</th><th>what ran</th></tr>
{% for m in rows %}<tr><td>{{ m.method }}</td><td class="num">{{ '%.2f' % m.di }}</td>
<td class="num">{{ '%.1f' % m.reach_px }}</td><td class="num">{{ '%.1f %%' % (100 * m.completeness_gap) }}</td>
<td class="num">{{ '%.1f' % m.seconds }}</td><td>{{ m.what }}</td></tr>{% endfor %}</table>
<ul>{% for s in sentences %}<li>{{ s }}</li>{% endfor %}</ul>
<p class="small">{{ reading }}</p></section>"""


def _attribution_block(page: _Page, result, level: int = 2) -> None:
    """The maps over the input region side by side (the window outlined), their figures and one sentence each."""
    from core.quality.attribution import KERNEL_SIZE, heat_overlay, sentences

    r = result.request
    x, y, w, h = result.region
    wx, wy, size = r.window
    how = (f"Window {size}×{size} output px at ({wx}, {wy}) of the ×{r.scale} output; each map covers the {w}×{h} "
           f"input region at ({x}, {y}). Local attribution maps (Gu & Dong, CVPR 2021): gradients of the window's "
           f"summed gradient magnitude, integrated over {r.steps} steps from the input blurred with σ {r.sigma:g} "
           f"({KERNEL_SIZE}×{KERNEL_SIZE} kernel) to the input itself.")
    maps = [(f"{m.method}: DI {m.di:.2f}", data_uri(heat_overlay(result.crop, m.map, result.window, r.scale)))
            for m in result.maps]
    reading = ("Bright = the input pixels that changed the window most (|sum over colour channels|, scaled to the "
               "largest); the Diffusion Index is (1 − Gini of that map) × 100: larger when a method draws on a "
               "wider area. Completeness gap: how far the map's sum is from F(input) − F(blurred input), the "
               "exact value of the path integral. CPU: " + result.cpu + ".")
    page.blocks.append(page.env.from_string(ATTRIBUTION_BLOCK).render(
        level=level, how=how, maps=maps, rows=result.maps, sentences=list(sentences(result).values()),
        reading=reading))


def attribution_html(result, *, name: str, title: str = "SR Lab: what the network looks at") -> str:
    """The handout of an attribution run: the input region, the maps side by side, their figures, the sentences."""
    page = _Page()
    _input_block(page, f"The image: {name}", to_uint8(result.crop),
                 "the image as loaded", "the input region the maps cover")
    _attribution_block(page, result)
    return page.html(title, f"Scale ×{result.request.scale}; {len(result.maps)} method(s).")
