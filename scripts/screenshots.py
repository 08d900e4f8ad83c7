"""The README's screenshots: every page in a real browser (Debian's headless Chromium, offline) at 1280 px wide,
in the states a class sees. Run: `.venv/bin/python scripts/screenshots.py` (writes docs/screenshots/)."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts import local_server  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
WIDTH, HEIGHT = 1280, 720


def shoot(page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its own container, so the viewport grows to the content."""
    page.wait_for_timeout(1500)
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": WIDTH, "height": max(HEIGHT, height + 40)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(OUT / f"{name}.png"))
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    print(OUT / f"{name}.png")


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    proc, url = local_server.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                        args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(url) or
                       r.request.url.startswith(("data:", "blob:")) else r.abort())
            page.goto(url)
            page.get_by_role("heading", name="Enhance").wait_for(timeout=60_000)
            page.get_by_test_id("stSelectbox").filter(has_text="Sample").first.click()
            page.get_by_role("option", name="rocket (640×427)").click()
            page.get_by_test_id("stSelectbox").filter(has_text="Method").first.click()
            page.get_by_role("option", name="realesr-animevideov3", exact=True).click()
            page.get_by_role("button", name="Preview a crop").click()
            page.get_by_text("Result: realesr-animevideov3 on the crop").wait_for(timeout=180_000)
            shoot(page, "enhance")
            page.get_by_role("link", name="Baselines").click()
            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_text("results at ×4").wait_for(timeout=300_000)
            shoot(page, "baselines")
            page.get_by_role("link", name="Metrics").click()
            page.get_by_role("button", name="One click").click()
            page.get_by_text("Scores against the true reference").wait_for(timeout=300_000)
            shoot(page, "metrics")
            for name in ("Batch", "How it works"):
                page.get_by_role("link", name=name).click()
                page.get_by_role("heading", name=name).first.wait_for(timeout=60_000)
                shoot(page, name.lower().replace(" ", "_"))
            browser.close()
    finally:
        local_server.stop(proc)


if __name__ == "__main__":
    main()
