"""A class at once, on loopback: N browser sessions join one app server over a window, each asks for a job of its
own (another sample, scale, crop or model; some RealESRGAN_x4plus crop previews), and some switch page or move a
control while they wait; optionally some upload an oversized batch archive at the same time.

    python bench/load_test.py [--smoke] [--sessions 30] [--archives 0] [--join-window 60] [--click-window 10]
                              [--browsers 2] [--ray local] [--json OUT]

Starts `streamlit run` on a free 127.0.0.1 port with SRLAB_TIMING_LOG set, so the *server* records each page run
and each job (its wait in line and its run; a joined request runs once). Clients are a few Chromium processes with
many contexts each, driven from this process through Playwright's driver, sharing this machine's cores with the
server: all of them run at --clients-at (default idle: Linux's SCHED_IDLE, which every child inherits and
Chromium's own setpriority calls do not undo; at plain nice 19 it put its renderers back to nice 0 and its browser
process at -8), and Chromium's own sessions get autogroup nice --clients-autogroup-nice (default 10: Playwright
starts Chromium in a session of its own, and with autogroup scheduling the kernel shares the cores between sessions
before priorities count), since the students' browsers are their own machines in a real class; their
click-to-result time is reported apart. The server's record says over how long the presses reached it (starved
clients press later than their click window) and the longest the line got.
Reports completed, errors, lost jobs (a session that never saw its result), sessions that saw their place in line,
jobs run per distinct request, refusals of the archives (each must be one line), the server's peak RSS, server
time per page run (with and without a job of its own) and per job, and the last job's wait. Every request to
anything but loopback is blocked. Bounded: N ≤ 50.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import statistics
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from core import settings  # noqa: E402
from scripts import local_server  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
SAMPLES = ["astronaut (128×128)", "coffee_300 (300×200)", "cat (150×100)", "coffee (150×100)", "logo (166×166)",
           "camera (128×128)", "text (224×86)", "astronaut_512 (512×512)", "rocket (640×427)"]
LARGE = {"astronaut_512 (512×512)", "rocket (640×427)", "coffee_300 (300×200)"}


def scenarios(n: int) -> list[dict]:
    """n distinct jobs: a RealESRGAN_x4plus crop preview on the large samples, realesr-animevideov3 on the whole
    image of the others at ×2/×3/×4; every 4th session visits another page while it waits, every 5th moves a
    control."""
    jobs = [dict(sample=s, method="RealESRGAN_x4plus", scale="×4", button="Preview a crop") for s in sorted(LARGE)]
    jobs += [dict(sample=s, method="realesr-animevideov3", scale=sc, button="Enhance full image")
             for sc in ("×2", "×3", "×4") for s in SAMPLES if s not in LARGE or sc != "×4"]
    jobs += [dict(sample=s, method="SPAN_x4", scale=sc, button="Enhance full image")
             for sc in ("×2", "×3", "×4") for s in SAMPLES if s not in LARGE]
    if n > len(jobs):
        raise SystemExit(f"at most {len(jobs)} distinct jobs are defined")
    for i, job in enumerate(jobs[:n]):
        job["switch_page"], job["move_control"] = i % 4 == 3, i % 5 == 4
    return jobs[:n]


def smoke_scenarios() -> list[dict]:
    """Two quick jobs of the class's kinds (small samples, realesr-animevideov3 ×2): one switches page while it
    waits, the other moves a control."""
    small = [dict(sample=s, method="realesr-animevideov3", scale="×2", button="Enhance full image")
             for s in ("camera (128×128)", "cat (150×100)")]
    small[0].update(switch_page=True, move_control=False)
    small[1].update(switch_page=False, move_control=True)
    return small


def oversized_archive() -> bytes:
    """The archive of issue 28: 60 copies of a solid-colour 4000×4000 PNG (3.4 MB once zipped)."""
    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((4000, 4000, 3), 90, np.uint8)).save(buf, format="PNG")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for i in range(60):
            z.writestr(f"solid_{i:02d}.png", buf.getvalue())
    return out.getvalue()


def cpu_name() -> str:
    from core.runtime.machine import cpu_flags, machine  # /proc/cpuinfo, with its fallback where it is missing

    wanted = [f for f in ("avx2", "avx512_bf16", "avx512_vnni", "amx_bf16") if f in cpu_flags()]
    return f"{machine()['cpu'].split(' ', 1)[-1]} ({os.cpu_count()} cores; {' '.join(wanted)})"


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the server process's peak resident memory so far; NaN where /proc is missing (not checked then)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


async def _page(browser):
    context = await browser.new_context(viewport={"width": 1280, "height": 1400})
    context.set_default_timeout(180_000)  # a client starved of CPU by thirty tabs on two cores is slow, not broken
    page = await context.new_page()

    async def only_loopback(route):
        host = urlparse(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:", "about:")) or host in ("127.0.0.1", "localhost"):
            await route.continue_()
        else:
            await route.abort()

    await page.route("**/*", only_loopback)
    await context.add_init_script(SEES_IN_LINE)
    return context, page


# In every page of a session: note when the app draws a place in line ("…, 3rd in line (1 running)…"), at the
# moment it is drawn, so a poll that comes after the job has started still knows it was shown.
SEES_IN_LINE = """
new MutationObserver(records => {
  if (window.__sawInLine) return;
  for (const r of records) {
    const texts = r.type === 'characterData' ? [r.target.data] : [...r.addedNodes].map(n => n.textContent);
    if (texts.some(t => t && t.includes(' in line ('))) { window.__sawInLine = true; return; }
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""
POLL = """wanted => [!!window.__sawInLine, (document.body?.textContent || '').includes(wanted),
                 !!document.querySelector('[data-testid=stException]')]"""


async def one_session(browser, url: str, job: dict, ready: list, start: asyncio.Event, timeout_s: float,
                      join_at: float, click_at: float) -> dict:
    await asyncio.sleep(join_at)  # students arrive over the join window, not in one instant
    context, page = await _page(browser)
    try:
        await page.goto(url + "/enhance", wait_until="domcontentloaded")
        await page.get_by_role("heading", name="Enhance").wait_for(timeout=timeout_s * 1000)
        await page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").click()
        await page.get_by_role("option", name=job["sample"]).click()
        await page.get_by_test_id("stSelectbox").filter(has_text="Method").click()
        await page.get_by_role("option", name=job["method"], exact=True).click()
        await page.get_by_test_id("stRadio").filter(has_text="Scale").get_by_text(job["scale"], exact=True).click()
        ready.append(1)
        await start.wait()
        await asyncio.sleep(click_at)  # everyone presses within the click window
        t0 = time.perf_counter()
        await page.get_by_role("button", name=job["button"]).click()
        where = "the full image" if job["button"].startswith("Enhance") else "the crop"
        wanted = f"Result: {job['method']} on {where}"
        saw_queue, moved, switched = False, False, False
        while True:
            # one call into the page per poll (a starved client's renderer is the scarce thing here); the page's
            # own observer saw any "in line" the app drew, however briefly
            saw, done, failed = await page.evaluate(POLL, wanted)
            saw_queue = saw_queue or saw
            if done:
                break
            if failed:
                raise RuntimeError("the page shows an exception")
            if job["switch_page"] and not switched and time.perf_counter() - t0 > 1:
                await page.get_by_role("link", name="How it works").click()
                await page.get_by_role("heading", name="How it works").wait_for()
                await page.get_by_role("link", name="Enhance").click()
                await page.get_by_role("heading", name="Enhance").wait_for()
                switched = True
            if job["move_control"] and not moved and time.perf_counter() - t0 > 1:
                await page.get_by_text("Advanced: tile size, CPU backend").click()
                await page.get_by_test_id("stRadio").filter(has_text="Colour fix").get_by_text(
                    "mean/std", exact=True).click()
                moved = True
            if time.perf_counter() - t0 > timeout_s:
                raise TimeoutError("no result in time: the job was lost or never ran")
            await asyncio.sleep(0.5)
        elapsed = time.perf_counter() - t0
        errors = await page.get_by_test_id("stAlertContentError").count()
        return {"kind": "job", "ok": errors == 0, "seconds": elapsed, "saw_queue": saw_queue,
                "switched": switched, "moved": moved, "error": None if errors == 0 else "error on the page"}
    except Exception as exc:  # counted and reported, not raised: the other sessions go on
        ready.append(0)
        return {"kind": "job", "ok": False, "seconds": None, "saw_queue": False,
                "error": f"{type(exc).__name__}: {exc}"}
    finally:
        await context.close()


async def one_archive(browser, url: str, archive: Path, ready: list, start: asyncio.Event, timeout_s: float) -> dict:
    context, page = await _page(browser)
    try:
        await page.goto(url + "/batch", wait_until="domcontentloaded")
        await page.get_by_role("heading", name="Batch").wait_for(timeout=timeout_s * 1000)
        await page.locator("input[type=file]").last.set_input_files(str(archive))
        await page.get_by_text(archive.name).first.wait_for(timeout=timeout_s * 1000)
        ready.append(1)
        await start.wait()
        await page.get_by_role("button", name="Run batch").click()
        refusal = page.get_by_test_id("stAlertContentError")
        await refusal.first.wait_for(timeout=timeout_s * 1000)
        texts = await refusal.all_inner_texts()
        one_line = len(texts) == 1 and "\n" not in texts[0].strip()
        return {"kind": "archive", "ok": one_line and "megapixels" in texts[0], "message": texts[0].strip()}
    except Exception as exc:
        ready.append(0)
        return {"kind": "archive", "ok": False, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        await context.close()


async def warm_up(url: str, timeout_s: float, clients_at: str, autogroup_nice: int) -> float:
    """The teacher opens the app before the class comes: the server's first run of each page imports what it
    needs (torch, the page's modules: ~2 s once per server), which the class then does not wait for."""
    from playwright.async_api import async_playwright

    t0 = time.perf_counter()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        lower_clients_autogroups(clients_at, autogroup_nice)
        context, page = await _page(browser)
        for path, heading in (("/enhance", "Enhance"), ("/how_it_works", "How it works"), ("/batch", "Batch")):
            await page.goto(url + path, wait_until="domcontentloaded")
            await page.get_by_role("heading", name=heading).wait_for(timeout=timeout_s * 1000)
            await page.wait_for_timeout(300)  # then until the page run has ended (its imports done)
            await page.wait_for_function(
                "() => !document.querySelector('[data-testid=stStatusWidgetRunningIcon]')", timeout=timeout_s * 1000)
        await browser.close()
    return time.perf_counter() - t0


async def run(url: str, jobs: list[dict], archives: int, archive: Path, timeout_s: float, join_window: float,
              click_window: float, n_browsers: int, clients_at: str,
              autogroup_nice: int) -> tuple[list[dict], int]:
    import random

    from playwright.async_api import async_playwright

    rng = random.Random(0)
    async with async_playwright() as p:
        browsers = [await p.chromium.launch(executable_path=CHROMIUM, args=ARGS) for _ in range(n_browsers)]
        lowered = lower_clients_autogroups(clients_at, autogroup_nice)
        ready: list[int] = []
        start = asyncio.Event()
        tasks = [asyncio.create_task(one_session(browsers[i % n_browsers], url, job, ready, start, timeout_s,
                                                 join_at=i * join_window / len(jobs),
                                                 click_at=rng.uniform(0, click_window)))
                 for i, job in enumerate(jobs)]
        tasks += [asyncio.create_task(one_archive(browsers[i % n_browsers], url, archive, ready, start, timeout_s))
                  for i in range(archives)]
        deadline = time.perf_counter() + timeout_s
        while len(ready) < len(tasks) and time.perf_counter() < deadline:
            await asyncio.sleep(0.2)
        start.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks), timeout=timeout_s * 2)
        for b in browsers:
            await b.close()
    return results, lowered


def _stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    values = sorted(values)
    p95 = statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) >= 2 else values[0]  # in range
    return {"n": len(values), "p50_s": round(statistics.median(values), 3), "p95_s": round(p95, 3),
            "max_s": round(values[-1], 3)}


def server_timings(path: Path) -> dict:
    """The server's own records: page runs (with and without a job of their own), jobs in line and running."""
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    jobs = [r for r in rows if r["kind"] == "job"]
    runs_per_request = Counter(r.get("request") for r in jobs)
    without_job = [r for r in rows if r["kind"] == "page_run" and not r["job"]]
    return {"page_run_without_job": _stats([r["seconds"] for r in without_job]),
            "of_which_drawing_a_result": _stats([r["seconds"] for r in without_job if r.get("drew_result")]),
            "of_which_other": _stats([r["seconds"] for r in without_job if not r.get("drew_result")]),
            "page_run_with_job": _stats([r["seconds"] for r in rows if r["kind"] == "page_run" and r["job"]]),
            "fragment_run": _stats([r["seconds"] for r in rows if r["kind"] == "fragment_run"]),
            "job_waiting_in_line": _stats([r["waited_s"] for r in jobs if "waited_s" in r]),
            "job_running": _stats([r["seconds"] for r in jobs]),
            "jobs_run": len(jobs), "distinct_requests": len(runs_per_request),
            "most_runs_of_one_request": max(runs_per_request.values(), default=0),
            "last_job_waited_s": max((r.get("waited_s", 0) for r in jobs), default=None),
            **_arrivals(jobs), **_places(rows, jobs)}


WAITED_S = 0.5  # the page run that submits a job draws its place at once: a job that waited this long was queued


def _places(rows: list[dict], jobs: list[dict]) -> dict:
    """The waiting jobs whose place in line the server drew for their session (a client starved of CPU may not
    have painted it before its job started: that count is the clients' `saw_their_place_in_line`)."""
    shown = {r["place_shown"] for r in rows if "place_shown" in r}
    waited = [r["job_id"] for r in jobs if r.get("waited_s", 0) >= WAITED_S and "job_id" in r]
    return {"jobs_that_waited_in_line": len(waited), "of_which_shown_their_place": sum(j in shown for j in waited)}


def _arrivals(jobs: list[dict]) -> dict:
    """How the class's presses reached the server: over how many seconds (the clients are slower than their click
    window when they are starved of CPU), and the longest the line got."""
    if not jobs:
        return {}
    started = [r["t"] - r["seconds"] for r in jobs]
    submitted = [s - r.get("waited_s", 0) for s, r in zip(started, jobs)]
    events = sorted([(t, 1) for t in submitted] + [(t, -1) for t in started], key=lambda e: (e[0], e[1]))
    waiting = longest = 0
    for _, change in events:
        waiting += change
        longest = max(longest, waiting)
    return {"jobs_submitted_over_s": round(max(submitted) - min(submitted), 1), "longest_line": longest}


def lower_clients(how: str) -> str:
    """This process and what it starts from now on (Playwright's driver, its Chromium: CDP calls ~300/s) yield the
    cores to the server. Returns what was applied."""
    if how == "idle" and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return "SCHED_IDLE"
        except OSError:
            how = "nice"
    if how in ("idle", "nice"):
        os.nice(19)
        return "nice 19"
    return "same as the server"


def lower_clients_autogroups(how: str, nice: int) -> int:
    """Playwright starts each Chromium in a session of its own (a detached child), and with Linux's autogroup
    scheduling on (/proc/sys/kernel/sched_autogroup_enabled) the kernel shares the cores *between sessions*
    first: a SCHED_IDLE or nice 19 Chromium in its own session still got half the cores whenever it wanted them,
    against the server's whole session. Give each of our descendants' sessions autogroup `nice`. Returns how many
    sessions were lowered."""
    mine = autogroup_of("self")
    if how == "same" or mine is None:  # None: no autogroup scheduling for us here, nothing to undo
        return 0
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, ppid = int(stat.parent.name), int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(pid)
    lowered, seen, todo = 0, set(), list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        name = autogroup_of(pid)
        if name is None or name == mine or name in seen:
            continue
        try:
            Path(f"/proc/{pid}/autogroup").write_text(str(nice))
        except OSError:  # gone already, or not ours to change
            continue
        seen.add(name)
        lowered += 1
    return lowered


def autogroup_of(pid: int | str) -> str | None:
    """The autogroup a process is scheduled in ("/autogroup-12"), or None where autogroups do not apply to it: the
    file is missing on kernels without them and empty for a process in a cgroup of its own (a container, a CI
    runner), where the cgroup's share, not the session's, counts."""
    try:
        words = Path(f"/proc/{pid}/autogroup").read_text().split()
    except OSError:
        return None
    return words[0] if words else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=30, help="sessions with a job of their own")
    ap.add_argument("--archives", type=int, default=0, help="more sessions, each uploading the 60×4000² archive")
    ap.add_argument("--join-window", type=float, default=60, help="seconds over which the sessions arrive")
    ap.add_argument("--click-window", type=float, default=10, help="seconds within which all press their button")
    ap.add_argument("--browsers", type=int, default=2, help="Chromium processes; sessions are contexts in them")
    ap.add_argument("--ray", metavar="ADDRESS", help="the server runs its jobs on this Ray cluster ('local': "
                                                      "one started on this machine)")
    ap.add_argument("--clients-at", choices=["idle", "nice", "same"], default="idle",
                    help="OS priority of the clients (Chromium, Playwright's driver, this process): SCHED_IDLE, "
                         "nice 19, or the server's")
    ap.add_argument("--clients-autogroup-nice", type=int, default=10, choices=range(0, 20), metavar="0..19",
                    help="the kernel's share for the clients' own sessions (Chromium's): 19 starves them so that "
                         "their progress ticks lapse, 0 gives them as much as the server's whole session")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--max-rss-mb", type=float, default=float(os.environ.get("SRLAB_MEMORY_BOUND_MB", 4096)),
                    help="the configured memory bound the server must stay within")
    ap.add_argument("--json", metavar="OUT")
    ap.add_argument("--smoke", action="store_true",
                    help="two sessions in one browser, in-process jobs (no Ray), realesr-animevideov3 on small samples,"
                         " one switching page and one moving a control while it waits: checks the bench runs (CI)")
    args = ap.parse_args()
    if args.smoke:
        args.sessions, args.archives, args.ray, args.browsers = 2, 0, None, 1
        args.join_window, args.click_window, args.timeout = 2, 1, 300
        args.clients_at = "same"  # at SCHED_IDLE two clients on a machine busy with other work may never run
    if not 1 <= args.sessions + args.archives <= 50:
        ap.error("--sessions + --archives must be 1…50")
    jobs = smoke_scenarios() if args.smoke else scenarios(args.sessions)
    results_dir = ROOT / "bench" / "results"
    archive = results_dir / "oversized_batch.zip"
    if args.archives:
        archive.write_bytes(oversized_archive())
    log = open(results_dir / "load_test_server.log", "wb")
    timings = results_dir / "load_test_timings.jsonl"
    timings.unlink(missing_ok=True)
    env = {**os.environ, "SRLAB_TIMING_LOG": str(timings), **({"SRLAB_RAY_ADDRESS": args.ray} if args.ray else {})}
    server, url = local_server.start(log, env=env, timeout_s=180)
    clients_at = lower_clients(args.clients_at)  # after the server started: it keeps its own priority
    try:
        warm_s = asyncio.run(warm_up(url, args.timeout, args.clients_at, args.clients_autogroup_nice))
        timings.write_text("")  # the class's page runs only (emptied, not removed: the server keeps it open)
        t0 = time.perf_counter()
        results, lowered = asyncio.run(run(url, jobs, args.archives, archive, args.timeout, args.join_window,
                                           args.click_window, max(1, args.browsers), args.clients_at,
                                           args.clients_autogroup_nice))
        wall = time.perf_counter() - t0
        crashed = server.poll() is not None
        rss = peak_rss_mb(server.pid) if not crashed else float("nan")
    finally:
        local_server.stop(server)
        archive.unlink(missing_ok=True)
    done = [r for r in results if r["kind"] == "job"]
    refused = [r for r in results if r["kind"] == "archive"]
    times = sorted(r["seconds"] for r in done if r["ok"])
    q = statistics.quantiles(times, n=20) if len(times) >= 2 else times * 19
    summary = {"smoke": args.smoke, "sessions": args.sessions, "archives": args.archives, "ray": args.ray or "",
               "completed": len(times), "errors": sum(not r["ok"] for r in done),
               "lost_jobs": sum(1 for r in done if r["error"] and "no result in time" in r["error"]),
               "server_crashed": crashed, "saw_their_place_in_line": sum(r["saw_queue"] for r in done),
               "switched_page_while_waiting": sum(r.get("switched", False) for r in done),
               "moved_a_control_while_waiting": sum(r.get("moved", False) for r in done),
               "archives_refused_in_one_line": sum(r["ok"] for r in refused),
               "archive_message": next((r.get("message") for r in refused if r.get("message")), None),
               "peak_rss_mb": None if rss != rss else round(rss), "rss_bound_mb": args.max_rss_mb,
               "join_window_s": args.join_window, "click_window_s": args.click_window, "browsers": args.browsers,
               "server": server_timings(timings),
               "client_click_to_result": {"p50_s": round(statistics.median(times), 2) if times else None,
                                          "p95_s": round(q[18], 2) if times else None},
               "cpu": cpu_name(), "job_nice": settings.current().job_nice,  # the server's: it has this environment
               "clients_at": clients_at, "clients_autogroup_nice": args.clients_autogroup_nice,
               "client_sessions_lowered": lowered,
               "teacher_warm_up_s": round(warm_s, 1), "wall_s": round(wall, 1),
               "error_samples": [r["error"] for r in results if r.get("error")][:5]}
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    ok = (summary["errors"] == 0 and not crashed and not rss > args.max_rss_mb  # NaN: not readable here
          and summary["archives_refused_in_one_line"] == args.archives
          and summary["server"]["most_runs_of_one_request"] <= 1)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
