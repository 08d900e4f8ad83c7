import streamlit as st

st.title("Metrics")
st.info("Coming: PSNR, SSIM and LPIPS against a true reference, and the degrade-then-restore lab.")
