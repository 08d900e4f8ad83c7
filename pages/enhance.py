"""Enhance: one network on the chosen image, a crop preview first, then the full image."""
import cv2
import streamlit as st

from core import face
from core.methods import METHODS
from ui.common import DISPLAY_MAX, nearest_up, page_setup, result_key, results, run_with_progress
from ui.controls import scale_picker, zoom_grid
from ui.slider import slider_height, slider_html, to_display

st.title("Enhance")
image = page_setup()

for note in image.notes:
    if not note.startswith("sample:"):
        st.info(f"About this image: {note}.")

networks = [m for m in METHODS if m.kind == "network"]
c1, c2, c3 = st.columns([2, 2, 1])
method = c1.selectbox("Method", [m.name for m in networks], key="enh_method")
c1.caption(METHODS.get(method).description)
outscale = scale_picker("enh_scale", c2)
native = METHODS.get(method).native_scale
c2.caption(f"The network upscales ×{native}; " + ("no resize after it." if outscale == native else
                                                   f"a Lanczos resize then makes it ×{outscale:g}."))
tile = c3.selectbox("Tile size", [0, 64, 128, 192, 256, 384, 512], key="enh_tile",
                    format_func=lambda t: "automatic" if t == 0 else f"{t} px",
                    help="Large images run in overlapping tiles, blended so no seams show; memory is bounded.")
runtime = c3.selectbox("CPU backend", ["auto", "torch", "ncnn", "ncnn-bf16"], key="enh_backend",
                       help="auto: the fastest backend whose output stays within 45 dB of fp32, measured once on "
                            "this machine. torch: the fp32 reference. ncnn: same files, fp32. ncnn-bf16: bfloat16.")

face_ok, face_why = face.availability()
f1, f2 = st.columns([1, 2])
use_face = f1.toggle("Face restoration (GFPGAN v1.4)", value=False, disabled=not face_ok, key="enh_face",
                     help=face_why)
strength = f2.slider("Face strength", 0.0, 1.0, 0.5, 0.05, disabled=not (face_ok and use_face),
                     help="0 keeps the network's faces, 1 uses GFPGAN's entirely.", key="enh_strength")
if not face_ok:
    st.caption(f"Face restoration is off: {face_why} See weights/README.md.")

# ---- crop preview region
h, w = image.height, image.width
with st.expander("Preview region", expanded=False):
    sizes = [s for s in (128, 192, 256) if s <= max(h, w)] or [max(h, w)]
    side = st.select_slider("Crop size (input px)", sizes, value=sizes[0], key="enh_crop")
    cw, ch = min(side, w), min(side, h)
    cx = st.slider("Centre x", cw // 2, w - (cw - cw // 2), w // 2, key="enh_cx") if w > cw else w // 2
    cy = st.slider("Centre y", ch // 2, h - (ch - ch // 2), h // 2, key="enh_cy") if h > ch else h // 2
x0, y0 = min(max(0, cx - cw // 2), w - cw), min(max(0, cy - ch // 2), h - ch)
region = (x0, y0, cw, ch)

b1, b2, _ = st.columns([1, 1, 3])
preview = b1.button(f"Preview a crop ({cw}×{ch})", type="primary", key="enh_preview")
full = b2.button(f"Enhance full image ({w}×{h})", key="enh_full")

if preview or full:
    crop = region if preview else None
    px = image.pixels if crop is None else image.pixels[y0:y0 + ch, x0:x0 + cw]
    key = result_key(crop, method, outscale, tile, use_face, strength, backend=runtime)
    try:
        run_with_progress("Crop preview" if crop else "Full image", method, px, key, outscale=outscale, tile=tile,
                          face=use_face, face_strength=strength, backend=runtime)
        st.session_state.enh_last = (key, crop)
    except Exception as exc:  # shown, not raised: the page keeps answering
        st.error(f"The enhancement failed: {exc}")

last = st.session_state.get("enh_last")
if not last or last[0][0] != st.session_state.image_key:
    st.caption("Preview a crop first (seconds on a CPU), then enhance the full image.")
    st.stop()

key, crop = last
hit = results().get(key)
if hit is None:
    st.warning("That result was dropped from the cache to save memory: run it again.")
    st.stop()
result, png = hit
s = result.stats
src = image.pixels if crop is None else image.pixels[crop[1]:crop[1] + crop[3], crop[0]:crop[0] + crop[2]]
out_w, out_h = s.output_size
what = f"crop {crop[2]}×{crop[3]} at ({crop[0]}, {crop[1]})" if crop else "full image"
done_by = f"network ×{s.network_scale}" + ("" if s.resize == "none" else f", then {s.resize}")
st.subheader(f"Result: {s.method} on the {what}")
st.caption(f"{done_by}. Settings of this result: scale ×{s.outscale:g}, face: {s.face}.")

before = nearest_up(src, (out_w, out_h))
shown_before, shown_after = to_display(before, DISPLAY_MAX), to_display(result.pixels, DISPLAY_MAX)
st.iframe(slider_html(shown_before, shown_after, f"input, nearest-neighbour ×{s.outscale:g}",
                      f"{s.method} ×{s.outscale:g}"), height=slider_height(shown_after))
if shown_after.shape[:2] != result.pixels.shape[:2]:
    st.caption(f"Display preview downsized to {shown_after.shape[1]}×{shown_after.shape[0]}; "
               f"the download is the full {out_w}×{out_h}.")

# ---- zoom: the same region across input-nearest, bicubic and the result
st.markdown("**Zoom** (same region, same magnification, pixels shown as squares)")
bicubic = cv2.resize(src, (out_w, out_h), interpolation=cv2.INTER_CUBIC)
zoom_grid([("input, nearest neighbour", before), ("bicubic (OpenCV)", bicubic), (s.method, result.pixels)],
          key="enh", per_row=3)

st.markdown("**Statistics**")
st.table({"": [r[0] for r in s.rows(len(png))], "value": [r[1] for r in s.rows(len(png))]})
for note in s.notes:
    st.caption(note)
stem = image.name.rsplit(".", 1)[0]
st.download_button(f"Download full-size PNG ({out_w}×{out_h}, {len(png) / 1e6:.1f} MB)", png,
                   file_name=f"{stem}_{s.method}_x{s.outscale:g}{'_crop' if crop else ''}.png",
                   mime="image/png", key="enh_download")
