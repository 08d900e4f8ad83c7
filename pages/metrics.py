import streamlit as st

from ui.common import page_setup

page_setup()
st.title("Metrics")
st.info("Coming: PSNR, SSIM and LPIPS against a true reference, and the degrade-then-restore lab.")
