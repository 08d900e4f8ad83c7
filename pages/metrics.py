"""Metrics: score every method against a true reference (uploaded, or made by degrading a clean image)."""
import math

import altair as alt
import cv2
import numpy as np
import pandas as pd
import streamlit as st

from core.degrade import DOWNSCALE_METHODS, Degradation, make_pair
from core.imageio import ImageError, LoadedImage, load_image
from core.metrics import FULL_REFERENCE, SizeMismatch, error_maps, indicators, score
from core.methods import METHODS
from core.samples import SAMPLES
from ui.common import UPLOAD_TYPES, image_key, page_setup, result_key, results, run_with_progress
from ui.controls import scale_picker
from ui.slider import to_display

st.title("Metrics")
image = page_setup()

DEFAULT_METHODS = ["nearest", "bicubic", "bilateral", "wavelet", "SPAN_x4", "realesr-animevideov3",
                   "RealESRGAN_x4plus"]
MODES = ["Make a test pair from a clean image", "Upload a reference", "No reference"]


DEFAULTS = dict(met_mode=MODES[0], met_factor=4, met_down="bicubic", met_blur=0.0, met_noise=0.0, met_jpeg=0,
                met_seed=0, met_methods=DEFAULT_METHODS, met_y=True, met_policy="crop")
for k, v in DEFAULTS.items():  # widgets below take their values from here, so the demo can set them
    st.session_state.setdefault(k, v)


def one_click() -> None:
    """The classroom demo: astronaut, ×4, noise σ 10, JPEG 60, seven methods."""
    st.session_state.update(DEFAULTS, source="Sample", sample="astronaut", met_noise=10.0, met_jpeg=60,
                            met_go=True)


st.button("One click: astronaut, ×4, noise σ 10, JPEG 60, seven methods", on_click=one_click, key="met_demo",
          type="primary")

mode = st.radio("Reference", MODES, horizontal=True, key="met_mode")
reference = None
lr_pixels = image.pixels
notes = []
if mode == MODES[0]:
    source = st.session_state.get("image_source", "")
    sample = source.split(":", 1)[1] if source.startswith("sample:") else None
    clean = SAMPLES[sample].original() if sample else image.pixels
    st.caption(f"Clean image: {'the full-size original of the sample ' + sample if sample else image.name}, "
               f"{clean.shape[1]}×{clean.shape[0]}. It becomes the reference; its degraded copy the input.")
    c = st.columns(6)
    factor = c[0].selectbox("Downscale ÷", [2, 3, 4, 8], key="met_factor")
    down = c[1].selectbox("Downscale with", DOWNSCALE_METHODS, key="met_down")
    blur = c[2].slider("Blur σ (0 = off)", 0.0, 5.0, step=0.1, key="met_blur")
    noise = c[3].slider("Noise σ (0 = off)", 0.0, 50.0, step=1.0, key="met_noise")
    jpeg = c[4].slider("JPEG quality (0 = off)", 0, 100, step=5, key="met_jpeg")
    seed = c[5].number_input("Seed", 0, 10_000, key="met_seed")
    pair = make_pair(clean, Degradation(factor, down, blur, noise, int(jpeg), int(seed)))
    st.markdown(f"**Pipeline:** {pair.pipeline()}")
    lr_pixels, reference, outscale = pair.lr, pair.hr, float(factor)
    p1, p2 = st.columns(2)
    p1.image(to_display(pair.lr, 256), caption=f"input (degraded) {pair.lr.shape[1]}×{pair.lr.shape[0]}")
    p2.image(to_display(pair.hr, 256), caption=f"reference (clean) {pair.hr.shape[1]}×{pair.hr.shape[0]}")
elif mode == MODES[1]:
    up = st.file_uploader("Reference (the true high-resolution image)", type=UPLOAD_TYPES, key="met_ref")
    outscale = 4.0
    if up is not None:
        try:
            ref = load_image(up.getvalue(), up.name)
            reference = ref.pixels
            outscale = ref.width / image.width
            st.caption(f"Reference {ref.describe()}; input {image.describe()}: scale ×{outscale:.4g} "
                       "(reference width ÷ input width).")
            if not 1 <= outscale <= 8:
                st.error(f"The reference is ×{outscale:.3g} the input's width; it must be ×1 to ×8.")
                st.stop()
        except ImageError as exc:
            st.error(f"That reference could not be used: {exc}")
            st.stop()
    else:
        st.caption("Upload the high-resolution original of the image in the sidebar.")
else:
    outscale = scale_picker("met_scale")

c1, c2, c3, c4 = st.columns([4, 1, 1, 2])
methods = c1.multiselect("Methods", METHODS.names(), key="met_methods")
y_only = c2.toggle("Y channel", key="met_y", help="PSNR/SSIM on BT.601 luma (as published SR "
                                                                   "tables) instead of RGB. LPIPS is always RGB.")
crop_border = c3.number_input("Border crop (px)", 0, 32, int(round(outscale)), key=f"met_crop_{outscale:g}",
                              help="Pixels removed on every side before scoring; the scale, as BasicSR does.")
