"""A class at once: N browser sessions join one app server over a window, then all press Enhance within a few
seconds (loopback only).

    python bench/load_test.py [--sessions 30] [--join-window 60] [--click-window 10] [--browsers 2] [--json OUT]

Starts `streamlit run` on a free 127.0.0.1 port with SRLAB_TIMING_LOG set, so the *server* records how long
each page run and each job took (waiting in line and running). Clients are few Chromium processes with many
contexts each (the browsers share this machine's cores with the server: their rendering time is reported
apart, from the client's click-to-result). Reports completed, errors, the server's peak RSS, server time per
page run and per job, and client time. Every request to anything but loopback is blocked. Bounded: N ≤ 50.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts import local_server  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    return "unknown"


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the server process's peak resident memory so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def one_session(browser, url: str, method: str, ready: list, start: asyncio.Event, timeout_s: float,
                      join_at: float, click_at: float) -> dict:
    await asyncio.sleep(join_at)  # students arrive over the join window, not in one instant
    context = await browser.new_context(viewport={"width": 1200, "height": 1400})
    page = await context.new_page()

    async def only_loopback(route):
        host = urlparse(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:", "about:")) or host in ("127.0.0.1", "localhost"):
            await route.continue_()
        else:
            await route.abort()

    await page.route("**/*", only_loopback)
    try:
        await page.goto(url, wait_until="domcontentloaded")
        await page.get_by_role("heading", name="Enhance").wait_for(timeout=timeout_s * 1000)
        await page.get_by_test_id("stSelectbox").filter(has_text="Method").click()
        await page.get_by_role("option", name=method).click()
        await page.get_by_text("Small and fast").wait_for()
        ready.append(1)
        await start.wait()
        await asyncio.sleep(click_at)  # everyone presses Enhance within the click window
        t0 = time.perf_counter()
        await page.get_by_role("button", name="Enhance full image").click()
        saw_queue = False
        result = page.get_by_text(f"Result: {method} on the full image")
        while not await result.is_visible():
            saw_queue = saw_queue or await page.get_by_text("in line").count() > 0
            if time.perf_counter() - t0 > timeout_s:
                raise TimeoutError("no result in time")
            if await page.get_by_test_id("stException").count():
                raise RuntimeError("the page shows an exception")
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - t0
        errors = await page.get_by_test_id("stAlertContentError").count()
        return {"ok": errors == 0, "seconds": elapsed, "saw_queue": saw_queue,
                "error": None if errors == 0 else "error message on the page"}
    except Exception as exc:  # counted and reported, not raised: the other sessions go on
        ready.append(0)
        return {"ok": False, "seconds": None, "saw_queue": False, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        await context.close()


async def run(url: str, sessions: int, method: str, timeout_s: float, join_window: float, click_window: float,
              n_browsers: int) -> list[dict]:
    import random

    from playwright.async_api import async_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    rng = random.Random(0)
    async with async_playwright() as p:
        browsers = [await p.chromium.launch(executable_path=chromium, args=ARGS) for _ in range(n_browsers)]
        ready: list[int] = []
        start = asyncio.Event()
        tasks = [asyncio.create_task(one_session(browsers[i % n_browsers], url, method, ready, start, timeout_s,
                                                 join_at=i * join_window / sessions,
                                                 click_at=rng.uniform(0, click_window)))
                 for i in range(sessions)]
        deadline = time.perf_counter() + timeout_s
        while len(ready) < sessions and time.perf_counter() < deadline:
            await asyncio.sleep(0.2)
        start.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks), timeout=timeout_s)
        for b in browsers:
            await b.close()
    return results


def server_timings(path: Path) -> dict:
    """p50/p95/max of the server's own records: page runs, jobs' time in line and time running."""
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def stats(values: list[float]) -> dict:
        if not values:
            return {"n": 0}
        values = sorted(values)
        p95 = statistics.quantiles(values, n=20)[18] if len(values) >= 2 else values[0]
        return {"n": len(values), "p50_s": round(statistics.median(values), 3), "p95_s": round(p95, 3),
                "max_s": round(values[-1], 3)}

    jobs = [r for r in rows if r["kind"] == "job"]
    # a page run that asked for a job lasts while it waits in line and runs: reported apart
    return {"page_run_without_job": stats([r["seconds"] for r in rows if r["kind"] == "page_run" and not r["job"]]),
            "page_run_with_job": stats([r["seconds"] for r in rows if r["kind"] == "page_run" and r["job"]]),
            "job_waiting_in_line": stats([r["waited_s"] for r in jobs if "waited_s" in r]),
            "job_running": stats([r["seconds"] for r in jobs])}  # timed from the moment it got its slot


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--join-window", type=float, default=60, help="seconds over which the sessions arrive")
    ap.add_argument("--click-window", type=float, default=10, help="seconds within which all press Enhance")
    ap.add_argument("--browsers", type=int, default=2, help="Chromium processes; sessions are contexts in them")
    ap.add_argument("--method", default="realesr-animevideov3")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--max-rss-mb", type=float, default=float(os.environ.get("SRLAB_MEMORY_BOUND_MB", 4096)),
                    help="the configured memory bound the server must stay within")
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()
    if not 1 <= args.sessions <= 50:
        ap.error("--sessions must be 1…50")
    log = open(ROOT / "bench" / "results" / "load_test_server.log", "wb")
    timings = ROOT / "bench" / "results" / "load_test_timings.jsonl"
    timings.unlink(missing_ok=True)
    server, url = local_server.start(log, env={**os.environ, "SRLAB_TIMING_LOG": str(timings)})
    try:
        t0 = time.perf_counter()
        results = asyncio.run(run(url, args.sessions, args.method, args.timeout, args.join_window,
                                  args.click_window, max(1, args.browsers)))
        wall = time.perf_counter() - t0
        crashed = server.poll() is not None
        rss = peak_rss_mb(server.pid) if not crashed else float("nan")
    finally:
        local_server.stop(server)
    times = sorted(r["seconds"] for r in results if r["ok"])
    q = statistics.quantiles(times, n=20) if len(times) >= 2 else times * 19
    summary = {"sessions": args.sessions, "method": args.method, "completed": len(times),
               "errors": sum(not r["ok"] for r in results), "server_crashed": crashed,
               "queued_sessions_seen": sum(r["saw_queue"] for r in results),
               "peak_rss_mb": round(rss), "rss_bound_mb": args.max_rss_mb,
               "join_window_s": args.join_window, "click_window_s": args.click_window, "browsers": args.browsers,
               "server": server_timings(timings),
               "client_click_to_result": {"p50_s": round(statistics.median(times), 2) if times else None,
                                          "p95_s": round(q[18], 2) if times else None},
               "cpu": cpu_name(), "wall_s": round(wall, 1),
               "error_samples": [r["error"] for r in results if r["error"]][:5]}
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    ok = summary["errors"] == 0 and not crashed and rss <= args.max_rss_mb
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
