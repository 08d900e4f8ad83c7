"""The README's screenshots: every page in a real browser (Debian's headless Chromium, offline) at 1280×720 and
at 1920×1080 in projector mode, in the states a class sees (the start page's lesson run, a crop preview,
Baselines run, the Metrics demo, a ranking, a short training run). Run: `.venv/bin/python scripts/screenshots.py
[page ...]` (writes docs/screenshots/NAME_WIDTH.png, 256-colour PNGs so they stay small; names: start, enhance,
baselines, metrics, which_model, train, batch, how_it_works; none: every page)."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts import local_server  # noqa: E402
from scripts.lab import find_chromium  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SIZES = [(1280, 720), (1920, 1080)]


def idle(page) -> None:
    page.wait_for_timeout(500)
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidgetRunningIcon]') && "
                           "![...document.querySelectorAll('[data-testid=stProgress]')].length", timeout=900_000)
    page.wait_for_timeout(800)


def shoot(page, name: str, size: tuple[int, int], wanted: set[str]) -> None:
    """The whole page: Streamlit scrolls inside its own container, so the viewport grows to the content."""
    if wanted and name not in wanted:
        return
    idle(page)
    width, height = size
    full = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": width, "height": max(height, full + 40)})
    page.wait_for_timeout(800)
    path = OUT / f"{name}_{width}.png"
    page.screenshot(path=str(path))
    from PIL import Image

    with Image.open(path) as shot:  # 256 colours: a full page is a few hundred KB, not several MB
        shot.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)  # median
        # cut merged the charts' blue and green into one grey
    page.set_viewport_size({"width": width, "height": height})
    print(OUT / f"{name}_{width}.png", flush=True)


def visit(page, name: str) -> None:
    page.get_by_role("link", name=name, exact=True).click()
    page.get_by_role("heading").first.wait_for(timeout=60_000)
    idle(page)


def run(browser, url: str, size: tuple[int, int], wanted: set[str]) -> None:
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(url) or
               r.request.url.startswith(("data:", "blob:")) else r.abort())
    page.goto(url)
    page.get_by_role("heading", name="SR Lab").first.wait_for(timeout=60_000)
    if size[0] >= 1920:  # as a class sees it on a projector
        page.get_by_test_id("stSidebar").get_by_text("Projector mode").click()
        idle(page)
    done = {"1 · See": "Drag the line.", "2 · Measure": "Right is closer to the true pixels",
            "3 · Compare": "Ranked for this image"}
    for step, shown in done.items():
        for attempt in range(3):  # a click that lands while the first run redraws the page can be lost
            idle(page)
            page.get_by_role("button", name=step).click(timeout=300_000)  # disabled while the server is busy
            try:
                page.get_by_text(shown).first.wait_for(timeout=300_000)
                break
            except Exception:
                if attempt == 2:
                    raise
        idle(page)
    shoot(page, "start", size, wanted)
    visit(page, "Enhance")
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").click()
    page.get_by_role("option", name="rocket (640×427)").click()
    idle(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Method").first.click()
    page.get_by_role("option", name="realesr-animevideov3", exact=True).click()
    idle(page)
    page.get_by_role("button", name="Preview a crop").click()
    page.get_by_text("Result: realesr-animevideov3 on the crop").wait_for(timeout=600_000)
    shoot(page, "enhance", size, wanted)
    if wanted and not wanted & {"baselines", "metrics", "which_model", "train", "batch", "how_it_works"}:
        return page.close()
    visit(page, "Baselines")
    if not wanted or "baselines" in wanted:
        page.get_by_role("button", name="Run", exact=True).click()
        page.get_by_text("results at ×4").wait_for(timeout=600_000)
    shoot(page, "baselines", size, wanted)
    visit(page, "Metrics")
    page.get_by_role("button", name="One click").click()
    page.get_by_text("Scores against the true reference").wait_for(timeout=600_000)
    shoot(page, "metrics", size, wanted)
    visit(page, "Which model?")
    page.get_by_role("button", name="Try").click()
    page.get_by_text("for this image, at this scale, on this computer").first.wait_for(timeout=600_000)
    shoot(page, "which_model", size, wanted)
    if wanted and not wanted & {"train", "batch", "how_it_works"}:
        return page.close()
    visit(page, "Train")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Trained:").wait_for(timeout=600_000)
    shoot(page, "train", size, wanted)
    for name in ("Batch", "How it works"):
        visit(page, name)
        shoot(page, name.lower().replace(" ", "_"), size, wanted)
    page.close()


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    proc, url = local_server.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=find_chromium() or "/usr/bin/chromium",
                                        args=["--headless", "--no-sandbox", "--disable-gpu",
                                              "--disable-background-networking"])
            for size in SIZES:
                run(browser, url, size, set(sys.argv[1:]))
            browser.close()
    finally:
        local_server.stop(proc)


if __name__ == "__main__":
    main()
