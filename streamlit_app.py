"""SR Lab: see and measure image super-resolution. The entry file is the frame around every page: the image
picker and this session's jobs live here (so they are on every page), and kept widget values are re-saved
each run."""
import streamlit as st

import core  # noqa: F401  (installs the torchvision shim before any page imports basicsr)
from core.serve.timing import timed
from ui.jobs import jobs_panel, owner
from ui.picker import image_picker
from ui.state import restore_kept

st.set_page_config(page_title="SR Lab", page_icon=":material/biotech:", layout="wide")
restore_kept()
owner()
image_picker()
with st.sidebar:
    jobs_panel()
pages = st.navigation([
    st.Page("pages/enhance.py", title="Enhance", icon=":material/auto_awesome:", default=True),
    st.Page("pages/baselines.py", title="Baselines", icon=":material/compare:"),
    st.Page("pages/metrics.py", title="Metrics", icon=":material/straighten:"),
    st.Page("pages/batch.py", title="Batch", icon=":material/photo_library:"),
    st.Page("pages/how_it_works.py", title="How it works", icon=":material/menu_book:"),
])
with timed("page_run", page=pages.title, job=False):  # SRLAB_TIMING_LOG: the server's time per page request
    pages.run()  # ui/jobs.py notes job=True when this run asks for a job
