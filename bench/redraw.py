"""What a page run costs the server once a result is on the page: one browser session on a quiet server makes a
result (a sample, a network, a scale, "Enhance full image"), then changes a control on that page N times; each
change reruns the page, which draws the result again (slider, zoom grid, statistics) from what its job made.

    python bench/redraw.py [--sample "rocket (640×427)"] [--method realesr-animevideov3] [--scale ×4]
                           [--reruns 12] [--json OUT]

Reports the server's own time per page run that drew the result (`SRLAB_TIMING_LOG`: seconds, and of them the
script thread's CPU time and its wait for a core), p50 / p95 / max, and the CPU. Loopback only.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.load_test import ARGS, CHROMIUM, _page, _stats, cpu_name  # noqa: E402
from scripts import local_server  # noqa: E402


async def session(url: str, args, timings: Path) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        _, page = await _page(browser)
        await page.goto(url + "/enhance")
        await page.get_by_role("heading", name="Enhance").wait_for()
        await page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").click()
        await page.get_by_role("option", name=args.sample).click()
        await page.get_by_test_id("stSelectbox").filter(has_text="Method").click()
        await page.get_by_role("option", name=args.method, exact=True).click()
        await page.get_by_test_id("stRadio").filter(has_text="Scale").get_by_text(args.scale, exact=True).click()
        await page.get_by_role("button", name="Enhance full image").click()
        await page.get_by_text(f"Result: {args.method} on the full image").wait_for(timeout=600_000)
        await page.get_by_text("Advanced: tile size, backend (CPU or GPU)").click()
        await page.wait_for_timeout(1500)
        timings.write_text("")  # the reruns only (emptied, not removed: the server keeps it open)
        for i in range(args.reruns):  # the colour fix there and back: the result stays on the page each time
            choice = "mean/std" if i % 2 == 0 else "off"
            await page.get_by_test_id("stRadio").filter(has_text="Colour fix").get_by_text(choice, exact=True).click()
            await page.wait_for_timeout(1500)  # the run and the browser's drawing end well within it
        await browser.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", default="rocket (640×427)")
    ap.add_argument("--method", default="realesr-animevideov3")
    ap.add_argument("--scale", default="×4")
    ap.add_argument("--reruns", type=int, default=12)
    ap.add_argument("--json", metavar="OUT")
    ap.add_argument("--smoke", action="store_true", help="camera (128×128) at ×2, two reruns: checks the bench runs")
    args = ap.parse_args()
    if args.smoke:
        args.sample, args.scale, args.reruns = "camera (128×128)", "×2", 2
    results = ROOT / "bench" / "results"
    timings = results / "redraw_timings.jsonl"
    timings.unlink(missing_ok=True)
    with open(results / "redraw_server.log", "wb") as log:
        server, url = local_server.start(log, env={**os.environ, "SRLAB_TIMING_LOG": str(timings)}, timeout_s=180)
        try:
            asyncio.run(session(url, args, timings))
        finally:
            local_server.stop(server)
    runs = [r for r in map(json.loads, timings.read_text().splitlines())
            if r["kind"] == "page_run" and r.get("drew_result")]
    if not runs:
        print("no page run drew the result", file=sys.stderr)
        return 1
    summary = {"smoke": args.smoke, "sample": args.sample, "method": args.method, "scale": args.scale,
               "reruns": len(runs),
               "seconds": _stats([r["seconds"] for r in runs]), "cpu_s": _stats([r["cpu_s"] for r in runs]),
               "runq_s": _stats([r["runq_s"] for r in runs]), "cpu": cpu_name()}
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
