import streamlit as st

from ui.common import page_setup

page_setup()
st.title("Baselines")
st.info("Coming: nearest, bicubic, bilateral filter, wavelet denoising and more, side by side with the network.")
