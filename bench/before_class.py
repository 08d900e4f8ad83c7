"""Ready before class: on an empty weights folder (a fresh clone), `python -m core prepare` (what `make run` runs
first), then a fresh `streamlit run` server and the first "Preview a crop" a visitor presses with the page's
defaults, timed from the click until the result is on the page (headless Chromium, loopback only).

    python bench/before_class.py [--json OUT] [--smoke]

Reports prepare's wall time and its lines (one per model), the click-to-result time, and the job's own time from
the server's SRLAB_TIMING_LOG; the target of issue 27 is ≤ 10 s on 2 cores for that first preview. `--smoke` (CI)
starts from this checkout's converted weights and measurements instead of an empty folder (`prepare --no-measure`
verifies them): the same prepare, server and preview, in about a minute; its times are not the figure."""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts import local_server  # noqa: E402


def prepare(env: dict, measure: bool = True) -> tuple[float, list[str]]:
    start = time.perf_counter()
    command = [sys.executable, "-m", "core", "prepare", *([] if measure else ["--no-measure"])]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True,
                          text=True, check=True)
    return time.perf_counter() - start, done.stdout.splitlines()


def first_preview(env: dict, timings: Path) -> dict:
    from playwright.sync_api import sync_playwright

    proc, url = local_server.start(env={**env, "SRLAB_TIMING_LOG": str(timings)})
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"])
            page = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
            opened = time.perf_counter()
            page.goto(url + "/enhance")
            button = page.get_by_role("button", name=re.compile(r"^Preview a crop"))
            button.wait_for(timeout=120_000)
            page_s = time.perf_counter() - opened
            method = page.get_by_test_id("stSelectbox").filter(has_text="Method").get_by_role("combobox")
            name = method.input_value()
            start = time.perf_counter()
            button.click()
            page.get_by_text(re.compile(r"^Result: .+ on the crop")).wait_for(timeout=600_000)
            click_s = time.perf_counter() - start
            browser.close()
    finally:
        local_server.stop(proc)
    jobs = [r for r in map(json.loads, timings.read_text().splitlines()) if r["kind"] == "job"]
    return {"method": name, "first_page_s": round(page_s, 2), "click_to_result_s": round(click_s, 2),
            "job_s": jobs[-1]["seconds"] if jobs else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="OUT")
    ap.add_argument("--smoke", action="store_true", help="this checkout's weights and measurements, prepare "
                                                          "--no-measure, then the preview: checks the bench runs")
    args = ap.parse_args()
    from core.runtime import machine

    folder = Path(tempfile.mkdtemp(prefix="srlab-fresh-"))
    env = {**os.environ, "SRLAB_WEIGHTS_DIR": str(folder / "weights")}
    if args.smoke:  # this checkout's converted weights and measurements: prepare verifies, the preview runs
        from core import settings

        here = settings.current().weights_dir
        (folder / "weights").mkdir()
        if (here / "converted").is_dir():
            (folder / "weights" / "converted").symlink_to((here / "converted").resolve())
        if (here / "backend_choice.json").is_file():
            shutil.copy(here / "backend_choice.json", folder / "weights")
    prepare_s, lines = prepare(env, measure=not args.smoke)
    preview = first_preview(env, folder / "timings.jsonl")
    result = {"smoke": args.smoke, "cpu": machine.describe(), "prepare_s": round(prepare_s, 1),
              "prepare_output": lines, **preview,
              "target_s": 10, "met": preview["click_to_result_s"] <= 10}
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
