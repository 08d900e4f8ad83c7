"""Start: what super-resolution is, and a five-minute lesson in three one-click steps on built-in images."""
import streamlit as st

from ui.lesson import compare, measure, see
from ui.state import require_frame

require_frame()
st.title("SR Lab: making images larger, and measuring how well")
st.markdown("**Super-resolution** makes a small image larger. A formula can only spread the pixels it has; a "
            "trained network guesses the missing detail from millions of example photos — and how good a guess is "
            "can be measured, when the true image is known.")
st.markdown("A lesson in three steps (each one click, on built-in photos). The computer does one step at a time: "
            "click the next while one runs and it waits its turn, then runs while you read.")
see()
measure()
compare()
st.markdown("Then: **Enhance** your own image, **Baselines** for the classical methods side by side, "
            "**Metrics** for every measure, **Which model?** to rank the networks on your own image, **What the "
            "network looks at** for the input pixels each one used, **Train** to watch a network learn, **Batch** "
            "for many images at once, **Video** for clips and their flicker, **How it works** for the why.")