policy = c4.radio("If sizes differ", ["crop", "refuse"], horizontal=True, key="met_policy",
                  help="crop: both to the common top-left area (said in the notes); refuse: no score.")

go = st.button("Score", key="met_run", disabled=not methods) or st.session_state.pop("met_go", False)
lr_key = image_key(LoadedImage(lr_pixels))
if go:
    rows, maps_src = [], {}
    for name in methods:
        key = result_key(None, name, outscale, image=lr_key)
        try:
            result, _ = run_with_progress(name, name, lr_pixels, key, outscale=outscale)
        except Exception as exc:
            st.error(f"{name} failed: {exc}")
            continue
        row = {"method": name, "kind": METHODS.get(name).kind, "time_s": result.stats.elapsed_s,
               "what": result.stats.summary}
        if reference is not None:
            try:
                values, how = score(result.pixels, reference, y_only=y_only, crop_border=int(crop_border),
                                    size_policy=policy)
                row.update(values)
                notes = how
            except SizeMismatch as exc:
                st.error(f"{name}: {exc}")
                continue
        else:
            row.update(indicators(result.pixels))
        rows.append(row)
    st.session_state.met_result = dict(rows=rows, notes=notes, lr_key=lr_key, ref=reference is not None,
                                       input=indicators(lr_pixels), keys={r["method"]: result_key(
                                           None, r["method"], outscale, image=lr_key) for r in rows})

res = st.session_state.get("met_result")
if not res or res["lr_key"] != lr_key or not res["rows"]:
    st.caption("Choose methods and press Score.")
    st.stop()

df = pd.DataFrame(res["rows"]).set_index("method")
fmt = lambda v: "∞" if isinstance(v, float) and math.isinf(v) else v  # noqa: E731

if not res["ref"]:
    st.warning("No reference: PSNR, SSIM and LPIPS need the true high-resolution image and are not shown. "
               "Below are no-reference indicators, which describe an image but cannot say which is right.")
    table = pd.concat([pd.DataFrame([{"method": "(input)", **res["input"]}]).set_index("method"),
                       df[list(res["input"])]])
    st.dataframe(table.style.format(precision=2), key="met_table")
    st.caption("sharpness = variance of the Laplacian (higher: more edges, or more noise); noise σ estimated by "
               "skimage.restoration.estimate_sigma on 0–255; mean and std on 0–255.")
    st.download_button("Download CSV", table.to_csv().encode(), "indicators.csv", "text/csv", key="met_csv")
    st.stop()

cols = {m.name: f"{m.label}{' (' + m.unit + ')' if m.unit else ''} {m.arrow}" for m in FULL_REFERENCE}
table = df[[*cols, "time_s", "what"]].rename(columns={**cols, "time_s": "time (s)", "what": "what was done"})
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
st.download_button("Download CSV", df.reset_index().to_csv(index=False).encode(), "scores.csv", "text/csv",
                   key="met_csv")

st.markdown("**Each metric** (arrows say which way is better)")
chart_cols = st.columns(len(FULL_REFERENCE))
finite = df.replace([math.inf], np.nan)
for col, m in zip(chart_cols, FULL_REFERENCE):
    col.caption(f"{m.label} {m.arrow}")
    col.bar_chart(finite[m.name], height=220, horizontal=True)

st.markdown("**Perception–distortion**: PSNR (pixel fidelity, → better) vs LPIPS (perceptual distance, ↓ better). "
            "A GAN such as Real-ESRGAN is expected left of bicubic (lower PSNR) but lower down (better LPIPS). "
            "SPAN, trained for PSNR on clean bicubic downscaling, lies far right on clean pairs (Set5: 32.2 dB); "
            "noise and JPEG, which it never saw, pull it back.")
points = finite.reset_index()[["method", "kind", "psnr_db", "lpips"]].dropna()
base = alt.Chart(points).encode(x=alt.X("psnr_db", title="PSNR (dB) →", scale=alt.Scale(zero=False)),
                                y=alt.Y("lpips", title="LPIPS (lower is better)", scale=alt.Scale(zero=False)))
st.altair_chart((base.mark_circle(size=120).encode(color="kind") + base.mark_text(dx=8, align="left").encode(
    text="method")).properties(height=360), key="met_scatter")

st.markdown("**Where the errors are**")
pick = st.selectbox("Method", list(df.index), key="met_map_method")
hit = results().get(res["keys"][pick])
if hit is not None and reference is not None:
    err, smap = error_maps(hit[0].pixels, reference, y_only=y_only, crop_border=int(crop_border),
                           size_policy=policy)
    m1, m2 = st.columns(2)
    heat = cv2.applyColorMap((np.clip(err * 4, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    m1.image(to_display(cv2.cvtColor(heat, cv2.COLOR_BGR2RGB), 512),
             caption=f"absolute error ×4 (bright = wrong), {pick}")
    m2.image(to_display((np.clip(smap, 0, 1) * 255).astype(np.uint8), 512),
             caption=f"SSIM map (dark = structure differs), {pick}")
