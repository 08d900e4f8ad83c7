"""The same job in the app and on the CLI: how much the server around a job costs it.

    python bench/app_vs_cli.py [--sample coffee_300] [--method RealESRGAN_x4plus] [--scale 2] [--json OUT]

First in this process through core.pipeline.engine (what `python -m core enhance` runs), then through a real
`streamlit run` server on 127.0.0.1 driven by headless Chromium: the job's own time from the server's
SRLAB_TIMING_LOG (loading the network included, as in the app's first job). A ratio far above 1 means the
server starves the job (it found Streamlit's gc.collect(2) after every fragment rerun: 12×)."""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts import local_server  # noqa: E402


def in_process(sample: str, method: str, scale: int) -> float:
    from core.io.samples import SAMPLES
    from core.pipeline import engine
    from core.pipeline.engine import Request

    start = time.perf_counter()
    engine.run(SAMPLES[sample].image(), Request(method=method, outscale=scale))
    return time.perf_counter() - start


def in_app(sample: str, method: str, scale: int) -> float:
    from playwright.sync_api import sync_playwright

    from core.io.samples import SAMPLES
    from tests.browser_steps import choose

    timings = Path(tempfile.mkdtemp()) / "timings.jsonl"
    proc, url = local_server.start(env={**os.environ, "SRLAB_TIMING_LOG": str(timings)})
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"])
            page = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
            page.goto(url + "/enhance")
            page.get_by_role("heading", name="Enhance").wait_for(timeout=60_000)
            choose(page, page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox"),
                   SAMPLES[sample].title)
            choose(page, page.get_by_test_id("stSelectbox").filter(has_text="Method"), method)
            page.get_by_test_id("stRadio").filter(has_text="Scale").get_by_text(f"×{scale}", exact=True).click()
            page.get_by_role("button", name="Enhance full image").click()
            page.get_by_text(f"Result: {method} on the full image").wait_for(timeout=900_000)
            browser.close()
    finally:
        local_server.stop(proc)
    jobs = [r for r in map(json.loads, timings.read_text().splitlines()) if r["kind"] == "job"]
    return jobs[-1]["seconds"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", default="coffee_300")
    ap.add_argument("--method", default="RealESRGAN_x4plus")
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--json", metavar="OUT")
    ap.add_argument("--smoke", action="store_true",
                    help="camera (128×128), realesr-animevideov3 ×2: checks the bench runs")
    args = ap.parse_args()
    if args.smoke:
        args.sample, args.method, args.scale = "camera", "realesr-animevideov3", 2
    from core.runtime import machine

    cli = in_process(args.sample, args.method, args.scale)  # the first run in a process: loading included
    app = in_app(args.sample, args.method, args.scale)
    result = dict(smoke=args.smoke, sample=args.sample, method=args.method, scale=args.scale, cpu=machine.describe(),
                  in_process_s=round(cli, 2), app_job_s=round(app, 2), ratio=round(app / cli, 2))
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
