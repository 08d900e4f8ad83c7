"""SR Lab: see and measure image super-resolution. Entry point: navigation and the shared image picker."""
import streamlit as st

st.set_page_config(page_title="SR Lab", page_icon="🔬", layout="wide")

from ui.common import image_picker, show_upload_error  # noqa: E402

pages = st.navigation([
    st.Page("pages/enhance.py", title="Enhance", icon="✨", default=True),
    st.Page("pages/baselines.py", title="Baselines", icon="🧮"),
    st.Page("pages/metrics.py", title="Metrics", icon="📏"),
    st.Page("pages/how_it_works.py", title="How it works", icon="📖"),
])
image_picker()
show_upload_error()
pages.run()
