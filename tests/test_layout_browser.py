"""The loop a teacher drives, in a real browser at projector sizes (1280×720, 1440×900): the slider frame holds
its whole image, nothing a user must read is cut, settings survive a round trip through the other pages, and a
result whose settings no longer match the controls says so."""
import io

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests import browser_steps as steps
from tests.browser_steps import radio

pytestmark = pytest.mark.browser

VIEWPORTS = [(1280, 720), (1440, 900)]
FAST = "realesr-animevideov3"

TRUNCATED = """() => [...document.querySelectorAll(
    'button, [data-tag] span[title], [data-testid=stMultiSelectTagsContainer], [data-testid=stMarkdownContainer] p, ' +
    'label p, [data-testid=stCaptionContainer]')]
  .filter(e => e.offsetParent !== null && e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)
  .map(e => e.innerText.slice(0, 60))"""  # a chip container that scrolls hides chosen methods

SLIDER_FITS = """(frame) => {
  const doc = frame.contentDocument;
  const content = doc.querySelector('[data-testid=sr-slider]').getBoundingClientRect().bottom;
  return [frame.clientHeight, Math.ceil(content)];
}"""


@pytest.fixture(params=VIEWPORTS, ids=lambda v: f"{v[0]}x{v[1]}")
def page(request, tab, server):
    p = tab(request.param)
    p.goto(server + "/enhance", wait_until="domcontentloaded")
    p.get_by_role("heading", name="Enhance").wait_for(timeout=60_000)
    return p


def choose(page, label: str, option: str) -> None:
    steps.choose(page, page.get_by_test_id("stSelectbox").filter(has_text=label).first, option)


def slider_fits(page) -> tuple[int, int]:
    frame = page.locator("iframe").first
    frame.scroll_into_view_if_needed()
    page.frame_locator("iframe").first.locator("[data-testid=sr-slider] img").first.wait_for(timeout=30_000)
    return frame.evaluate(SLIDER_FITS)


def no_truncation(page) -> list[str]:
    page.wait_for_timeout(500)
    return page.evaluate(TRUNCATED)


def enhance_whole_and_check_layout(page, scale: str) -> None:
    """Run the fast model on the full image; the slider frame must hold its image and no label may be cut."""
    choose(page, "Method", FAST)
    radio(page, "Scale", scale)  # waits until the app is idle
    page.get_by_role("button", name="Enhance full image").click()
    page.get_by_text(f"Result: {FAST} on the full image").wait_for(timeout=180_000)
    frame_h, content_h = slider_fits(page)
    assert frame_h >= content_h, (frame_h, content_h)
    assert no_truncation(page) == []


def test_x8_on_a_sample_fits_and_a_stale_result_says_so(page, artifacts):
    choose(page, "Sample", "cat (150×100)")
    enhance_whole_and_check_layout(page, "×8")
    size = page.viewport_size
    page.screenshot(path=str(artifacts / f"layout_x8_{size['width']}.png"), full_page=True)
    radio(page, "Scale", "×2")
    page.get_by_text("The result below was made with other settings").wait_for(timeout=30_000)


def test_x4_on_a_512_upload_fits(page, artifacts, astronaut):
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(astronaut)).save(buf, "PNG")
    radio(page, "Image", "Upload")
    page.locator("[data-testid=stSidebar] input[type=file]").set_input_files(
        {"name": "photo512.png", "mimeType": "image/png", "buffer": buf.getvalue()})
    page.get_by_role("button", name="Enhance full image (512×512)").wait_for(timeout=30_000)
    enhance_whole_and_check_layout(page, "×4")


def test_settings_survive_a_round_trip_and_no_page_cuts_a_label(page, server, artifacts):
    choose(page, "Method", FAST)
    radio(page, "Scale", "×3")
    page.get_by_role("link", name="Metrics").click()
    page.get_by_role("heading", name="Metrics").wait_for(timeout=60_000)
    noise = page.get_by_role("slider", name="Grain (0 = off)")
    for value in range(1, 6):  # the keyboard, as a user would (each step is a rerun that stores it)
        noise.focus()
        page.keyboard.press("ArrowRight")
        expect(noise).to_have_value(str(value), timeout=10_000)
        page.wait_for_timeout(300)
    page.wait_for_timeout(1000)
    assert no_truncation(page) == []
    for name in ("Baselines", "Batch", "How it works"):
        page.get_by_role("link", name=name).click()
        page.get_by_role("heading", name=name).first.wait_for(timeout=60_000)
        assert no_truncation(page) == [], name
    page.get_by_role("link", name="Enhance").click()
    page.get_by_role("heading", name="Enhance").wait_for(timeout=60_000)
    expect(page.get_by_role("combobox", name="Method")).to_have_value(FAST, timeout=30_000)
    expect(page.get_by_role("radiogroup", name="Scale").get_by_role("radio", name="×3")).to_be_checked()
    page.get_by_role("link", name="Metrics").click()
    page.get_by_role("heading", name="Metrics").wait_for(timeout=60_000)
    expect(page.get_by_role("slider", name="Grain (0 = off)")).to_have_value("5", timeout=30_000)
