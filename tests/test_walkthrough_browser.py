"""Issue 40, a teacher's walkthrough in a real browser: the region kept from page to page in a new tab, projector
mode hiding nothing (table rows, slider labels), no 404 in the console."""
import re

import pytest

from tests import browser_steps as steps

pytestmark = pytest.mark.browser
SIZES = [(1280, 720), (1920, 1080)]
# the screens a class uses: a laptop, plain and projected, and a projector at 1920 (1920 without projector mode
# lays the same pages out with more room than 1280 and is left out of the costlier flows, for CI's time)
VIEWS = [((1280, 720), False), ((1280, 720), True), ((1920, 1080), True)]
VIEW_IDS = ["1280x720-plain", "1280x720-projector", "1920x1080-projector"]
REGION = ("Across (% of the width)", "Down (% of the height)", "Crop size (input px)", "Zoom magnification")


def visit(page, name: str, heading: str | None = None) -> None:
    page.get_by_role("link", name=name, exact=True).click()
    page.get_by_role("heading", name=heading or name).first.wait_for(timeout=60_000)
    steps.idle(page)


def region_values(page) -> tuple[str, ...]:
    """The four region controls as the browser shows them (aria-valuetext), the Region expander opened."""
    box = page.get_by_test_id("stExpander").filter(has_text="Region: where to crop and zoom").first
    if not box.get_by_role("slider").count():
        box.get_by_text("Region: where to crop and zoom").click()
    page.wait_for_timeout(500)
    return tuple(page.get_by_role("slider", name=label).first.get_attribute("aria-valuetext", timeout=30_000)
                 for label in REGION)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_region_kept_from_page_to_page_in_a_new_tab(tab, server, size):
    page = tab(size)
    steps.go(page, server, "/", "SR Lab: making images larger, and measuring how well")
    visit(page, "Enhance")  # its Region box left closed, as a new user does
    page.get_by_role("button", name="Preview a crop (128×128)").wait_for(timeout=30_000)
    visit(page, "Which model?")
    tries = page.get_by_role("button", name=re.compile(r"Try \d+ networks on the 128×128 region"))
    tries.wait_for(timeout=30_000)  # was 64×64
    first = region_values(page)
    assert first[0] != "0" and first[2:] == ("128", "×4"), first  # starts on the most detailed part, 128 px
    seen = {"Which model?": first}
    for name in ("Baselines", "Enhance", "Which model?", "Enhance"):
        visit(page, name)
        seen[name] = region_values(page)
        assert seen[name] == first, seen
    page.get_by_role("button", name="Preview a crop (128×128)").wait_for(timeout=30_000)


HIDDEN_ROWS = """() => [...document.querySelectorAll('[data-testid=stDataFrame]')].filter(e => e.offsetParent !== null)
  .map(e => { const s = e.querySelector('.dvn-scroller'); return s ? s.scrollHeight - s.clientHeight : -1; })"""


def every_row_shown(page) -> None:
    page.wait_for_timeout(1000)  # the grid lays itself out after the frame is drawn
    hidden = page.evaluate(HIDDEN_ROWS)
    assert hidden and all(0 <= px <= 1 for px in hidden), hidden  # no table scrolls inside itself


