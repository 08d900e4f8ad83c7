"""Video: a clip through up to four methods as one job (image methods on each frame alone, video networks over the
sequence); the results side by side in one video (so they play in sync), one frame of each on the A/B slider and
zoomed, the per-frame curves, the downloads. A cancelled run keeps the methods it finished: Resume runs the rest."""
from dataclasses import replace

import streamlit as st

from core.methods import METHODS, VIDEO_METHODS
from core.serve.jobs import State
from core.serve.tasks.video import video
from core.video import builtin
from core.video.job import ClipJob, finished, run_folder
from ui import jobs
from ui.controls import download
from ui.state import kept, require_frame
from ui.video_view import curves, frame_view, handout_button, reference_panel

require_frame()
st.title("Video")
st.caption("A network run on each frame alone guesses each frame's detail afresh, so invented texture flickers; a "
           "video network (BasicVSR) carries information across frames. The built-in pan has its true reference, "
           "so both are measured: PSNR per frame and the flicker (`python -m core metrics`). Long clips: "
           "`python -m core video`.")
c1, c2 = st.columns(2)
source = c1.radio("Clip", ["Built-in pan (96×64, with its true reference)", "Upload"], key=kept("video_source",
                  "Built-in pan (96×64, with its true reference)"))
upload = reference = degrade = None
if source == "Upload":
    upload = c1.file_uploader("A short clip", type=["mp4", "webm", "mov", "mkv", "gif", "png", "webp"],
                              key="video_upload")
    reference, degrade = reference_panel(c1)
frames = c2.slider("Frames of the built-in pan", 4, 32, key=kept("video_frames", 8), disabled=source == "Upload")
options = [*VIDEO_METHODS.names(), *METHODS.names()]
chosen = c2.multiselect("Methods (up to four)", options, max_selections=4,
                        key=kept("video_methods", ["bicubic", "BasicVSR_REDS4"]))

if st.button("Run", type="primary", key="video_run", disabled=not chosen or (source == "Upload" and not upload)):
    given = (upload.name, upload.getvalue()) if upload is not None else None
    clip_job = ClipJob(source=upload.name if given else builtin.NAME, methods=tuple(chosen), builtin_frames=frames,
                       degrade=degrade)
    folder = run_folder(jobs.owner(), clip_job, given and given[1], reference and reference[1])
    st.session_state.video_job = jobs.submit(video(clip_job, given, reference, folder)).id
    st.session_state.video_last = (clip_job, folder, given and given[0], reference and reference[0])

if job := jobs.get(st.session_state.get("video_job")):
    jobs.watch([job.id], "video")
    clip_job, folder, name, ref_name = st.session_state.video_last
    kept_methods = finished(clip_job, folder) if job.state in (State.CANCELLED, State.FAILED) else []
    jobs.outcome([job.id], cancelled=f"{job.label}: cancelled. " + (
        f"Finished and kept: {', '.join(kept_methods)}; Resume runs only the rest." if kept_methods else
        "No method had finished; Resume starts again."))
    if job.state in (State.CANCELLED, State.FAILED) and (folder / "in" if name else folder).exists():
        if st.button("Resume", key="video_resume", help="Runs only the methods not finished (each from its first "
                                                        "frame); the finished ones are read back"):
            again = replace(clip_job, source=str(folder / "in" / name) if name else clip_job.source,
                            reference=str(folder / "ref" / ref_name) if ref_name else clip_job.reference)
            st.session_state.video_job = jobs.submit(video(again, None, None, folder)).id
            st.rerun()
    if job.state is State.DONE:
        results = job.result["methods"]
        st.subheader("Side by side, in sync: " + " | ".join(results))
        st.video(job.result["side_by_side"], format="video/mp4", loop=True, autoplay=True, muted=True)
        cols = st.columns(len(results))
        for col, (method, r) in zip(cols, results.items()):
            col.markdown(f"**{method}** ({r['what']})")
            col.caption(f"{r['how']}; {r['fps']:.2f} fps on this machine" + (" (a run before Resume)" if r["resumed"]
                                                                              else ""))
            download("Download MP4", r["video"], f"{method}.mp4", "video/mp4", key=f"video_dl_{method}", container=col)
        st.caption(f"Input: {job.result['clip']}. Reference: {job.result['reference_name'] or 'none'}.")
        frame_view(job.id, job.result)
        st.subheader("Per frame")
        curves(results)
        handout_button(job.result, name or "the built-in pan")
