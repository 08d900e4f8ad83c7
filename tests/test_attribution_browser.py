"""The "What the network looks at" page in a real browser at 1280×720: maps of two methods asked for, a page
switch while the job runs, and both maps drawn with their spread on return."""
import pytest

from tests.browser_steps import go, idle, shown_text
from tests.test_words import expert_terms

pytestmark = pytest.mark.browser


def test_maps_of_two_methods_survive_a_page_switch(tab, server, artifacts):
    page = tab()
    go(page, server, "/attribution", "What the network looks at")
    methods = page.get_by_test_id("stMultiSelect")
    methods.get_by_role("button", name="Remove RealESRGAN_x4plus").click(timeout=60_000)  # leave two
    idle(page)
    assert methods.locator("[data-tag] span[title]").all_inner_texts() == ["bicubic", "realesr-animevideov3"]
    page.get_by_role("button", name="Map 2 method(s)").click()
    page.get_by_text("elapsed").first.wait_for(timeout=120_000)  # running
    page.get_by_role("link", name="Metrics").click()
    page.get_by_role("heading", name="Metrics").first.wait_for(timeout=60_000)
    page.get_by_role("link", name="What the network looks at").click()
    page.get_by_text("realesr-animevideov3: spread").first.wait_for(timeout=300_000)
    idle(page)
    page.get_by_test_id("stImage").filter(has_text="bicubic: spread").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "attribution_after_page_switch.png"))
    for name in ("bicubic", "realesr-animevideov3"):
        figure = page.get_by_test_id("stImage").filter(has_text=f"{name}: spread")
        assert figure.count() == 1
        box = figure.locator("img").bounding_box()
        assert box["width"] > 100 and box["x"] + box["width"] <= 1280  # drawn, in the page
    assert page.get_by_text("Half of what it used lies within").count() == 2  # a plain sentence under each map
    assert expert_terms([shown_text(page)]) == []  # issue 48.9–10: "DI", "Gini", "path steps" only under Details
    assert page.get_by_text("cancelled").count() == 0
