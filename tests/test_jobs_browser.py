"""Work that outlives the click, in a real browser: a job goes on through a widget change and two page switches
and shows its result, run once; a second session asking for the same joins it (the network runs once)."""
import json
import os
import time

import pytest

from scripts import local_server
from tests.browser_steps import choose

pytestmark = pytest.mark.browser
SLOW_JOB = dict(sample="coffee_300 (300×200)", method="RealESRGAN_x4plus", scale="×2")  # ~10 s or more on 2 cores


@pytest.fixture(scope="module")
def logged_server(artifacts, tmp_path_factory):
    timings = tmp_path_factory.mktemp("timings") / "timings.jsonl"
    log = open(artifacts / "streamlit-jobs-server.log", "wb")
    proc, url = local_server.start(log, env={**os.environ, "SRLAB_TIMING_LOG": str(timings)})
    yield url, timings
    local_server.stop(proc)
    log.close()


def _runs(timings, method: str) -> list[dict]:
    if not timings.exists():
        return []
    return [r for r in map(json.loads, timings.read_text().splitlines()) if r["kind"] == "job"
            and r["method"] == method]


def _choose(page, url: str, sample: str, method: str, scale: str) -> None:
    page.goto(url + "/enhance", wait_until="domcontentloaded")
    page.get_by_role("heading", name="Enhance").wait_for(timeout=60_000)
    choose(page, page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox"), sample)
    choose(page, page.get_by_test_id("stSelectbox").filter(has_text="Method"), method)
    page.get_by_test_id("stRadio").filter(has_text="Scale").get_by_text(scale, exact=True).click()
    page.get_by_role("button", name="Enhance full image").wait_for()


def _second_session_joins(tab, url: str, job: dict) -> list:
    """Two sessions at `job`; the first presses "Enhance full image", and once it runs the second asks for the
    same. Returns their pages (first, second)."""
    pages = []
    for _ in range(2):
        pages.append(tab())
        _choose(pages[-1], url, **job)
    first, second = pages
    first.get_by_role("button", name="Enhance full image").click()
    first.get_by_text("elapsed").first.wait_for(timeout=180_000)
    second.get_by_role("button", name="Enhance full image").click()
    return pages


def test_a_job_goes_on_through_a_widget_change_and_two_page_switches(tab, logged_server, artifacts):
    url, timings = logged_server
    page = tab()
    before = len(_runs(timings, SLOW_JOB["method"]))
    _choose(page, url, **SLOW_JOB)
    page.get_by_role("button", name="Enhance full image").click()
    page.get_by_text("elapsed").first.wait_for(timeout=180_000)  # running
    page.get_by_text("Advanced: tile size, backend (CPU or GPU)").click()
    page.get_by_test_id("stRadio").filter(has_text="Colour fix").get_by_text("mean/std", exact=True).click()
    # the rerun that takes the new value, as a user sees it, before leaving (a page switch a few ms after the
    # click once lost the value under CI load: noted, not fixed here)
    page.get_by_text("Advanced settings in use: colour fix mean/std").wait_for(timeout=60_000)
    page.get_by_role("link", name="Baselines").click()
    page.get_by_role("heading", name="Baselines").wait_for(timeout=60_000)
    page.get_by_test_id("stSidebar").get_by_text("Your jobs").wait_for(timeout=10_000)  # on every page
    cancel = page.get_by_test_id("stSidebar").get_by_role("button", name="Cancel").bounding_box()
    assert cancel["y"] + cancel["height"] <= 720  # in sight without scrolling the sidebar
    page.get_by_role("link", name="Metrics").click()
    page.get_by_role("heading", name="Metrics").wait_for(timeout=60_000)
    page.get_by_role("link", name="Enhance").click()
    page.get_by_text(f"Result: {SLOW_JOB['method']} on the full image").wait_for(timeout=300_000)
    page.screenshot(path=str(artifacts / "job_after_page_switches.png"), full_page=True)
    assert page.get_by_text("made with other settings").count() > 0  # the colour fix moved after it started
    assert page.get_by_text("cancelled").count() == 0
    assert len(_runs(timings, SLOW_JOB["method"])) == before + 1  # finished once, never restarted


def test_a_second_session_asking_for_the_same_joins_the_running_job(tab, logged_server):
    url, timings = logged_server
    job = dict(SLOW_JOB, scale="×3")  # not cached by the test before
    before = len(_runs(timings, job["method"]))
    pages = _second_session_joins(tab, url, job)
    for page in pages:
        page.get_by_text(f"Result: {job['method']} on the full image").wait_for(timeout=300_000)
    assert len(_runs(timings, job["method"])) == before + 1  # one network run for both sessions


def test_cancel_in_a_session_that_joined_leaves_the_job_to_the_other_and_goes_quiet(tab, logged_server):
    """Cancel on a job two sessions share: it goes on for the first, the second says so and stops watching (it
    reran its page without end before: that session's tab froze and the job ran ~10x slower)."""
    url, timings = logged_server
    job = dict(SLOW_JOB, scale="×4")  # not run by the tests before
    first, second = _second_session_joins(tab, url, job)
    second.get_by_text("elapsed").first.wait_for(timeout=60_000)
    second.get_by_test_id("stMain").get_by_role("button", name="Cancel").click()
    second.get_by_text("cancelled for you; it goes on for the other session").wait_for(timeout=10_000)
    time.sleep(1.0)
    runs_before = _page_runs(timings)
    time.sleep(3.0)
    assert _page_runs(timings) - runs_before <= 3  # quiet: no page reruns while the other session's job runs
    first.get_by_text(f"Result: {job['method']} on the full image").wait_for(timeout=300_000)
    assert first.get_by_text("cancelled").count() == 0


def _page_runs(timings) -> int:
    return sum(1 for r in map(json.loads, timings.read_text().splitlines()) if r["kind"] == "page_run")


def test_a_long_full_image_job_shows_its_result_as_its_tiles_land(tab, logged_server, artifacts):
    """Issue 38: a 512² photo through RealESRGAN_x4plus (tens of seconds on 2 cores) shows its first tiles
    before the job ends, the rest marked as the bicubic stand-in; the slider and the zoom work on it."""
    url, timings = logged_server
    page = tab()
    _choose(page, url, sample="astronaut_512 (512×512)", method="RealESRGAN_x4plus", scale="×4")
    before = _page_runs(timings)
    page.get_by_role("button", name="Enhance full image").click()
    page.get_by_text("elapsed").first.wait_for(timeout=180_000)  # running (after measuring, on a fresh machine)
    page.get_by_role("heading", name="Result so far").wait_for(timeout=300_000)
    assert page.get_by_text("Result: RealESRGAN_x4plus on the full image").count() == 0  # not ended yet
    assert page.get_by_text("the dimmed area is bicubic standing in").count() == 1
    labels = page.frame_locator("iframe").first.get_by_test_id("sr-slider-labels")
    labels.get_by_text("RealESRGAN_x4plus so far (dimmed: not done yet)").wait_for(timeout=30_000)
    assert page.get_by_text("Zoom:").count() >= 1
    page.screenshot(path=str(artifacts / "enhance_result_so_far_1280.png"), full_page=True)
    # a page run per tile, not a loop: the watcher run inline in the page that draws a tile once reran it forever
    runs = _page_runs(timings)
    time.sleep(4)
    assert _page_runs(timings) - runs <= 4, "the page reruns on its own while nothing new landed"
    assert runs - before < 30
    page.get_by_test_id("stMain").get_by_role("button", name="Cancel").click()  # the rest is not the point here
    page.get_by_text("cancelled").first.wait_for(timeout=10_000)
    assert page.get_by_role("heading", name="Result so far").count() == 0  # nothing part-way stays on the page
