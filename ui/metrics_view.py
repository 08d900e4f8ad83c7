"""Drawing the Metrics page's results: the scores table with the best marked, charts and error maps."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pandas as pd
import streamlit as st

from core.imageio import ImageError, LoadedImage, load_image
from core.metrics import FULL_REFERENCE, error_maps
from ui.charts import metric_dots, tradeoff_scatter
from ui.jobs import cached
from ui.picker import UPLOAD_TYPES
from ui.slider import to_display


def uploaded_reference(image: LoadedImage) -> LoadedImage | None:
    """The uploaded true reference; a rejected upload says why and keeps the last good one (nothing else
    changes), and its error goes once a good file arrives."""
    up = st.file_uploader("Reference (the true high-resolution image)", type=UPLOAD_TYPES, key="met_ref")
    if up is not None and st.session_state.get("met_ref_id") != up.file_id:
        st.session_state.met_ref_id = up.file_id
        try:
            ref = load_image(up.getvalue(), up.name)
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


def show_scores(res: dict, reference, y_only: bool, crop_border: int, policy: str) -> None:
    df = pd.DataFrame(res["rows"]).set_index("method")
    if not res["ref"]:
        st.warning("No reference: PSNR, SSIM and LPIPS need the true high-resolution image and are not shown. "
                   "Below are no-reference indicators, which describe an image but cannot say which is right.")
        table = pd.concat([pd.DataFrame([{"method": "(input)", **res["input"]}]).set_index("method"),
                           df[list(res["input"])]])
        st.dataframe(table.style.format(precision=2), key="met_table")
        st.caption("sharpness = variance of the Laplacian (higher: more edges, or more noise); noise σ estimated by "
                   "skimage.restoration.estimate_sigma on 0–255; mean and std on 0–255.")
        st.download_button("Download CSV", table.to_csv().encode(), "indicators.csv", "text/csv", key="met_csv")
        return

    cols = {m.name: f"{m.label}{' (' + m.unit + ')' if m.unit else ''} {m.arrow}" for m in FULL_REFERENCE}
    table = df[[*cols, "time_s"]].rename(columns={**cols, "time_s": "time (s)"})
    best = {cols[m.name]: (df[m.name].idxmax() if m.higher_is_better else df[m.name].idxmin()) for m in FULL_REFERENCE}


    def mark_best(column: pd.Series):
        return ["font-weight: bold; background-color: #c8e6c9" if column.name in best and i == best[column.name]
                else "" for i in column.index]


    styled = table.style.apply(mark_best).format({cols["psnr_db"]: lambda v: "∞" if math.isinf(v) else f"{v:.2f}",
                                                  cols["ssim"]: "{:.4f}", cols["lpips"]: "{:.4f}",
                                                  cols["mse"]: "{:.6f}", "time (s)": "{:.2f}"})
    st.subheader("Scores against the true reference")
    st.dataframe(styled, key="met_table")
    st.caption("Best per column in bold green. " + "; ".join(res["notes"]) + ". PSNR = 10·log10(1/MSE) dB on the "
               "0–1 range; SSIM: scikit-image, Gaussian window σ 1.5, data range 1; LPIPS: AlexNet v0.1 on RGB "
               "with the same crop, lower is better. Best: " +
               ", ".join(f"{k.split(' ')[0]} {v}" for k, v in best.items()) + ".")
    with st.expander("What was done, per method"):  # full sentences: a table column would cut them
        st.markdown("\n".join(f"- **{name}**: {what}" for name, what in df["what"].items()))
    st.download_button("Download CSV", df.reset_index().to_csv(index=False).encode(), "scores.csv", "text/csv",
                       key="met_csv")

    st.markdown("**Each metric**, best on top (the axis spans the values, it does not start at 0)")
    finite = df.replace([math.inf], np.nan)
    chart_cols = st.columns(2)
    for i, m in enumerate(FULL_REFERENCE):
        chart_cols[i % 2].altair_chart(metric_dots(finite[m.name], m.label, m.higher_is_better,
                                                   4 if m.name != "psnr_db" else 2), key=f"met_dots_{m.name}")

    st.markdown("**Perception–distortion**: PSNR (pixel fidelity, → better) vs LPIPS (perceptual distance, ↓ better). "
                "A GAN such as Real-ESRGAN is expected left of bicubic (lower PSNR) but lower down (better LPIPS). "
                "SPAN, trained for PSNR on clean bicubic downscaling, lies far right on clean pairs (Set5: 32.2 dB); "
                "noise and JPEG, which it never saw, pull it back.")
    points = finite.reset_index()[["method", "kind", "psnr_db", "lpips"]].dropna()
    st.altair_chart(tradeoff_scatter(points), key="met_scatter")

    st.markdown("**Where the errors are**")
    networks = [n for n in df.index if df.loc[n, "kind"] == "network"]
    pick = st.selectbox("Method", list(df.index), key="met_map_method",  # a network's errors are the lesson
                        index=list(df.index).index(networks[-1]) if networks else 0)
    hit = cached(res["keys"][pick])
    if hit is not None and reference is not None:
        err, smap = error_maps(hit[0].pixels, reference, y_only=y_only, crop_border=int(crop_border),
                               size_policy=policy)
        m1, m2 = st.columns(2)
        heat = cv2.applyColorMap((np.clip(err * 4, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
        m1.image(to_display(cv2.cvtColor(heat, cv2.COLOR_BGR2RGB), 512),
                 caption=f"absolute error ×4 (bright = wrong), {pick}")
        m2.image(to_display((np.clip(smap, 0, 1) * 255).astype(np.uint8), 512),
                 caption=f"SSIM map (dark = structure differs), {pick}")
