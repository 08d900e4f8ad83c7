"""End to end in a real browser (Debian's headless Chromium driven by Playwright), with every non-loopback
request blocked: the app must render and enhance offline. Screenshots go to test-artifacts/."""
import pytest
from playwright.sync_api import expect

from tests.browser_steps import choose

pytestmark = pytest.mark.browser


def test_enhance_with_fast_model_renders_slider_offline(offline_page, server, artifacts):
    page = offline_page
    page.goto(server + "/enhance", wait_until="domcontentloaded")
    page.get_by_role("heading", name="Enhance").wait_for(timeout=60_000)
    page.screenshot(path=str(artifacts / "enhance_start.png"))
    choose(page, page.get_by_test_id("stSelectbox").filter(has_text="Method"), "realesr-animevideov3")
    page.get_by_text("Small and fast").wait_for()
    page.get_by_role("button", name="Enhance full image").click()
    page.get_by_text("Result: realesr-animevideov3 on the full image").wait_for(timeout=120_000)

    frame = page.frame_locator("iframe").first
    slider = frame.locator("[data-testid=sr-slider]")
    slider.wait_for(timeout=30_000)
    sizes = frame.locator("img").evaluate_all("imgs => imgs.map(i => [i.complete, i.naturalWidth])")
    assert sizes == [[True, 512], [True, 512]]  # both images decoded, at the output size
    before = frame.locator("#before")
    assert "inset(0px 50%" in before.evaluate("e => getComputedStyle(e).clipPath")
    frame.locator("#pos").fill("20")
    assert "inset(0px 80%" in before.evaluate("e => getComputedStyle(e).clipPath")
    page.get_by_text("Statistics", exact=True).scroll_into_view_if_needed()
    assert page.get_by_test_id("stTable").first.inner_text().count("512 × 512") == 1
    expect(page.get_by_test_id("stDownloadButton")).to_have_count(1, timeout=30_000)
    page.screenshot(path=str(artifacts / "enhance_result.png"), full_page=True)
    assert not [e for e in page.context.pages[0].locator("[data-testid=stException]").all()]
    # Blocked requests may exist (Streamlit asks for nothing external, but be explicit about what happened).
    assert all("127.0.0.1" not in u for u in page.blocked)


def test_a_slider_image_missing_for_a_moment_is_asked_for_again(offline_page, server):
    """The slider's images are media files; a page run stopped by a quicker click drops the ones it had not drawn
    yet until the next run serves them again at the same URL. An image fetched in that moment must not stay
    broken (the frame's HTML does not change, so the browser would not fetch it again by itself)."""
    page = offline_page
    refused = []

    def missing_the_first_time(route):
        url = route.request.url.split("?")[0]
        if route.request.frame.parent_frame is not None and url not in refused:  # the slider's frame only
            refused.append(url)
            route.fulfill(status=404, body="not here yet")
        else:
            route.continue_()

    page.route("**/media/*", missing_the_first_time)
    page.goto(server + "/enhance", wait_until="domcontentloaded")
    page.get_by_role("heading", name="Enhance").wait_for(timeout=60_000)
    choose(page, page.get_by_test_id("stSelectbox").filter(has_text="Method"), "realesr-animevideov3")
    page.get_by_role("button", name="Preview a crop").click()
    page.get_by_text("Result: realesr-animevideov3 on the crop").wait_for(timeout=120_000)
    images = page.frame_locator("iframe").first.locator("[data-testid=sr-slider] img")
    expect(images).to_have_count(2, timeout=30_000)
    page.wait_for_function("""() => {
        const doc = document.querySelector('iframe').contentDocument;
        return [...doc.querySelectorAll('[data-testid=sr-slider] img')].every(i => i.complete && i.naturalWidth > 0);
    }""", timeout=15_000)
    assert len(refused) == 2  # each was refused once, then shown


def test_baselines_grid_renders_offline(offline_page, server, artifacts):
    page = offline_page
    page.goto(server + "/baselines", wait_until="domcontentloaded")
    page.get_by_role("heading", name="Baselines").wait_for(timeout=60_000)
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("5 results at ×4").wait_for(timeout=120_000)
    images = page.locator("[data-testid=stImage] img")
    expect(images).to_have_count(12, timeout=30_000)  # sidebar thumbnail, region outline, 5 results, 5 zooms
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stImage] img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)", timeout=30_000)
    page.screenshot(path=str(artifacts / "baselines.png"), full_page=True)


def test_metrics_one_click_demo_renders_offline(offline_page, server, artifacts):
    page = offline_page
    page.goto(server + "/metrics", wait_until="domcontentloaded")
    page.get_by_role("heading", name="Metrics").wait_for(timeout=60_000)
    page.get_by_role("button", name="One click").click()
    page.get_by_text("Scores against the true reference").wait_for(timeout=180_000)
    expect(page.get_by_test_id("stDataFrame")).to_have_count(1)
    # 4 measures + the trade-off scatter + the frequency view, drawn as inline SVG (measurable, offline)
    expect(page.locator("figure[data-testid=sr-chart] img")).to_have_count(6, timeout=30_000)
    page.get_by_text("Where the errors are").scroll_into_view_if_needed()
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stImage] img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)", timeout=30_000)
    page.screenshot(path=str(artifacts / "metrics.png"), full_page=True)
