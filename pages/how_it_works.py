"""How it works: a lesson page for a class, drawn from the same registries the tool runs on."""

import pandas as pd
import streamlit as st

from core.methods import networks
from core.quality.charts import frontier
from core.quality.metrics import METRICS
from ui.charts import font_size, tradeoff_html, width
from ui.lesson_text import SET5, frontier_text, load_set5
from ui.state import require_frame

require_frame()
st.title("How it works")

st.header("1. Making an image larger")
st.markdown("""
* **Interpolation** (nearest, bilinear, bicubic, Lanczos) spreads the existing pixels over a bigger grid and
  fills the gaps with a fixed formula. It adds no detail; it only decides how blurry or blocky the gaps look.
* **Wavelet-domain SR** treats the small image as the low-frequency band of a larger one and estimates the
  missing detail bands from the image's own wavelet details; the inverse transform doubles the size.
* **Denoising filters** (bilateral, wavelet, non-local means, …) remove noise; here they run *before* the
  upscale by default, while the noise is still pixel-sized and easy to tell from detail.
* **A super-resolution network** learned from pairs — a sharp photo and a degraded copy of it — what sharp
  images usually look like (the Train page shows it happen). Each runs at its own native scale; any other
  scale is the network pass plus an ordinary Lanczos resize, and every result says which part was which.
""")

st.header("2. What a GAN invents")
st.markdown("""
Real-ESRGAN is trained as a **GAN**: a second network, the discriminator, punishes results that *look* fake.
So the generator paints textures — hair, grass, brick — that are plausible but were never in the photo. They
look sharp and natural, yet they are guesses: a licence plate or a face can come out convincing and wrong.
Networks trained only for fidelity (SPAN here) stay closer to the truth and look softer.
""")

st.header("3. Measuring: which number, which way")
full = [m for m in METRICS if m.full_reference]
no_ref = [m for m in METRICS if not m.full_reference]
st.markdown("**With a true reference** (a clean image degraded on purpose, on the Metrics page):")
st.table(pd.DataFrame({"measure": [m.heading for m in full], "better": [
    "higher" if m.higher_is_better else "lower" for m in full], "what it measures": [m.about for m in full]}))
st.markdown("**Without one**, only descriptions of a single image — they cannot say which result is right:")
st.table(pd.DataFrame({"measure": [m.heading for m in no_ref], "better": [
    {True: "higher", False: "lower", None: "neither"}[m.higher_is_better] for m in no_ref],
    "what it measures": [m.about for m in no_ref]}))
st.markdown("On the Metrics page PSNR and SSIM are computed on the Y (brightness) channel by default, as published "
            "tables do (a toggle switches to RGB; `python -m core bench` uses RGB unless `--y-channel`), with a "
            "border of *scale* pixels removed; LPIPS is always on colour. Every table says which.")

st.header("4. The perception–distortion trade-off")


@st.cache_data(max_entries=8, show_spinner=False)
def set5_section(made_at: float, font: int, chart_width: int) -> tuple[str, str] | None:
    """The chart and the sentence about it, made once per table (`made_at`: its file's time, so a table measured
    again is drawn anew) and chart size (this page is the one a whole class opens at once: reading the table and
    hashing it for the chart's cache took half of each of its runs)."""
    scores = load_set5()
    if scores is None:
        return None
    return tradeoff_html(scores, "Set5 trade-off"), frontier_text(scores, frontier(scores))


section = set5_section(SET5.stat().st_mtime if SET5.exists() else 0.0, font_size(), width())
if section is not None:
    chart_html, about_it = section
    st.html(chart_html)
    st.caption("Set5 ×4 (bicubic-downscaled inputs), every network and bicubic, measured by this tool: `python -m "
               "core bench --hr ../shared/data/Set5/HR --lr ../shared/data/Set5/LR_bicubic/X4 --scale 4 --methods "
               "bicubic,<every network> --y-channel --csv bench/results/set5_x4_networks.csv` (docs/figures.md).")
    st.markdown(about_it)
st.markdown("""
Blau & Michaeli (2018) proved that **no method can be perfect at both** fidelity and natural looks at once —
but the limit is a *frontier*, not a rule that every sharper method is less faithful. Methods on the frontier
trade one for the other; a method inside it is simply beaten on both by another. Which one you want depends on
the image: a diagram or a licence plate wants fidelity, a holiday photo may prefer natural texture.
""")

st.header("5. What a network looks at")
st.markdown("""
To draw one small patch of its output, which input pixels did a method use? A **local attribution map** (Gu &
Dong, CVPR 2021) answers it: start from a blurred copy of the input, sharpen it step by step back to the real
one, and add up at every step how much each input pixel changes the patch's edges (their gradient). Bicubic's
map is its fixed 4×4 kernel around the patch; a network's map shows how far it reaches. The **Diffusion Index**
(DI, from the Gini coefficient of the map) puts that spread in one number: larger means a wider area. The paper
found attention and transformer networks reaching much further than plain CNNs; **What the network looks at**
maps up to four methods on your own image, and `python bench/attribution.py` measures the DI of several here.
""")

st.header("6. Running on a laptop CPU")
st.markdown("""
* **Tiles**: a large image is cut into overlapping tiles, each run alone and cross-faded into the result, so no
  seams show and memory stays bounded (the tile size comes from each backend's measured memory per pixel).
* **bfloat16**: on CPUs with native bfloat16 (`avx512_bf16`), the network's weights and activations are
  stored in 16 bits instead of 32; each machine measures once which backend is fastest for each network
  (`python -m core methods --backends` says what it chose and why), and only backends whose output stays ≥ 45 dB
  from the 32-bit one are used. On a CPU without native bfloat16 it is not even tried: it would be emulated.
* The networks' weights come with the installed packages and run offline; only face restoration's weights
  are downloaded, and only when someone asks for them. Uploaded images stay in the server's memory.
""")

st.header("7. The models: where they come from")
built_in = networks()
families: dict[str, list] = {}
for n in built_in:
    families.setdefault(n.family, []).append(n)
st.table(pd.DataFrame([{"family": f, "models": len(ms), "scales": " ".join(sorted({f"×{m.native_scale}"
                                                                                  for m in ms})),
                        "trained for": " / ".join(sorted({m.trained_for for m in ms})), "licence": ms[0].licence,
                        "for example": ms[0].description} for f, ms in families.items()]))
with st.expander(f"Every network ({len(built_in)})"):
    st.table(pd.DataFrame([{"model": n.name, "scale": f"×{n.native_scale}", "family": n.family,
                            "trained for": n.trained_for, "use": n.description} for n in built_in]))
