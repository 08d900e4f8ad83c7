"""Two downloads clicked 0.2 s apart both arrive, bytes checked, on every page that offers two (issue 41): Train
(the model and its card), Metrics (the CSV and the report), Baselines (one PNG per result). A download that made
the page rerun replaced the other button's file on the server while the browser still held the old one: the
second click fetched a file that was gone, and nothing was said."""
import io
import json

import numpy as np
import pytest
from PIL import Image

from tests.browser_steps import go, idle

pytestmark = pytest.mark.browser


@pytest.fixture
def page(downloading_page):
    return downloading_page


def both(page, first, second, tmp_path) -> dict[str, bytes]:
    """Click one, then the other a moment later, as a hurried user does: each way round, 0.2 and 1.2 s apart (a
    lost file depended on where the page's rerun was when the second click came). Every pair must arrive;
    returns the files by suggested name."""
    files = {}
    for a, b in ((first, second), (second, first)):
        for gap_ms in (200, 1200):
            arrived = []

            def arrive(download, arrived=arrived):
                arrived.append(download)

            page.on("download", arrive)
            idle(page)
            a.scroll_into_view_if_needed()
            a.click()
            page.wait_for_timeout(gap_ms)
            b.click()
            for _ in range(50):  # up to 10 s
                if len(arrived) >= 2:
                    break
                page.wait_for_timeout(200)
            page.remove_listener("download", arrive)
            assert len(arrived) == 2, f"{gap_ms} ms apart: only {[d.suggested_filename for d in arrived]} arrived"
            for d in arrived:
                path = tmp_path / d.suggested_filename
                d.save_as(path)  # raises when the download failed
                files[d.suggested_filename] = path.read_bytes()
    return files


def button(page, label: str, nth: int = 0):
    return page.get_by_test_id("stDownloadButton").filter(has_text=label).nth(nth).get_by_role("button")


def test_train_model_and_card_both_arrive(page, server, tmp_path):
    from safetensors.numpy import load

    go(page, server, "/train", "Train")
    page.get_by_test_id("stSlider").filter(has_text="Length").get_by_role("slider").focus()
    page.keyboard.press("Home")  # 10 s: the shortest run
    idle(page)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Trained: user:").wait_for(timeout=300_000)
    idle(page)
    files = both(page, button(page, "Download the model"), button(page, "Download its card"), tmp_path)
    assert sorted(n.rsplit(".", 1)[1] for n in files) == ["json", "safetensors"], list(files)
    model = next(v for n, v in files.items() if n.endswith(".safetensors"))
    card = json.loads(next(v for n, v in files.items() if n.endswith(".json")))
    assert card["preset"] == "scratch-60s" and card["base"] == "scratch"
    assert load(model) and all(np.isfinite(w).all() for w in load(model).values())


def test_metrics_csv_and_report_both_arrive(page, server, tmp_path):
    go(page, server, "/metrics", "Metrics")
    page.get_by_role("button", name="One click: astronaut").click()
    report = button(page, "Download report")
    report.wait_for(timeout=300_000)
    idle(page)
    files = both(page, button(page, "Download CSV"), report, tmp_path)
    assert sorted(files) == ["scores.csv", "sr-lab-report.html"], list(files)
    assert files["scores.csv"].decode().splitlines()[0].startswith("method,")
    assert "RealESRGAN_x4plus" in files["scores.csv"].decode()
    assert files["sr-lab-report.html"].decode().lstrip().lower().startswith("<!doctype html")


def test_baselines_two_pngs_both_arrive(page, server, tmp_path):
    go(page, server, "/baselines", "Baselines")
    page.get_by_role("button", name="Run", exact=True).click()
    button(page, "Download PNG", 1).wait_for(timeout=300_000)
    idle(page)
    files = both(page, button(page, "Download PNG", 0), button(page, "Download PNG", 1), tmp_path)
    assert len(files) == 2, list(files)
    for name, data in files.items():
        image = Image.open(io.BytesIO(data))
        assert image.format == "PNG" and image.size == (512, 512), name
