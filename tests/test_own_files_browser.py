"""Issue 48.4–6 in a real browser at 1280×720, with the files people have: a 12-MP phone photo's verdict sits
beside its button, in view, naming a scale that works (it used to land below the fold after a click that looked
dead); an iPhone's HEIC is taken by the uploader and shown (Streamlit used to refuse "image/heif"); a corrupt MP4
is refused in one line under the uploader with Run off (it used to be queued)."""
import re

import pytest

from tests.browser_steps import go, idle, radio
from tests.test_heic import encoded
from tests.test_phone_photo_page import _phone_jpeg

pytestmark = pytest.mark.browser


def _upload(page, name: str, mime: str, data: bytes, where=None) -> None:
    (where or page).locator("input[type=file]").first.set_input_files({"name": name, "mimeType": mime, "buffer": data})


def _in_view(page, locator) -> dict:
    box = locator.bounding_box()
    assert box and 0 <= box["y"] and box["y"] + box["height"] <= page.viewport_size["height"], box
    return box


def test_a_phone_photo_and_a_heic_on_enhance(tab, server, artifacts):
    page = tab()
    go(page, server, "/enhance", "Enhance")
    radio(page, "Image", "Upload")
    _upload(page, "IMG_0001.jpg", "image/jpeg", _phone_jpeg(), page.get_by_test_id("stSidebar"))
    full = page.get_by_role("button", name="Enhance full image (4032×3024)")
    full.wait_for(timeout=120_000)
    idle(page)
    full.scroll_into_view_if_needed()
    verdict = page.get_by_text(re.compile(r"^Full image.*×2\.25 or less works"))
    button, said = _in_view(page, full), _in_view(page, verdict)  # both on screen together, side by side
    assert abs(said["y"] - button["y"]) < 120 and full.is_disabled()
    page.screenshot(path=str(artifacts / "own_files_phone_photo.png"))
    radio(page, "Scale", "×2")
    page.get_by_text(re.compile(r"^Full image: 8064×6048 \(49 MP\)")).wait_for(timeout=60_000)
    assert not full.is_disabled()

    _upload(page, "IMG_0002.heic", "image/heif", encoded("HEIF"), page.get_by_test_id("stSidebar"))
    page.get_by_role("button", name="Enhance full image (20×40)").wait_for(timeout=60_000)
    assert page.get_by_text("files are not allowed").count() == 0


def test_a_corrupt_clip_is_refused_in_one_line_under_the_uploader(tab, server, artifacts):
    page = tab()
    go(page, server, "/video", "Video")
    radio(page, "Clip", "Upload")
    _upload(page, "holiday.mp4", "video/mp4", bytes(range(256)) * 64)
    error = page.get_by_test_id("stAlertContentError")
    error.first.wait_for(timeout=60_000)
    idle(page)
    assert error.count() == 1 and "holiday.mp4" in error.inner_text() and "\n" not in error.inner_text().strip()
    _in_view(page, error)
    assert page.get_by_role("button", name="Run", exact=True).is_disabled()
    page.screenshot(path=str(artifacts / "own_files_corrupt_clip.png"))
