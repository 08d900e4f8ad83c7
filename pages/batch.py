"""Batch: one method and scale over many images (or a zip); a zip of results with a CSV of statistics."""
import streamlit as st

from core.io.batch import read_batch, results_zip
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
        items = read_batch([(f.name, f.getvalue()) for f in files])
    except ImageError as exc:
        st.error(str(exc))
        st.stop()
    overall = st.progress(0.0, text=f"0 of {len(items)} images")
    outputs, rows = [], []
    for i, item in enumerate(items):
        row = {"file": item.name, "method": chosen, "scale": outscale}
        if item.image is None:
            row["error"] = item.error
        else:
            request = Request.make(chosen, outscale=outscale, image_key=image_key(item.image.pixels))
            try:
                result, png = run_job(f"{item.name} ({i + 1} of {len(items)})", request, item.image)
                s = result.stats
                outputs.append((f"{item.name.rsplit('.', 1)[0]}_{chosen}_x{outscale:g}.png", png))
                row.update({"input": f"{s.input_size[0]}x{s.input_size[1]}",
                            "output": f"{s.output_size[0]}x{s.output_size[1]}", "what was done": s.summary,
                            "backend": s.backend, "seconds": round(s.elapsed_s, 3), "error": ""})
            except Exception as exc:  # one bad image must not stop the batch
                row["error"] = str(exc)
        rows.append(row)
        overall.progress((i + 1) / len(items), text=f"{i + 1} of {len(items)} images")
    st.session_state.batch_result = (results_zip(outputs, rows), rows)

if result := st.session_state.get("batch_result"):
    archive, rows = result
    failed = [r for r in rows if r.get("error")]
    st.subheader(f"{len(rows) - len(failed)} of {len(rows)} images done")
    st.dataframe(rows, key="batch_table")
    for r in failed:
        st.error(f"{r['file']}: {r['error']}")
    st.download_button(f"Download results.zip ({len(archive) / 1e6:.1f} MB)", archive, "results.zip",
                       "application/zip", key="batch_download")