@pytest.mark.parametrize(("size", "projector"), VIEWS, ids=VIEW_IDS)
def test_start_lesson_shows_every_row_and_the_whole_slider(tab, server, size, projector):
    page = tab(size)
    steps.go(page, server, "/", "SR Lab: making images larger, and measuring how well", projector=projector)
    page.get_by_role("button", name="1 · See").click()
    frame = page.locator("iframe").first
    page.frame_locator("iframe").first.locator("[data-testid=sr-slider] img").first.wait_for(timeout=300_000)
    steps.idle(page)
    caption = page.get_by_text("Drag the line.")
    caption.scroll_into_view_if_needed()
    frame.scroll_into_view_if_needed()
    top, bottom = frame.bounding_box(), caption.bounding_box()
    header = page.get_by_test_id("stHeader").bounding_box()["height"]
    # labels, image and caption in sight together (the frame was ~1450 px tall on a 1080-px screen)
    assert bottom["y"] + bottom["height"] - top["y"] <= size[1] - header, (top, bottom)
    inner = page.frame_locator("iframe").first
    inner.get_by_role("button", name="Full screen").click()
    page.wait_for_timeout(500)
    with_labels = frame.evaluate("f => { const d = f.contentDocument; return !!(d.fullscreenElement && "
                                 "d.fullscreenElement.querySelector('[data-testid=sr-slider-labels]')); }")
    assert with_labels  # full screen keeps "bicubic" and "GAN" on their sides
    frame.evaluate("f => f.contentDocument.exitFullscreen()")
    page.get_by_role("button", name="2 · Measure").click()
    page.get_by_test_id("stDataFrame").first.wait_for(timeout=600_000)
    steps.idle(page)
    every_row_shown(page)


@pytest.mark.parametrize(("size", "projector"), VIEWS, ids=VIEW_IDS)
def test_metrics_one_click_shows_every_row(tab, server, size, projector):
    page = tab(size)
    steps.go(page, server, "/metrics", "Metrics", projector=projector)
    page.get_by_role("button", name="One click").click()
    page.get_by_text("Scores against the true reference").wait_for(timeout=600_000)
    steps.idle(page)
    every_row_shown(page)


# the laptop plain and the projector: which media files a page asks for does not hang on the font size (CI's time)
@pytest.mark.parametrize(("size", "projector"), [VIEWS[0], VIEWS[2]], ids=[VIEW_IDS[0], VIEW_IDS[2]])
def test_baselines_and_which_model_leave_no_404_in_the_console(tab, server, size, projector):
    """Issue 40: Baselines logged 404 "Image source error" for three /media/*.png (a first run drew its region's
    pictures from the reset region, the next run other ones, and the first run's files were dropped while the
    browser fetched them). Which model?'s table: every column in sight at 1280 px, no header cut."""
    page = tab(size)
    bad = []
    page.on("response", lambda r: bad.append((r.status, r.url)) if r.status >= 400 else None)
    page.on("console", lambda m: bad.append(("console", m.text)) if "Image source error" in m.text
            or "404" in m.text else None)
    steps.go(page, server, "/", "SR Lab: making images larger, and measuring how well", projector=projector)
    visit(page, "Enhance")
    visit(page, "Baselines")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("results at ×4").wait_for(timeout=600_000)
    steps.idle(page)
    page.wait_for_timeout(2000)
    visit(page, "Which model?")
    page.get_by_role("radiogroup", name="Networks").get_by_text("one family", exact=True).click()
    steps.idle(page)
    steps.choose(page, page.get_by_test_id("stSelectbox").filter(has_text="Family").first, "SPAN")
    page.get_by_role("button", name=re.compile(r"^Try \d+ networks")).click()
    page.get_by_test_id("stTable").first.wait_for(timeout=600_000)
    steps.idle(page)
    table = page.get_by_test_id("stTable").first
    table.scroll_into_view_if_needed()
    cut = table.evaluate("""t => [...t.querySelectorAll('th, td')].filter(c => c.scrollWidth > c.clientWidth + 1)
        .map(c => c.innerText).concat(t.scrollWidth > t.clientWidth + 1 ? ['(scrolls sideways)'] : [])""")
    assert cut == [], cut
    right = page.get_by_test_id("stMain").bounding_box()
    for header in ("backend", "s for the full"):
        box = table.get_by_text(header).first.bounding_box()
        assert box["x"] + box["width"] <= right["x"] + right["width"], header
    visit(page, "Baselines")
    page.wait_for_timeout(2000)
    assert bad == [], bad


