"""Video: a clip through up to four methods as one job (image methods on each frame alone, video networks over the
sequence); the results side by side in one video (so they play in sync), one frame of each on the A/B slider and
zoomed, the per-frame curves, the downloads. A cancelled run keeps the methods it finished: Resume runs the rest."""
from dataclasses import replace

import streamlit as st

from core.io.video import VideoError
from core.methods import METHODS, VIDEO_METHODS
from core.pipeline.engine import EnhanceError
from core.video import builtin
from core.video.job import ClipJob, finished, run_folder
from ui import jobs
from ui.controls import download
from ui.state import kept, require_frame
from ui.video_view import (
    Reference,
    check_run,
    curves,
    estimate,
    estimate_words,
    frame_view,
    handout_button,
    how_plain,
    probed,
    reference_panel,
    remember_run,
    run_input,
    total,
)
from ui.words import details

require_frame()
st.title("Video")
st.caption("A network that works on each frame alone guesses each frame's detail afresh, so the detail it invents "
           "can flicker; a video network (BasicVSR) looks at the neighbouring frames too. The built-in pan comes with "
           "its true clip, so both are measured: how close each frame is, and how much it flickers.")
details("Per frame: PSNR and the flicker (`python -m core metrics` lists every measure). Long clips: "
        "`python -m core video CLIP -o OUT -m bicubic -m BasicVSR_REDS4`.")
c1, c2 = st.columns(2)
source = c1.radio("Clip", ["Built-in pan (96×64, with its true reference)", "Upload"], key=kept("video_source",
                  "Built-in pan (96×64, with its true reference)"))
frames = c2.slider("Frames of the built-in pan", 4, 32, key=kept("video_frames", 8), disabled=source == "Upload")
upload, reference = None, Reference()
if source == "Upload":
    upload = c1.file_uploader("A short clip", type=["mp4", "webm", "mov", "mkv", "gif", "png", "webp"],
                              key="video_upload")
    info = probed(upload, c1, "clip")  # its facts, or its refusal in one line, right under the uploader
    reference = reference_panel(c1)
else:
    try:
        info = builtin.clip(frames).info
        reference = Reference(info=builtin.reference(frames).info)
    except VideoError as exc:  # over a SRLAB_VIDEO_* bound set below the pan's frames
        c1.error(str(exc))
        info = None
options = [*VIDEO_METHODS.names(), *METHODS.names()]
chosen = c2.multiselect("Methods (up to four)", options, max_selections=4,
                        key=kept("video_methods", ["bicubic", "BasicVSR_REDS4"]))
clip = run_input(info, reference) if info is not None else None
done = jobs.get(st.session_state.get("video_job"))
if done is not None and done.done and st.session_state.get("video_remembered") != done.id:
    remember_run(done.result, st.session_state.video_last[4])  # its pace: the next estimates of its methods
    st.session_state.video_remembered = done.id
estimates = estimate(chosen, clip) if clip is not None else []
ready = bool(chosen) and clip is not None and not reference.refused
run_col, note_col = c2.columns([1, 4], vertical_alignment="center")
pressed = run_col.button("Run", type="primary", key="video_run", disabled=not ready)
if clip is not None:  # beside Run: what the run will cost on this machine
    note_col.caption(estimate_words(estimates, clip.frames, clip.width, clip.height))

if pressed and ready:
    try:
        check_run(chosen, clip)  # the checks the job makes on its first frame, at once
    except EnhanceError as exc:
        c2.error(str(exc))
    else:
        given = (upload.name, upload.getvalue()) if upload is not None else None
        ref_given = reference.given
        clip_job = ClipJob(source=upload.name if given else builtin.NAME, methods=tuple(chosen),
                           builtin_frames=frames, degrade=reference.degrade)
        folder = run_folder(jobs.owner(), clip_job, given and given[1], ref_given and ref_given[1])
        left = [e for e in estimates if e.method not in finished(clip_job, folder)]
        st.session_state.video_job = jobs.submit_video(clip_job, given, ref_given, folder, total(left)).id
        st.session_state.video_last = (clip_job, folder, given and given[0], ref_given and ref_given[0], clip,
                                       estimates)

if job := jobs.get(st.session_state.get("video_job")):
    clip_job, folder, name, ref_name, _, estimated = st.session_state.video_last
    kept_methods = finished(clip_job, folder) if job.stopped else []
    jobs.follow(job.id, "video", cancelled=f"{job.label}: cancelled. " + (
        f"Finished and kept: {', '.join(kept_methods)}; Resume runs only the rest." if kept_methods else
        "No method had finished; Resume starts again."))
    if job.stopped and (folder / "in" if name else folder).exists():
        if st.button("Resume", key="video_resume", help="Runs only the methods not finished (each from its first "
                                                        "frame); the finished ones are read back"):
            again = replace(clip_job, source=str(folder / "in" / name) if name else clip_job.source,
                            reference=str(folder / "ref" / ref_name) if ref_name else clip_job.reference)
            left = [e for e in estimated if e.method not in kept_methods]
            st.session_state.video_job = jobs.submit_video(again, None, None, folder, total(left)).id
            st.rerun()
    if job.done:
        results = job.result.methods
        st.subheader("Side by side, in sync: " + " | ".join(results))
        st.video(job.result.side_by_side, format="video/mp4", loop=True, autoplay=True, muted=True)
        cols = st.columns(len(results))
        for col, (method, r) in zip(cols, results.items()):
            col.markdown(f"**{method}**")
            col.caption(f"{method}: {how_plain(method)}, {r.fps:.1f} frames a second on this machine"
                        + (" (a run before Resume)" if r.resumed else ""))
            download("Download MP4", r.video, f"{method}.mp4", "video/mp4", key=f"video_dl_{method}", container=col)
        st.caption(f"Input: {job.result.clip}. Reference: {job.result.reference_name or 'none'}.")
        details(*(f"**{method}**: {r.what}; {r.how}; {r.fps:.2f} fps." for method, r in results.items()))
        frame_view(job.id, job.result)
        st.subheader("Per frame")
        curves(results)
        handout_button(job.result, name or "the built-in pan")
