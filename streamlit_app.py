"""SR Lab: see and measure image super-resolution. The entry file is the frame around every page: the image
picker, the projector switch and this session's jobs live here (so they are on every page). Every control keeps
its value across pages (persist_state="session")."""
import sys
from pathlib import Path

import pandas  # noqa: F401  (st.table imports it on first use, ~0.8 s: the server's first visitor pays it, not a class)
import streamlit as st

import core  # noqa: F401  (installs the torchvision shim before any page imports basicsr)
from core.serve.timing import note, timed
from ui.jobs import jobs_panel, owner
from ui.picker import image_picker
from ui.state import kept, projector

# A page run hands the GIL to the server's event loop at every element it draws; under load each hand-back waits up
# to the switch interval (5 ms by default) for whichever thread holds it: a 40-element page waited ~0.2 s.
sys.setswitchinterval(0.001)
ICON = Path(__file__).parent / "ui" / "icon.png"  # a file: a Material page icon is fetched from Google's fonts

# SRLAB_TIMING_LOG: the server's time per page run, the whole script (the sidebar's picker and jobs too)
with timed("page_run", job=False):
    st.set_page_config(page_title="SR Lab", page_icon=str(ICON), layout="wide")
    owner()
    st.sidebar.toggle("Projector mode", persist_state="session", key=kept("projector", False),
                      help="For the back of a room: larger text and controls, charts one a row with 22 px labels, the "
                           "slider as wide as the page (and a Full screen button on it).")
    # captions and image captions in the text's colour at 80 %: Streamlit's 60 % grey read 3.9:1 on white, under
    # the 4.5:1 that small text needs (and it follows a dark theme, unlike a fixed grey)
    style = ("[data-testid='stCaptionContainer'], [data-testid='stImageCaption'] "
             "{ color: inherit !important; opacity: 0.8; } "
             # a multiselect's tags wrap onto more lines: Streamlit keeps them on one line that scrolls sideways,
             # and the Video page's four methods at 1280 px showed "alesr-animevideov3" and "ic ×"
             "[data-testid='stMultiSelectTagsContainer'] { flex-wrap: wrap !important; overflow: visible !important; "
             "height: auto !important; } [data-testid='stMultiSelect'] div:has(> [data-testid="
             "'stMultiSelectTagsContainer']) { max-height: none !important; height: auto !important; }")
    if projector():  # Streamlit's text sizes are in rem: a larger root font scales every page
        style += ("html { font-size: 20px; } [data-testid='stSidebar'] { font-size: 18px; } "
                  # a page's name wraps in the sidebar rather than end in "…" ("What the network loo…")
                  "[data-testid='stSidebarNavLink'] .stMarkdownEllipsis, [data-testid='stSidebarNavLink'] p "
                  "{ white-space: normal !important; overflow: visible !important; text-overflow: clip !important; } "
                  # captions at the text's size and near-black: small grey ones were unreadable at the back
                  "[data-testid='stCaptionContainer'], [data-testid='stCaptionContainer'] *, "
                  "[data-testid='stImageCaption'] { font-size: 1rem !important; color: #222 !important; "
                  "opacity: 1; } "
                  # controls at the text's size too: Streamlit draws them at 0.875rem (17.5 px here, under the
                  # text's 20 px): buttons, labels, select boxes and their lists, method tags, radio and toggle
                  # labels, page links, st.table (st.dataframe's grid takes the root size when it is drawn:
                  # ui.controls.dataframe)
                  "[data-testid='stMain'] :is([data-testid^='stBaseButton'], [data-testid='stWidgetLabel'], "
                  "[data-testid='stRadio'] label, [data-testid='stCheckbox'] label, [data-testid='stPageLink']) p, "
                  "[data-testid='stMain'] :is([data-testid='stSelectbox'], [data-testid='stMultiSelect']) "
                  ":is(div, input, span), "
                  "[data-baseweb='popover'] :is(li, [role='option']), "
                  "[data-testid='stMain'] [data-testid='stTable'] :is(td, th) { font-size: 1rem !important; }")
    st.html(f"<style>{style}</style>")
    with st.sidebar:  # above the picker: in sight at 1280×720, with its Cancel
        jobs_panel()
    image_picker()
    pages = st.navigation([
        st.Page("pages/start.py", title="Start", icon=":material/school:", default=True),
        st.Page("pages/enhance.py", title="Enhance", icon=":material/auto_awesome:"),
        st.Page("pages/baselines.py", title="Baselines", icon=":material/compare:"),
        st.Page("pages/metrics.py", title="Metrics", icon=":material/straighten:"),
        st.Page("pages/which_model.py", title="Which model?", icon=":material/leaderboard:"),
        st.Page("pages/attribution.py", title="What the network looks at", icon=":material/visibility:"),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/batch.py", title="Batch", icon=":material/photo_library:"),
        st.Page("pages/video.py", title="Video", icon=":material/movie:"),
        st.Page("pages/how_it_works.py", title="How it works", icon=":material/menu_book:"),
    ])
    note(page=pages.title)
    pages.run()  # ui/jobs.py notes job=True when this run asks for a job
