"""Many users at once: N headless-browser sessions run a real enhancement on one app server (loopback only).

    python bench/load_test.py [--sessions 20] [--method realesr-animevideov3] [--timeout 600] [--json OUT]

Starts `streamlit run` on a free 127.0.0.1 port, opens N pages in Debian's Chromium (Playwright), each picks
the fast model and presses "Enhance full image" at the same moment; reports completed jobs, errors, the
server's peak RSS and p50/p95 time from click to result. Every request to anything but loopback is blocked.
Bounded: N ≤ 50 sessions, one job each, and a hard timeout.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the server process's peak resident memory so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def one_session(browser, url: str, method: str, ready: list, start: asyncio.Event, timeout_s: float) -> dict:
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
        await start.wait()  # every session clicks at the same moment
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


async def run(url: str, sessions: int, method: str, timeout_s: float) -> list[dict]:
    from playwright.async_api import async_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=ARGS)
        ready: list[int] = []
        start = asyncio.Event()
        tasks = [asyncio.create_task(one_session(browser, url, method, ready, start, timeout_s))
                 for _ in range(sessions)]
        deadline = time.perf_counter() + timeout_s
        while len(ready) < sessions and time.perf_counter() < deadline:
            await asyncio.sleep(0.2)
        start.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks), timeout=timeout_s)
        await browser.close()
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--method", default="realesr-animevideov3")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--max-rss-mb", type=float, default=float(os.environ.get("SRLAB_MEMORY_BOUND_MB", 4096)),
                    help="the configured memory bound the server must stay within")
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()
    if not 1 <= args.sessions <= 50:
        ap.error("--sessions must be 1…50")
    port = free_port()
    log = open(ROOT / "bench" / "results" / "load_test_server.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port",
                               str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
                              cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        t0 = time.perf_counter()
        results = asyncio.run(run(url, args.sessions, args.method, args.timeout))
        wall = time.perf_counter() - t0
        crashed = server.poll() is not None
        rss = peak_rss_mb(server.pid) if not crashed else float("nan")
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
    times = sorted(r["seconds"] for r in results if r["ok"])
    q = statistics.quantiles(times, n=20) if len(times) >= 2 else times * 19
    summary = {"sessions": args.sessions, "method": args.method, "completed": len(times),
               "errors": sum(not r["ok"] for r in results), "server_crashed": crashed,
               "queued_sessions_seen": sum(r["saw_queue"] for r in results),
               "peak_rss_mb": round(rss), "rss_bound_mb": args.max_rss_mb,
               "p50_s": round(statistics.median(times), 2) if times else None,
               "p95_s": round(q[18], 2) if times else None, "wall_s": round(wall, 1),
               "error_samples": [r["error"] for r in results if r["error"]][:5]}
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    ok = summary["errors"] == 0 and not crashed and rss <= args.max_rss_mb
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
