"""Drawing a ranking of networks (core/quality/ranking.py): the question, the table (every row visible), what
did not fit the budget, the grid of results with the shared zoom, an A/B slider, and the handout."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.quality.ranking import Ranking
from core.quality.report import ranking_html, ranking_spectra, sentence
from ui.charts import font_size, show, spectrum_caption, spectrum_chart, width
from ui.compare import ab_slider, zoom_grid
from ui.controls import dataframe, download
from ui.region import Region, handout_window
from ui.words import details, ranked_by


def _seconds(value) -> str:
    return "" if value is None else f"{value:.2f}"


def ranking_table(ranking: Ranking) -> pd.DataFrame:
    """The table as shown: rank, network, family, the measure ranked by first, times on this machine."""
    rows = []
    for i, row in enumerate(ranking.rows):
        scores = {m.heading: m.format(row.scores.get(m.name, float("nan"))) for m in
                  [ranking.measure, *[m for m in ranking.metrics if m is not ranking.measure]]}
        rows.append({"rank": i + 1, "network": row.name, "family": row.family, **scores,
                     "s on this crop": _seconds(row.seconds),
                     f"s for the full {ranking.full_size[0]}×{ranking.full_size[1]}": _seconds(row.full_seconds),
                     "backend": row.backend})
    return pd.DataFrame(rows).set_index("rank") if rows else pd.DataFrame()


def show_ranking(ranking: Ranking, region: Region, crop: tuple[int, int, int, int], input_size: tuple[int, int],
                 reference, lr_crop, *, name: str, pipeline: str) -> None:
    st.subheader(f"Which network: {ranking.question}")
    w, h = ranking.crop_size
    st.caption(f"×{ranking.scale} on a {w}×{h} crop, best first by {ranked_by(ranking.measure)}"
               + (" against the true photo" if ranking.reference else "") + f"; {len(ranking.rows)} ran in "
               f"{ranking.spent_s:.0f} s of a {ranking.budget_s:g} s budget.")
    if ranking.caveat:
        st.warning(f"There is no true photo here to compare with: the order says {ranking.measure.plain_name}, not "
                   "whether it is right; a network that invents believable detail can come first.")
    table = ranking_table(ranking)
    if not table.empty:
        st.table(table)  # headers wrap and every column is in sight at 1280 px (a grid cut them and scrolled)
    st.caption("Times were measured on this computer; the full image's time is worked out from the crop's.")
    details(f"Ranked by {ranking.measure.label} ({ranking.measure.arrow} better): {ranking.measure.about}.",
            ranking.caveat and sentence(ranking.caveat),
            *(sentence(n) for n in [f"Times: {ranking.extrapolation}", ranking.assumption,
                                    "; ".join(ranking.notes)] if n))  # sentences: they ran together
    if ranking.skipped:
        st.markdown(f"**Not run** ({len(ranking.skipped)}: they did not fit the budget — a longer budget runs them)")
        dataframe(pd.DataFrame([{"network": k.name, "family": k.family, "expected s": _seconds(k.expected_s),
                                    "why": k.why} for k in ranking.skipped]), key="rank_skipped", hide_index=True,
                     height="content")
    for error in ranking.errors:
        st.error(error)
    named = ([("the truth", reference)] if reference is not None else []) + [
        (row.name, ranking.outputs[row.name]) for row in ranking.rows if row.name in ranking.outputs]
    if not named:
        return
    sizes = {p.shape[:2] for _, p in named}
    if len(sizes) > 1:
        hh, ww = min(s[0] for s in sizes), min(s[1] for s in sizes)
        named = [(n, p[:hh, :ww]) for n, p in named]
    st.markdown("**A / B**: any two")
    ab_slider(named, key="rank_ab")
    st.markdown("**The results**, best first, the same region of each")
    zoom_grid(named, region, crop, input_size)
    frequencies(ranking, lr_crop, reference)
    out_h, out_w = named[0][1].shape[:2]
    report_button(ranking, lr_crop, reference, name, pipeline, handout_window(region, (out_w, out_h), crop, input_size))


def _spectra(ranking: Ranking, lr_crop, reference):
    kept = st.session_state.get("rank_spectra")
    if kept is None or kept[0] is not ranking:  # computed once per ranking, not on every rerun or download
        kept = st.session_state["rank_spectra"] = (ranking, ranking_spectra(ranking, lr_crop, reference))
    return kept[1]


def frequencies(ranking: Ranking, lr_crop, reference) -> None:
    view = _spectra(ranking, lr_crop, reference)
    if view is None:
        return
    st.markdown("**Frequencies**: how much fine and coarse detail each result has, beside bicubic"
                + (" and the truth" if reference is not None else ""))
    show(spectrum_chart(view, font_size=font_size(), width=width()), "power spectra")
    spectrum_caption(view)


def report_button(ranking: Ranking, lr_crop, reference, name: str, pipeline: str, window=None) -> None:
    """The handout of this ranking: one self-contained HTML file, made when it is downloaded; its zoomed crops
    from `window`, the region the page shows."""
    def page() -> str:
        return ranking_html(ranking, lr_crop, reference, name=name, pipeline=pipeline,
                            spectra=_spectra(ranking, lr_crop, reference), font_size=font_size(), window=window)

    download("Download report (HTML, prints on A4)", page, "sr-lab-which-network.html", "text/html",
             key="rank_report", help="The crop and how it was made, every network with its weights' "
             "sha256, the ranking with times, zoomed crops and the frequency view: one file, offline.")
