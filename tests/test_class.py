"""The faults a teacher's walkthrough found (issue 23), each held by a test: a descriptive measure is never
marked best, the pipeline names the clean size, the zoom and the crop follow a region chosen anywhere, the
batch says a file's name once and starts on Enhance's method, the page icon is local, the lesson's claims follow
from the figures."""
import io
import math

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from core.quality.charts import frontier
from core.quality.degrade import Degradation, make_pair
from core.quality.metrics import METRICS
from tests.conftest import ROOT, click
from ui.region import Region, most_detailed


def _app(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
    at.run()
    return at.switch_page(page).run()


def test_only_a_measure_whose_direction_means_quality_is_marked_best():
    values = {"nearest": 0.0, "bicubic": 2.5}  # blocks have little estimated noise
    assert METRICS.get("noise_sigma").best(values) is None and METRICS.get("sharpness").best(values) is None
    assert METRICS.get("niqe").best({"a": 5.0, "b": 7.0}) == "a"
    at = _app("pages/metrics.py")
    at.radio(key="met_mode").set_value("No reference").run()
    at.multiselect(key="met_methods").set_value(["nearest", "bicubic"]).run()
    click(at, "met_run")
    assert any("Not marked best: Sharpness, Noise σ" in c.value for c in at.caption)


def test_the_pipeline_names_the_clean_size_before_the_crop():
    from skimage import data

    pair = make_pair(data.rocket(), Degradation(scale=4))
    assert pair.pipeline().startswith("clean 640×427 → crop to 640×424 (a multiple of 4)")


def test_the_zoom_follows_the_region_on_any_result():
    region = Region(cx=0.25, cy=0.75, side=128, magnification=3)
    assert region.crop(512, 512) == (64, 320, 128, 128)  # off-centre, inside the image
    x, y, side = region.window(2048, 2048, None, (512, 512))  # a ×4 result of the whole image
    assert side == 360 // 3 and abs(x + side / 2 - 512) <= 1 and abs(y + side / 2 - 1536) <= 1
    x, y, side = region.window(512, 512, (64, 320, 128, 128), (512, 512))  # a ×4 result of that crop
    assert abs(x + side / 2 - 256) <= 1 and abs(y + side / 2 - 256) <= 1  # its centre: the region's centre
    assert Region(0.5, 0.5, 128, 8).window(100, 100, None, (25, 25))[2] == 360 // 8  # ×8 is finer


def test_a_new_image_starts_on_its_most_detailed_part():
    img = np.zeros((200, 300), np.uint8)
    img[150:180, 30:60] = np.random.default_rng(0).integers(0, 255, (30, 30))  # texture at bottom left
    cx, cy = most_detailed(img)
    assert cx < 0.3 and cy > 0.6


def test_the_most_detailed_part_is_looked_for_away_from_the_border_and_a_flat_image_starts_at_its_centre():
    """The attribution page's window sat on the astronaut's right edge (x 99 %), in a flat dark strip: the energy's
    peak was on the border. Every built-in sample now starts inside its outer eighth; a flat image at its centre."""
    from core.io.samples import SAMPLES

    for name, sample in SAMPLES.items():
        cx, cy = most_detailed(sample.image().pixels)
        assert 1 / 8 <= cx <= 7 / 8 and 1 / 8 <= cy <= 7 / 8, (name, cx, cy)
    assert most_detailed(np.full((90, 120, 3), 77, np.uint8)) == (0.5, 0.5)
    edge = np.zeros((200, 300), np.uint8)
    edge[:, 290:] = np.random.default_rng(1).integers(0, 255, (200, 10))  # busy only on the border
    edge[90:110, 140:160] = 128  # a small square inside
    cx, cy = most_detailed(edge)
    assert cx <= 7 / 8


def test_baselines_runs_on_a_region_chosen_off_centre():
    at = _app("pages/baselines.py")
    at.selectbox(key="sample_w").set_value("astronaut_512").run()
    at.radio(key="base_where").set_value("the region").run()
    at.slider(key="region_x").set_value(70).run()
    at.slider(key="region_y").set_value(30).run()
    for group in ("interpolation", "denoise", "enhance", "super-resolution"):
        at.multiselect(key=f"base_methods_{group}").set_value(["bicubic"] if group == "interpolation" else []).run()
    click(at, "base_run")
    assert any("region 128×128 at (294, 90)" in s.value for s in at.subheader), [s.value for s in at.subheader]


def test_batch_says_a_files_name_once_and_starts_on_enhances_method():
    at = _app("pages/enhance.py")
    at.selectbox(key="enh_method").set_value("SPAN_x4").run()
    at.switch_page("pages/batch.py").run()
    assert at.selectbox(key="batch_method").value == "SPAN_x4"
    at.selectbox(key="batch_method").set_value("bicubic").run()
    at.file_uploader(key="batch_files").upload("notimage.png", b"plain text", "image/png").run()
    click(at, "batch_run")
    message = next(e.value for e in at.error if "notimage.png" in e.value)
    assert message.count("notimage.png") == 1


def test_the_page_icon_is_a_local_file():
    text = (ROOT / "streamlit_app.py").read_text()
    assert "page_icon=str(ICON)" in text and (ROOT / "ui" / "icon.png").is_file() and ":material/" not in \
        text.split("set_page_config")[1].split(")")[0]


def test_the_lesson_page_teaches_the_frontier_from_the_measured_figures():
    scores = pd.read_csv(ROOT / "bench" / "results" / "set5_x4_networks.csv")
    scores["kind"] = "network"
    edge = frontier(scores.dropna(subset=["psnr_db", "lpips"]))
    assert "RealSR_DF2K_x4" in edge  # the best LPIPS of all, with a PSNR above bicubic: on the frontier
    assert "RealESRGAN_x4plus" not in edge  # RealSR beats it on both (the walkthrough's finding)
    at = _app("pages/how_it_works.py")
    text = " ".join(m.value for m in at.markdown)
    assert "No method can be best at both" not in text  # a rule its own figures contradicted
    assert "frontier" in text and "RealSR_DF2K_x4" in text
    assert "Everything runs offline" not in text  # the face weights download on request
    assert math.isfinite(scores["psnr_db"].max())


def test_the_trade_off_chart_pads_its_axes_and_numbers_its_points():
    import json

    from core.quality.charts import tradeoff_scatter

    points = pd.DataFrame({"method": ["a", "b", "c"], "kind": ["network"] * 3, "psnr_db": [26.0, 28.0, 32.0],
                           "lpips": [0.17, 0.34, 0.18]})
    spec = json.dumps(tradeoff_scatter(points).to_dict())
    assert '"domain": [25.52' in spec  # the best PSNR is not on the axis edge
    assert "1 a (network)" in spec and frontier(points) == ["c", "a"]


def test_a_png_icon_is_png():
    from PIL import Image

    assert Image.open(io.BytesIO((ROOT / "ui" / "icon.png").read_bytes())).format == "PNG"



def test_which_model_shows_the_frequencies_and_offers_the_handout():
    at = _app("pages/which_model.py")
    at.radio(key="rank_which").set_value("family").run()
    at.selectbox(key="rank_family").set_value("SPAN").run()
    click(at, "rank_run")
    assert not at.exception and not at.error
    assert any(s.value.endswith("for this image, at this scale, on this computer") for s in at.subheader)
    assert any(m.value.startswith("**Frequencies**") for m in at.markdown)  # the frequency view
    spectra = at.session_state["rank_spectra"][1]  # the class's sample is degraded from a true image
    assert spectra.bands and any(c.value.startswith(f"- {spectra.bands[0].method}: ") for c in at.caption)  # plain
    assert any("Per method, by octave band:" in m.value for m in at.markdown)  # the exact bands, under Details
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download report (HTML, prints on A4)" in labels


def test_each_measure_is_written_one_way_on_every_page():
    """Issue 40: PSNR read 25.531 on one page, 25.5457 on another and 25.53 on Metrics. Every page writes a measure
    as its Metric entry does (Metric.format), the lesson's sentences and the trade-off's tooltips too."""
    from core.quality.charts import tradeoff_scatter
    from core.quality.metrics import METRICS
    from ui.lesson_text import frontier_text, load_set5

    scores = load_set5()
    text = frontier_text(scores, frontier(scores))
    by = scores.set_index("method")
    best = by["lpips"].idxmin()
    assert f"LPIPS {METRICS.get('lpips').format(by.loc[best, 'lpips'])})" in text
    assert f"{METRICS.get('psnr_db').format(by['psnr_db'].max())} dB" in text
    spec = tradeoff_scatter(scores.head(4)).to_dict()
    tips = {t["field"]: t["format"] for layer in spec["layer"] for t in layer.get("encoding", {}).get("tooltip", [])
            if isinstance(t, dict) and "format" in t}
    assert tips == {"psnr_db": f".{METRICS.get('psnr_db').decimals}f", "lpips": f".{METRICS.get('lpips').decimals}f"}
