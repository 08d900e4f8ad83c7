"""Baselines: classical interpolations and filters side by side with the network, labelled truthfully."""
import streamlit as st

from core.methods import METHODS
from ui.common import DISPLAY_MAX, page_setup, result_key, results, run_with_progress
from ui.controls import param_widgets, scale_picker, zoom_grid
from ui.slider import to_display

st.title("Baselines")
image = page_setup()

DEFAULT = ["nearest", "bicubic", "bilateral", "wavelet", "RealESRGAN_x4plus"]
chosen = st.multiselect("Methods", METHODS.names(), default=DEFAULT, key="base_methods",
                        format_func=lambda n: METHODS.get(n).label)
c1, c2 = st.columns([2, 2])
outscale = scale_picker("base_scale", c1)
h, w = image.height, image.width
big = h * w > 256 * 256
where = c2.radio("Run on", ["centre crop 128×128", "full image"], index=0 if big else 1, horizontal=True,
                 key="base_where", help="Networks take seconds per 128×128 on a CPU; a crop keeps it quick.")
if where.startswith("centre") and (w > 128 or h > 128):
    cw, ch = min(128, w), min(128, h)
    crop = ((w - cw) // 2, (h - ch) // 2, cw, ch)
else:
    crop = None

params = {}
with_params = [METHODS.get(n) for n in chosen if METHODS.get(n).params]
if with_params:
    st.caption("Parameters")
    cols = st.columns(min(3, len(with_params)))
    for i, m in enumerate(with_params):
        with cols[i % len(cols)].expander(m.label):
            st.caption(f"{m.description} Library: `{m.library_call}`.")
            params[m.name] = param_widgets(m, "base", st)

if st.button("Run", type="primary", key="base_run", disabled=not chosen):
    px = image.pixels if crop is None else image.pixels[crop[1]:crop[1] + crop[3], crop[0]:crop[0] + crop[2]]
    keys = []
    for name in chosen:
        key = result_key(crop, name, outscale, params=params.get(name))
        try:
            run_with_progress(name, name, px, key, outscale=outscale, params=params.get(name))
            keys.append(key)
        except Exception as exc:  # one failed method must not hide the others
            st.error(f"{name} failed: {exc}")
    st.session_state.base_last = keys

keys = [k for k in st.session_state.get("base_last", []) if k[0] == st.session_state.image_key]
done = [(k, results().get(k)) for k in keys]
done = [(k, hit) for k, hit in done if hit is not None]
if not done:
    st.caption("Choose methods and press Run. Results of the Enhance page are reused, not recomputed.")
    st.stop()

first = done[0][1][0]
out_w, out_h = first.stats.output_size
region = "full image" if done[0][0][1] is None else "centre crop {2}×{3}".format(*done[0][0][1])
st.subheader(f"{len(done)} results at ×{first.stats.outscale:g} ({out_w}×{out_h}), {region}")
per_row = 3
for start in range(0, len(done), per_row):
    cols = st.columns(per_row)
    for col, (key, (result, png)) in zip(cols, done[start:start + per_row]):
        s = result.stats
        col.image(to_display(result.pixels, DISPLAY_MAX // 2), width="stretch")
        col.caption(f"**{s.method}** ({s.kind}): {s.summary}. {s.elapsed_s:.2f} s.")
        col.download_button("Download PNG", png, file_name=f"{image.name.rsplit('.', 1)[0]}_{s.method}_"
                            f"x{s.outscale:g}.png", mime="image/png", key=f"base_dl_{start}_{s.method}")

st.markdown("**Zoom**: the same region of every result, at the same magnification")
zoom_grid([(result.stats.method, result.pixels) for _, (result, _) in done], key="base", window=96,
          shown_px=288)
