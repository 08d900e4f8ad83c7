import streamlit as st

st.title("SR Lab")
st.write("The app is coming; the engine is ready: `python -m core enhance`.")