def media_errors(page) -> list:
    """Every failed /media fetch and every image that could not load, as they happen (issue 40's fault 11)."""
    bad = []
    page.on("response", lambda r: bad.append((r.status, r.url)) if r.status >= 400 and "/media/" in r.url else None)
    # (a fetch the browser dropped itself, net::ERR_ABORTED, is an image a rerun replaced before it arrived, not a
    # missing file)
    page.on("requestfailed", lambda r: bad.append(("failed", r.failure, r.url))
            if "/media/" in r.url and "ERR_ABORTED" not in (r.failure or "") else None)
    page.on("console", lambda m: bad.append(("console", m.text)) if "Image source error" in m.text else None)
    return bad


@pytest.mark.parametrize("size", SIZES[:1], ids=lambda s: f"{s[0]}x{s[1]}")  # the flow is the same at 1920
def test_no_media_file_goes_missing_from_enhance_to_baselines_and_back(tab, server, size):
    """Issue 40's fault 11, the flow a class follows: a crop enhanced, Baselines run, the pages switched back and
    forth, Baselines run again with another method and the zoom changed (pictures replaced while the browser
    still shows the old ones), and a reload: no /media/*.png answers 404, no image fails to load."""
    page = tab(size)
    bad = media_errors(page)
    steps.go(page, server, "/", "SR Lab: making images larger, and measuring how well")
    if size[0] >= 1920:
        steps.projector_on(page)
    visit(page, "Enhance")
    page.get_by_role("button", name=re.compile(r"Preview a crop")).click()
    page.get_by_text(re.compile(r"Result: .* on the crop")).first.wait_for(timeout=600_000)
    steps.idle(page)
    visit(page, "Baselines")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("5 results at ×4").wait_for(timeout=600_000)
    steps.idle(page)
    for name in ("Enhance", "Baselines", "Which model?", "Baselines"):
        visit(page, name)
        page.wait_for_timeout(1000)
    steps.pick(page, page.get_by_test_id("stMultiSelect").filter(has_text="Interpolation").first, "lanczos")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("6 results at ×4").wait_for(timeout=600_000)
    steps.idle(page)
    region_values(page)  # the Region box opened
    zoom = page.get_by_role("slider", name="Zoom magnification").first
    zoom.focus()
    page.keyboard.press("ArrowRight")  # every zoomed picture replaced
    steps.idle(page)
    page.wait_for_timeout(2000)
    visit(page, "Enhance")
    page.reload()
    page.get_by_role("heading", name="Enhance").first.wait_for(timeout=60_000)
    steps.idle(page)
    visit(page, "Baselines")  # a new session: the controls back at their defaults, the results cached
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("5 results at ×4").wait_for(timeout=600_000)
    steps.idle(page)
    page.wait_for_timeout(2000)
    assert bad == [], bad


