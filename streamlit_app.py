"""SR Lab: see and measure image super-resolution. Entry point: navigation and the shared image picker."""
import streamlit as st

st.set_page_config(page_title="SR Lab", page_icon=":material/biotech:", layout="wide")

pages = st.navigation([
    st.Page("pages/enhance.py", title="Enhance", icon=":material/auto_awesome:", default=True),
    st.Page("pages/baselines.py", title="Baselines", icon=":material/compare:"),
    st.Page("pages/metrics.py", title="Metrics", icon=":material/straighten:"),
    st.Page("pages/how_it_works.py", title="How it works", icon=":material/menu_book:"),
])
pages.run()  # each page starts with ui.common.page_setup(): the shared sidebar and the chosen image
