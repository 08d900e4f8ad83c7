"""Batch: one method and scale over many images (or a zip); a zip of results with a CSV of statistics."""
import streamlit as st

from core.io.imageio import ImageError
from ui import jobs
from ui.controls import dataframe, download, scale_picker
from ui.picker import UPLOAD_TYPES
from ui.state import hold, kept, method, method_names, require_frame
from ui.words import details

require_frame()
st.title("Batch")
st.caption("Many images with one method and scale. Files stay in this server's memory; the results come back as "
           "one zip with a table of what was done. For folders of thousands, the command line does the same "
           "(Details).")
details("On the server: `python -m core enhance DIR -o OUT --method NAME --outscale N` (a folder's outputs "
        "already there are skipped, so a re-run goes on where it stopped); the zip's table is statistics.csv.")
files = st.file_uploader("Images, or zip archives of images", type=UPLOAD_TYPES + ["zip"],
                         accept_multiple_files=True, key="batch_files")
c1, c2 = st.columns(2)
first_choice = st.session_state.get("enh_method", "RealESRGAN_x4plus")  # what Enhance has chosen
chosen = c1.selectbox("Method", method_names(), persist_state="session", key=kept("batch_method", first_choice))
c1.caption(method(chosen).description)
outscale = scale_picker("batch_scale", c2)

if st.button("Run batch", type="primary", key="batch_run", disabled=not files):
    try:
        hold("batch uploads", sum(f.size for f in files))
        submitted = jobs.submit_batch([(f.name, f.getvalue()) for f in files], chosen, outscale)
    except ImageError as exc:  # over a budget, too many files, a zip bomb: one line, nothing decoded
        st.error(str(exc))
    else:
        if (old := jobs.get(st.session_state.get("batch_job"))) and old.done:
            old.result.archive.close()  # one results.zip per session on disk
        st.session_state.batch_job = submitted.id
if job := jobs.follow(st.session_state.get("batch_job"), "batch"):
    rows = job.result.rows if job.done else job.data.get("rows", [])
    failed = [r for r in rows if r.get("error")]
    if rows:
        st.subheader(f"{len(rows) - len(failed)} of {len(rows)} images done"
                     + ("" if job.state.finished else " so far"))
        dataframe([{"ok": not r["error"], "file": r["file"], "error": r["error"], **r,  # a failure's why in sight
                       "seconds": str(r["seconds"])} for r in rows], key="batch_table")  # one type a column
    for r in failed:  # in full, below the table: a table column would cut them
        st.error(r["error"] if r["error"].startswith(r["file"]) else f"{r['file']}: {r['error']}")
    if job.done:
        archive = job.result.archive
        download(f"Download results.zip ({archive.nbytes / 1e6:.1f} MB)", archive.read, "results.zip",
                 "application/zip", key="batch_download")  # read when clicked, not on every rerun