def _contrast(png: bytes) -> float:
    """The darkest pixel of a screenshot of text against its most common one (the background), WCAG's ratio."""
    import io

    from PIL import Image

    def luminance(rgb):
        lin = [v / 255 / 12.92 if v / 255 <= 0.03928 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    colours = Image.open(io.BytesIO(png)).convert("RGB").getcolors(1 << 20)
    background = max(colours)[1]
    text = min((c for _, c in colours), key=luminance)
    return (luminance(background) + 0.05) / (luminance(text) + 0.05)


@pytest.mark.parametrize("projector", [True, False], ids=["projector", "plain"])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_captions_read_at_least_4_5_to_1(tab, server, size, projector):
    """Issue 40's fault 8: small grey captions. Streamlit's caption grey read 3.9:1 on white (WCAG asks 4.5:1 of
    small text); in projector mode they are near-black at the text's size."""
    page = tab(size)
    steps.go(page, server, "/enhance", "Enhance", projector=projector)
    caption = page.get_by_test_id("stCaptionContainer").filter(has_text="Preview a crop first").first
    caption.scroll_into_view_if_needed()
    assert _contrast(caption.screenshot()) >= 4.5
    if projector:
        assert caption.evaluate("e => getComputedStyle(e).fontSize") == "20px"  # the text's size


@pytest.mark.parametrize("projector", [True, False], ids=["projector", "plain"])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_page_name_in_the_sidebar_is_whole(tab, server, size, projector):
    """The 1920×1080 projector screenshot: the sidebar read "What the network loo…" (18 px in a fixed width)."""
    page = tab(size)
    steps.go(page, server, "/", "SR Lab: making images larger, and measuring how well", projector=projector)
    links = page.get_by_test_id("stSidebarNavLink")
    links.first.wait_for(timeout=30_000)
    # the text's own width against its box's (the box ends it in "…" with the overflow hidden)
    cut = links.evaluate_all("""ls => ls.map(l => l.querySelector('[data-testid=stMarkdownContainer]'))
        .filter(box => { const r = document.createRange(); r.selectNodeContents(box);
                         return r.getBoundingClientRect().width > box.clientWidth + 1; })
        .map(box => box.innerText)""")
    assert links.count() >= 10 and cut == [], cut


CONTROL_FONTS = """() => {
  const px = sel => { const e = document.querySelector('[data-testid=stMain] ' + sel);
                      return e ? parseFloat(getComputedStyle(e).fontSize) : null; };
  const grid = document.querySelector('[data-testid=stMain] [data-testid=stDataFrame]');
  return {text: parseFloat(getComputedStyle(document.documentElement).fontSize),
          button: px('[data-testid=stBaseButton-secondary] p'), select: px('[data-testid=stSelectbox] input'),
          tag: px('[data-testid=stMultiSelect] [data-tag] span[title]'), label: px('[data-testid=stWidgetLabel] p'),
          grid: grid ? grid.getBoundingClientRect().height : null};
}"""


def test_projector_mode_scales_buttons_select_boxes_tags_and_tables(tab, server):
    """Issue 48.12: projector mode made the body text 20 px, but buttons, select boxes and method tags stayed at
    Streamlit's 0.875rem (17.5 px) and a table drawn before the switch kept its laptop size; issue 48.11: the Video
    page's method tags were cut ("ic ×") at 1280 px."""
    page = tab((1920, 1080))
    steps.go(page, server, "/metrics", "Metrics")
    methods = page.get_by_test_id("stMultiSelect").filter(has_text="Methods")
    for name in ("bicubic", "bilateral", "wavelet", "SPAN_x4", "realesr-animevideov3", "RealESRGAN_x4plus"):
        methods.get_by_role("button", name=f"Remove {name}").click(timeout=60_000)  # nearest alone: quick
        steps.idle(page)
    page.get_by_role("button", name="Score", exact=True).click()
    page.get_by_test_id("stDataFrame").first.wait_for(timeout=300_000)
    steps.idle(page)
    plain = page.evaluate(CONTROL_FONTS)
    steps.projector_on(page)
    page.wait_for_timeout(1000)  # the grid lays itself out after the frame is drawn
    big = page.evaluate(CONTROL_FONTS)
    assert big["text"] == 20, big
    for control in ("button", "select", "tag", "label"):  # at the text's size, as captions are
        assert big[control] >= big["text"], (control, plain, big)
    assert big["grid"] >= 1.2 * plain["grid"], (plain, big)  # drawn anew at the larger size
    every_row_shown(page)
    # four methods in the Video page's half-width box: Streamlit kept tags on one line that scrolled sideways
    # ("alesr-animevideov3", "ic ×" at 1280 px); they wrap, each whole
    page.set_viewport_size({"width": 1280, "height": 720})
    steps.go(page, server, "/video", "Video")
    box = page.get_by_test_id("stMultiSelect").filter(has_text="Methods")
    for name in ("realesr-animevideov3", "RealESRGAN_x4plus"):
        box.locator("input").click()
        page.keyboard.type(name)
        page.get_by_role("option", name=name, exact=True).first.wait_for(timeout=30_000)
        page.keyboard.press("Enter")
        steps.idle(page)
    page.keyboard.press("Escape")
    tags = box.evaluate("""e => { const r = e.getBoundingClientRect();
        return [...e.querySelectorAll('[data-tag]')].map(t => { const b = t.getBoundingClientRect();
          return [t.innerText, b.left >= r.left - 1 && b.right <= r.right + 1 && b.width > 0]; }); }""")
    assert len(tags) == 4 and all(whole for _, whole in tags), tags
