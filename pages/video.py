"""Video: a clip through up to four methods as one job (image methods on each frame alone, video networks over the
sequence); the results side by side in one video (so they play in sync), the per-frame curves, the downloads."""
import altair as alt
import pandas as pd
import streamlit as st

from core.methods import METHODS, VIDEO_METHODS
from core.quality.metrics import METRICS
from core.serve.jobs import State
from core.serve.tasks.video import video
from core.video import builtin
from core.video.job import ClipJob
from core.video.measures import CLIP_MEASURES
from ui import jobs
from ui.controls import download
from ui.state import kept, projector, require_frame

require_frame()
st.title("Video")
st.caption("A network run on each frame alone guesses each frame's detail afresh, so invented texture flickers; a "
           "video network (BasicVSR) carries information across frames. The built-in pan has its true reference, "
           "so both are measured: PSNR per frame and the flicker (`python -m core metrics`). Long clips: "
           "`python -m core video`.")
c1, c2 = st.columns(2)
source = c1.radio("Clip", ["Built-in pan (96×64, with its true reference)", "Upload"], key=kept("video_source",
                  "Built-in pan (96×64, with its true reference)"))
upload = None
if source == "Upload":
    upload = c1.file_uploader("A short clip", type=["mp4", "webm", "mov", "mkv", "gif", "png", "webp"],
                              key="video_upload")
frames = c2.slider("Frames of the built-in pan", 4, 32, key=kept("video_frames", 8), disabled=source == "Upload")
options = [*VIDEO_METHODS.names(), *METHODS.names()]
chosen = c2.multiselect("Methods (up to four)", options, max_selections=4,
                        key=kept("video_methods", ["bicubic", "BasicVSR_REDS4"]))


def _heading(measure: str) -> str:
    if measure in CLIP_MEASURES:
        m = CLIP_MEASURES[measure]
        return f"{m.label} ({m.unit}) ↓" if m.unit else m.label
    return METRICS.get(measure).heading


if st.button("Run", type="primary", key="video_run", disabled=not chosen or (source == "Upload" and not upload)):
    given = (upload.name, upload.getvalue()) if upload is not None else None
    clip_job = ClipJob(source=upload.name if given else builtin.NAME, methods=tuple(chosen), builtin_frames=frames)
    st.session_state.video_job = jobs.submit(video(clip_job, given)).id

if job := jobs.get(st.session_state.get("video_job")):
    jobs.watch([job.id], "video")
    jobs.outcome([job.id])
    if job.state is State.DONE:
        results = job.result["methods"]
        st.subheader("Side by side, in sync: " + " | ".join(results))
        st.video(job.result["side_by_side"], format="video/mp4", loop=True, autoplay=True, muted=True)
        cols = st.columns(len(results))
        for col, (method, r) in zip(cols, results.items()):
            col.markdown(f"**{method}**")
            col.caption(f"{r['how']}; {r['fps']:.2f} fps on this machine")
            download("Download MP4", r["video"], f"{method}.mp4", "video/mp4", key=f"video_dl_{method}", container=col)
        table = pd.concat([pd.DataFrame(r["rows"]).assign(method=m) for m, r in results.items()])
        curves = [c for c in ("psnr_db", "flicker", "ssim", "lpips", "change", "sharpness") if c in table]
        charts = st.columns(1 if projector() else 2)
        for spot, measure in zip(charts * 4, curves[:4]):
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
