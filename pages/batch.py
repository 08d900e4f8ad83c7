"""Batch: one method and scale over many images (or a zip); a zip of results with a CSV of statistics."""
import streamlit as st

from core.io.batch import ResultsFull, ResultsZip, open_batch
from core.io.imageio import ImageError, image_key
from core.pipeline.engine import Request
from ui.controls import scale_picker
from ui.jobs import run_job, show_cancelled
from ui.picker import UPLOAD_TYPES
from ui.state import kept, method, method_names, require_frame

require_frame()
st.title("Batch")
show_cancelled()
st.caption("Many images with one method and scale. Files stay in this server's memory; the results come back as "
           "one zip with statistics.csv. For folders of thousands, use `python -m core enhance DIR -o OUT`.")
files = st.file_uploader("Images, or zip archives of images", type=UPLOAD_TYPES + ["zip"],
                         accept_multiple_files=True, key="batch_files")
c1, c2 = st.columns(2)
chosen = c1.selectbox("Method", method_names(), key=kept("batch_method", "realesr-animevideov3"),
                      format_func=lambda n: method(n).label)
outscale = scale_picker("batch_scale", c2)

if st.button("Run batch", type="primary", key="batch_run", disabled=not files):
    try:
        batch = open_batch([(f.name, f.getvalue()) for f in files])  # headers only: sized before decoding
    except ImageError as exc:
        st.error(str(exc))
        st.stop()
    if previous := st.session_state.pop("batch_result", None):
        previous[0].close()
    overall = st.progress(0.0, text=f"0 of {len(batch)} images")
    results, rows, stopped = ResultsZip(), [], ""
    for i, member in enumerate(batch):
        row = {"file": member.name, "method": chosen, "scale": outscale}
        try:
            if stopped:
                raise ImageError("not done: results.zip was full")
            image = member.load()  # one image decoded at a time, released at the next
            request = Request.make(chosen, outscale=outscale, image_key=image_key(image.pixels))
            result, png = run_job(f"{member.name} ({i + 1} of {len(batch)})", request, image)
            s = result.stats
            results.add(f"{member.name.rsplit('.', 1)[0]}_{chosen}_x{outscale:g}.png", png)
            row.update({"input": f"{s.input_size[0]}x{s.input_size[1]}",
                        "output": f"{s.output_size[0]}x{s.output_size[1]}", "what was done": s.summary,
                        "backend": s.backend, "seconds": round(s.elapsed_s, 3), "error": ""})
        except ResultsFull as exc:
            stopped = row["error"] = str(exc)
        except Exception as exc:  # one bad image must not stop the batch
            row["error"] = str(exc)
        image = result = png = None  # let this image go before the next is decoded
        rows.append(row)
        overall.progress((i + 1) / len(batch), text=f"{i + 1} of {len(batch)} images")
    results.finish(rows)
    st.session_state.batch_result = (results, rows)

if result := st.session_state.get("batch_result"):
    archive, rows = result
    failed = [r for r in rows if r.get("error")]
    st.subheader(f"{len(rows) - len(failed)} of {len(rows)} images done")
    st.dataframe(rows, key="batch_table")
    for r in failed:
        st.error(f"{r['file']}: {r['error']}")
    st.download_button(f"Download results.zip ({archive.nbytes / 1e6:.1f} MB)", archive.read, "results.zip",
                       "application/zip", key="batch_download")  # read on click only
