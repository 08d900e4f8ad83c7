"""The handout printed by a real browser (Debian's headless Chromium through Playwright), with every request
blocked: it prints to A4, and in print layout no table, image or chart is wider than the page's content."""
import io
import os
import shutil

import numpy as np
import pytest

from core.pipeline.engine import Request
from core.quality import report
from core.quality.degrade import Degradation, make_pair
from core.quality.ranking import try_networks
from core.quality.scoring import score_and_keep
from core.quality.sweep import sweep

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
A4_CONTENT_PX = (210 - 2 * 15) / 25.4 * 96  # 180 mm (A4 less the 15 mm @page margins) at CSS's 96 px per inch

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Debian's chromium for the browser test (make browser installs it)")
    pytest.skip("chromium is not installed (make browser)", allow_module_level=True)


@pytest.fixture(scope="module")
def handout(artifacts, astronaut) -> str:
    """A wide handout: a large input, long method names and hashes, every kind of chart."""
    clean = np.ascontiguousarray(astronaut[:192, :320])
    pair = make_pair(clean, Degradation(scale=4, noise_sigma=5))
    methods = ["bicubic", "nearest", "lanczos", "bilinear", "realesr-animevideov3", "SPAN_x4",
               "waifu2x_upconv7_photo_x2_denoise3"]
    run = score_and_keep("astronaut, top left", pair.lr, pair.hr, [Request.make(m, outscale=4) for m in methods],
                         pair.pipeline(), crop_border=4,
                         metrics=["psnr_db", "ssim", "lpips", "mse", "gmsd", "fsim", "piqe"])
    ranked = try_networks(pair.lr[:32, :32], 4, ["realesr-animevideov3", "SPAN_x4"], reference=pair.hr[:128, :128],
                          budget_s=120, full_size=(pair.lr.shape[1], pair.lr.shape[0]))
    swept = sweep(clean[:128, :128], ["bicubic", "nearest"], "blur_sigma", metrics=["psnr_db", "lpips"])
    path = artifacts / "handout.html"
    report.write(path, report.comparison_html(run, scale=4, ranking=ranked, sweep=swept))
    return str(path)


def test_the_handout_prints_on_a4_with_nothing_wider_than_the_page(handout, artifacts):
    from playwright.sync_api import sync_playwright
    from pypdf import PdfReader

    outside = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": round(A4_CONTENT_PX), "height": 1000})

        def block(route):
            if not route.request.url.startswith(("file:", "data:")):
                outside.append(route.request.url)
            return route.abort() if not route.request.url.startswith(("file:", "data:")) else route.continue_()

        page.route("**/*", block)
        page.goto(f"file://{handout}")
        page.emulate_media(media="print")
        widths = page.evaluate("""(limit) => [...document.querySelectorAll('table, img, svg, figure, section, pre')]
            .filter(e => !e.closest('svg') || e.tagName.toLowerCase() === 'svg' && !e.parentElement.closest('svg'))
            .map(e => [e.tagName + (e.getAttribute('alt') ? ' ' + e.getAttribute('alt') : ''),
                       e.getBoundingClientRect().right, e.scrollWidth])
            .filter(([name, right, scroll]) => right > limit + 0.5 || scroll > limit + 0.5)""", A4_CONTENT_PX)
        page_width = page.evaluate("document.documentElement.scrollWidth")
        broken = page.evaluate("[...document.images].filter(i => !i.complete || i.naturalWidth === 0).length")
        pdf = page.pdf(format="A4")
        browser.close()
    (artifacts / "handout.pdf").write_bytes(pdf)
    assert not outside, f"the handout asked for {outside[:3]}"
    assert not broken, f"{broken} images did not decode"
    assert not widths, f"wider than the A4 content width ({A4_CONTENT_PX:.0f} px): {widths[:5]}"
    assert page_width <= A4_CONTENT_PX + 0.5
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) >= 1
    width_pt, height_pt = (float(v) for v in pages[0].mediabox[2:])
    assert width_pt == pytest.approx(595.3, abs=1) and height_pt == pytest.approx(841.9, abs=1)  # A4 in points
