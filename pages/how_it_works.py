"""A short explanation for a classroom."""
import streamlit as st

from core.methods import METHODS
from ui.state import require_frame

require_frame()
st.title("How it works")
st.markdown("""
**Super-resolution** makes an image larger and tries to recover detail that the small image does not hold.

* **Interpolation** (nearest, bicubic, …) only spreads the existing pixels over a bigger grid: no new detail.
* **Real-ESRGAN** is a neural network trained on pairs of clean photos and artificially degraded copies
  (blur, noise, JPEG, downscaling). It learned what sharp images usually look like and *invents* plausible
  detail. It is a GAN: its results look sharp but need not be pixel-true.
* Every network here works at a fixed scale (×4). Any other scale is the network pass **plus** an ordinary
  Lanczos resize, and the statistics always say which part was which.
* Large images are cut into overlapping tiles; the tiles are blended, so no seams show and memory stays bounded.
* **Measuring** needs a true reference: a clean image that was degraded on purpose (the Metrics page). Without
  one, PSNR/SSIM/LPIPS cannot be computed honestly.

Everything runs on this computer's CPU, offline. Uploaded images stay in the server's memory.
""")
st.subheader("Methods")
for m in METHODS:
    st.markdown(f"- **{m.name}** ({m.kind}): {m.description}")
