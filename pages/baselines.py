import streamlit as st

st.title("Baselines")
st.info("Coming: nearest, bicubic, bilateral filter, wavelet denoising and more, side by side with the network.")
