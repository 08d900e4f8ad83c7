"""Drawing the Video page's choices and results: the reference of an uploaded clip (uploaded, or made on the spot by
degrading the clip, taken as the truth), and after a run one frame of every result on the lab's A/B slider and
zoom grid (ui/compare.py), the frame decoded from the job's MP4 bytes when asked (core.io.video.frame_at) and kept
in a bounded store, never a clip's frames all held; the per-frame curves and the means."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core.io.imageio import LoadedImage
from core.io.video import frame_at
from core.quality.degrade import Degradation
from core.quality.metrics import METRICS
from core.serve.cache import BoundedCache
from core.video.degrade import describe
from core.video.measures import CLIP_MEASURES
from ui.compare import ab_slider, zoom_grid
from ui.controls import download, nearest_up
from ui.region import region_picker
from ui.state import kept, projector

REFERENCES = ["None (no-reference measures)", "Upload the reference clip",
              "Make one: this clip is the truth, degraded frame by frame"]
FRAMES_BYTES = 100_000_000  # decoded frames shown, every session's (a frame per result per position)


@st.cache_resource
def _frames() -> BoundedCache:
    return BoundedCache(FRAMES_BYTES)


def reference_panel(container) -> tuple[tuple[str, bytes] | None, Degradation | None]:
    """An uploaded clip's reference: (an uploaded reference (name, bytes), None), (None, a Degradation), or
    (None, None) for none."""
    mode = container.radio("Reference", REFERENCES, persist_state="session", key=kept("video_ref", REFERENCES[0]))
    if mode == REFERENCES[1]:
        ref = container.file_uploader("The reference clip (the same frames at a higher resolution)",
                                      type=["mp4", "webm", "mov", "mkv", "gif", "png", "webp"], key="video_ref_upload")
        return ((ref.name, ref.getvalue()) if ref is not None else None), None
    if mode == REFERENCES[2]:
        c = container.columns(5)
        scale = c[0].selectbox("Downscale ÷", [2, 3, 4], persist_state="session", key=kept("video_deg_scale", 4))
        blur = c[1].number_input("Blur σ", 0.0, 5.0, step=0.1, persist_state="session", key=kept("video_deg_blur", 0.0))
        noise = c[2].number_input("Noise σ", 0.0, 50.0, step=1.0, persist_state="session",
                                  key=kept("video_deg_noise", 0.0))
        jpeg = c[3].number_input("JPEG (0 off)", 0, 100, step=5, persist_state="session", key=kept("video_deg_jpeg", 0))
        seed = c[4].number_input("Seed", 0, 10_000, persist_state="session", key=kept("video_deg_seed", 0))
        d = Degradation(int(scale), "bicubic", float(blur), float(noise), int(jpeg), int(seed))
        container.caption(f"The uploaded clip is the truth; the input is each frame after {describe(d)} "
                          "(the Metrics page's degradation); the results are scored against the truth at "
                          f"×{scale}.")
        return None, d
    return None, None


def _frame(job_id: str, name: str, data: bytes, index: int) -> np.ndarray:
    key = (job_id, name, index)
    if (pixels := _frames().get(key)) is None:
        pixels = frame_at(data, index)
        _frames().put(key, pixels)
    return pixels


def frame_view(job_id: str, result: dict) -> None:
    """A frame slider; that frame of every result (and of the reference, and the input nearest-neighbour
    upscaled) on the A/B slider, and the same region of each zoomed."""
    methods = result["methods"]
    count = min(len(r["rows"]) for r in methods.values())
    st.subheader("One frame, A/B")
    if st.session_state.get("video_frame", 0) >= count:
        st.session_state.video_frame = 0
    index = st.slider("Frame", 0, max(1, count - 1), persist_state="session", key=kept("video_frame", 0),
                      disabled=count < 2, help="Each frame is decoded from the results' MP4s when shown")
    index = min(index, count - 1)
    named = [(m, _frame(job_id, m, r["video"], index)) for m, r in methods.items()]  # short: the slider's labels
    h, w = named[0][1].shape[:2]  # share a frame as wide as the image; what each is, the caption below says
    if result["reference"] is not None:
        named.append(("reference", _frame(job_id, "reference", result["reference"], index)))
    src = _frame(job_id, "input", result["input"], index)
    named.append((f"input ×{result['scale']:g}", nearest_up(src, (w, h))))
    same = [(label, px[:h, :w]) for label, px in named if px.shape[0] >= h and px.shape[1] >= w]  # (H.264 pads
    # an odd side by one)
    left_out = [label for label, px in named if px.shape[0] < h or px.shape[1] < w]
    ab_slider(same, key="video_ab")
    what = [f"{m}: {r['what']}" for m, r in methods.items()]
    what += ["reference: the truth"] if result["reference"] is not None else []
    st.caption(f"Frame {index} (of 0–{count - 1}). " + "; ".join(what) + f"; input ×{result['scale']:g}: the input "
               "frame nearest-neighbour upscaled. Frames are decoded from the H.264 MP4s (as downloaded, CRF 17); "
               "the scores were measured on the frames before encoding."
               + (f" Of another size, not shown: {', '.join(left_out)}." if left_out else ""))
    first = _frame(job_id, "input", result["input"], 0)
    area = region_picker(LoadedImage(first, name="the clip's first frame"), f"video:{job_id}")
    zoom_grid(same, area, None, (first.shape[1], first.shape[0]))


def _heading(measure: str) -> str:
    if measure in CLIP_MEASURES:
        m = CLIP_MEASURES[measure]
        return f"{m.label} ({m.unit}) ↓" if m.unit else m.label
    return METRICS.get(measure).heading


def curves(results: dict) -> None:
    """The per-frame curves (PSNR, flicker, SSIM, LPIPS; or change and sharpness without a reference) and the
    clip's means."""
    table = pd.concat([pd.DataFrame(r["rows"]).assign(method=m) for m, r in results.items()])
    shown = [c for c in ("psnr_db", "flicker", "ssim", "lpips", "change", "sharpness") if c in table]
    charts = st.columns(1 if projector() else 2)
    for spot, measure in zip(charts * 4, shown[:4]):
        title = _heading(measure)
        chart = alt.Chart(table.dropna(subset=[measure])).mark_line(point=True).encode(
            x=alt.X("frame:Q", title="frame", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y(f"{measure}:Q", title=title, scale=alt.Scale(zero=False)),
            color="method:N").properties(height=320 if projector() else 220, title=title)
        fs = 22 if projector() else 12  # the projector's chart labels, as on the other pages
        spot.altair_chart(chart.configure_axis(labelFontSize=fs, titleFontSize=fs).configure_legend(
            labelFontSize=fs, titleFontSize=fs).configure_title(fontSize=fs), width="stretch")
    summary = pd.DataFrame({m: r["summary"] for m, r in results.items()}).T
    st.dataframe(summary.rename(columns=_heading), key="video_summary")


def handout_button(result: dict, name: str) -> None:
    """The handout: one self-contained HTML file (a few frames of each result, the curves, the means), made when
    it is downloaded."""
    from core.quality.report import video_html

    measures = {k for r in result["methods"].values() for row in r["rows"] for k in row} - {"frame"}
    download("Download handout (HTML, prints on A4)",
             lambda: video_html(result, name=name, headings={m: _heading(m) for m in measures},
                                font_size=20 if projector() else 14),
             "sr-lab-video.html", "text/html", key="video_handout",
             help="The clip, what each method did, the first, middle and last frames of every result beside the "
                  "reference and the input, the per-frame curves and the means: one file, readable offline.")
