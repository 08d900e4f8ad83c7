"""Pages submit jobs to the service (core/serve/jobs.py) and watch them; they never run one. What each job
computes is a task of core/serve/tasks/ (the CLI and Ray run the same ones); this module builds it from a page's
choices, submits it for this session, and draws the handle. A page keeps only job ids in the session; `watch()`
is a fragment that redraws a job's progress twice a second and reruns the page once the job has ended. A click,
a page switch or a reload leaves the job running; only Cancel cancels."""
from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.io.imageio import LoadedImage
from core.pipeline import engine
from core.pipeline.engine import Request
from core.serve import shared, tasks, timing
from core.serve.jobs import Job, State
from core.serve.tasks.enhance import SoFar, described_at_once  # noqa: F401  (what the pages draw)
from ui.state import own_models

REDRAW_S = 0.5
Drawing = Callable[[Job], None]
cluster, job_service, results, descriptions = shared.cluster, shared.job_service, shared.results, shared.descriptions


def cached(request: Request):
    """(EnhanceResult, PNG bytes) for a request already run in this server, else None."""
    return results().get(request)


def owner() -> str:
    """This browser tab's id: kept in the URL (?s=…), so a reload finds its jobs again. Each call tells the job
    service the tab is there (a closed one's jobs are cancelled: `_watch_tabs`)."""
    if "owner" not in st.session_state:
        st.session_state.owner = st.query_params.get("s") or uuid.uuid4().hex[:12]
    if st.query_params.get("s") != st.session_state.owner:
        st.query_params["s"] = st.session_state.owner
    tab = st.session_state.owner
    job_service().seen(tab)
    if (ctx := get_script_run_ctx()) is not None:
        with _tabs_lock:
            _tabs.setdefault(tab, set()).add(ctx.session_id)
        _start_watching_tabs()
    return tab


# A tab is there while its browser holds the connection to the server (Streamlit's active session): a tab hidden
# behind others, whose timers the browser slows to once a minute, still is; a closed one is not. Checked here
# every TABS_CHECK_S, so a closed tab's jobs end SRLAB_GONE_AFTER_S after it closed and the line moves on.
TABS_CHECK_S = 5.0
_tabs: dict[str, set[str]] = {}  # tab id (owner) → its Streamlit session ids (a reload makes a new one)
_tabs_lock = threading.Lock()
_watcher: threading.Thread | None = None


def _start_watching_tabs() -> None:
    from streamlit.runtime import Runtime

    global _watcher
    if not Runtime.exists():  # (AppTest: no server, no tabs to watch)
        return
    with _tabs_lock:
        if _watcher is None or not _watcher.is_alive():
            _watcher = threading.Thread(target=_watch_tabs, name="srlab-tabs", daemon=True)
            _watcher.start()


def _watch_tabs() -> None:
    from streamlit.runtime import Runtime

    while Runtime.exists():
        try:
            runtime, svc = Runtime.instance(), job_service()
            with _tabs_lock:
                for tab, sessions in list(_tabs.items()):
                    sessions &= {s for s in sessions if runtime.is_active_session(s)}
                    if sessions:
                        svc.seen(tab)
                    else:
                        del _tabs[tab]  # gone (or reloading: its next page run adds it back)
            svc.cancel_gone()
        except Exception:  # (a runtime shutting down) the next round tries again; a dead watcher would let a
            pass           # hidden tab, whose timers the browser slows, be taken for gone
        time.sleep(TABS_CHECK_S)


def submit(task: tasks.Task) -> Job:
    """Queue `task` for this session (joined when an identical one is queued or running)."""
    timing.note(job=True)
    job = job_service().submit(task.work, label=task.label, kind=task.kind, owner=owner(), key=task.key,
                               expected_s=task.expected_s)
    # watched again, also when this session had left it (Cancel on a job another session shares leaves it
    # running for them; asking for the same again joins it anew)
    st.session_state.get("left_jobs", set()).discard(job.id)
    return job


def submit_enhance(label: str, request: Request, image: LoadedImage) -> Job | None:
    """Queue `request`; None when its result is cached. The request is checked here, once: a wrong one is an
    EnhanceError at once, not a failed job later; the job only plans and runs it."""
    if cached(request) is not None:
        return None
    from core.serve.tasks.enhance import enhance

    checked = engine.check_request(image, request, own=own_models())
    return submit(enhance(checked, dict(own_models()), label))


def submit_scoring(label: str, lr, reference, requests: list[Request], *, key, **score_options) -> Job:
    """Run and score `requests` on `lr` as one job; its result is the Scores table."""
    from core.serve.tasks.score import scoring

    return submit(scoring(label, lr, reference, requests, key=key, own=dict(own_models()), **score_options))


def submit_batch(files: list[tuple[str, bytes]], method: str, outscale: float) -> Job:
    """A batch as one job; over its budget it is refused in one line at once (an ImageError). Its result:
    (ResultsZip, rows); the rows so far are in its data."""
    from core.serve.tasks.batch import batch

    return submit(batch(files, method, outscale, dict(own_models())))


def submit_sweep(clean, methods: list[str], knob: str, base, measures: list[str], y_only: bool,
                 crop_border: int) -> Job:
    """A sweep; its steps cached for the session (a step run once is free again)."""
    from core.serve.tasks.sweep import sweep

    cache = st.session_state.setdefault("sweep_cache", {})
    return submit(sweep(clean, methods, knob, base, measures, y_only, crop_border, cache))


def submit_ranking(crop, scale: int, names: list[str], reference, budget_s: float, measure: str,
                   full_size: tuple[int, int]) -> Job:
    """Every network on the crop, fastest first, within the budget."""
    from core.serve.tasks.rank import ranking

    return submit(ranking(crop, scale, names, reference, budget_s, measure, full_size))


def submit_attribution(request, image: LoadedImage) -> Job:
    """The attribution as a job: progress per path step, Cancel between layers, kept across page switches."""
    from core.serve.tasks.attribute import attribution

    own = {name: m for name, m in own_models().items() if name in request.methods}
    request.check(image.width, image.height, own)  # a bad request is one line now, not a failed job later
    return submit(attribution(request, image.pixels, own))


def submit_training(images, config, checkpoint_dir, resume: bool = False) -> Job:
    from core.serve.tasks.train import training

    return submit(training(images, config, checkpoint_dir, resume))


def submit_video(clip_job, given, reference, folder, expected_s: float | None) -> Job:
    """A clip through its methods (`given`, `reference`: (name, bytes) of uploads, written to `folder`)."""
    from core.serve.tasks.video import video

    return submit(video(clip_job, given, reference, folder, expected_s))


def so_far(job: Job) -> SoFar | None:
    """A running enhance job's result part-way, when it has one."""
    return job.data.get("so_far") if job.state is State.RUNNING else None


def get(job_id: str | None) -> Job | None:
    return job_service().get(job_id)


# ---------------------------------------------------------------- watching
def describe(job: Job) -> tuple[float, str]:
    """(fraction for the bar, one line: where the job is)."""
    svc = job_service()
    if job.state is State.QUEUED:
        place = svc.place(job)
        if place:
            timing.note(place_shown=job.id)  # SRLAB_TIMING_LOG: the load test counts the waiting jobs shown a place
        end, start = (svc.wait_and_run_s(job), svc.starts_in_s(job)) if place else (None, None)
        when = (f", done in about {end:.0f} s" if end is not None else
                f", starts in about {start:.0f} s" if start is not None else "")
        if place and svc.others_ahead(job, owner()):
            return 0.0, (f"{job.label}: waiting, {_ordinal(place)} in line ({svc.running} running{when}). Other "
                         "people are using this server.")
        # Only this session's jobs ahead, or none: a job sits in line a moment before a worker takes it
        return 0.0, (f"{job.label}: waiting for your other job to finish{when}." if place and svc.running
                     else f"{job.label}: starting…")
    if job.state is State.RUNNING:
        left = job.time_left_s()
        what = f" ({job.message})" if job.message else ""
        slow = job.expected_s and job.elapsed_s > job.expected_s and left is None and job.fraction < 1.0
        return job.fraction, (f"{job.label}: {job.fraction:.0%}, {job.elapsed_s:.1f} s elapsed"
                              + (f", about {left:.0f} s left" if left is not None else
                                 f", slower than this machine's measurement ({job.expected_s:.0f} s)" if slow else "")
                              + what)
    return 1.0, f"{job.label}: {job.state.value}"


def cancel(job: Job) -> None:
    gone = job_service().cancel(job, owner())
    if not gone and not job.state.finished:
        st.session_state.setdefault("left_jobs", set()).add(job.id)


QUEUED_REDRAW_S = 2.0  # a place in line changes only when a job ends: thirty waiting tabs need not redraw often


def watch(job_ids: list[str], key: str, *, draws_so_far: bool = False, draw: Drawing | None = None) -> None:
    """Progress of this page's jobs, redrawn every REDRAW_S while one runs (QUEUED_REDRAW_S while all wait in
    line); the page reruns once when they have all ended, and, where it draws a result so far (`draws_so_far`:
    Enhance), when a tile more of it has landed. A page that draws none is not rerun per tile: it has nothing
    new to show, and a run long enough to be tiled would rerun it twice a second for all its minutes. `draw`:
    what the page shows of a job while it runs (Train's loss curve), redrawn with the progress."""
    left = st.session_state.get("left_jobs", set())
    jobs = [j for j in map(get, job_ids) if j is not None and j.id not in left]
    if not any(not j.state.finished for j in jobs):
        return  # (a job this session left goes on for another: nothing to watch here, outcome() says so)
    if draws_so_far:
        # this page run draws the tiles landed by now: the fragment below, run inline in this very run, must not
        # count them as new (it would rerun the app forever)
        drawn = st.session_state.setdefault("so_far_drawn", {})
        for job in jobs:
            if (part := so_far(job)) is not None:
                drawn[job.id] = part.done
    if any(j.state is State.RUNNING for j in jobs):
        _watch_running(tuple(job_ids), key, draws_so_far, draw)
    else:
        _watch_queued(tuple(job_ids), key, draws_so_far, draw)


@st.fragment(run_every=REDRAW_S)
def _watch_running(job_ids: tuple[str, ...], key: str, draws_so_far: bool = False, draw=None) -> None:
    with timing.timed("fragment_run", fragment="watch"):
        _draw_progress(job_ids, key, running=True, draws_so_far=draws_so_far, draw=draw)


@st.fragment(run_every=QUEUED_REDRAW_S)
def _watch_queued(job_ids: tuple[str, ...], key: str, draws_so_far: bool = False, draw=None) -> None:
    with timing.timed("fragment_run", fragment="watch"):
        _draw_progress(job_ids, key, running=False, draws_so_far=draws_so_far, draw=draw)


def _draw_progress(job_ids: tuple[str, ...], key: str, running: bool, draws_so_far: bool = False,
                   draw: Drawing | None = None) -> None:
    jobs = [j for j in map(get, job_ids) if j is not None]
    left = st.session_state.get("left_jobs", set())
    live = [j for j in jobs if not j.state.finished and j.id not in left]
    started = not running and any(j.state is State.RUNNING for j in live)
    drawn = st.session_state.setdefault("so_far_drawn", {})
    landed = draws_so_far and any((part := so_far(j)) is not None and drawn.get(j.id) != part.done for j in live)
    panel_missing = not st.session_state.get("panel_live") and bool(_unfinished())
    if not live or started or panel_missing or landed:
        st.rerun(scope="app")  # the results with the page around them; the faster redraw; the sidebar's panel;
        # the result so far, a tile more of it
    for job in live:
        fraction, text = describe(job)
        st.progress(fraction, text=text)
    if st.button("Cancel", key=f"cancel_{key}", help="Stops within 2 s (between two layers of the network) and "
                                                     "frees the server for the next job; a job another session "
                                                     "asked for too goes on for them."):
        for job in live:
            cancel(job)
        st.rerun(scope="app")
    for job in live if draw else ():
        draw(job)


def outcome(job_ids: list[str], cancelled: str | None = None) -> None:
    """After the jobs: one line for each that failed or was cancelled (a finished result draws itself);
    `cancelled`: what the page keeps of a cancelled job, where it keeps something (a training checkpoint)."""
    left = st.session_state.get("left_jobs", set())
    for job in filter(None, map(get, job_ids)):
        if job.id in left and not job.state.finished:
            st.info(f"{job.label}: cancelled for you; it goes on for the other session that asked for the same.")
        elif job.id in left and job.state is State.DONE:
            st.info(f"{job.label}: cancelled for you, but another session that asked for the same let it finish, "
                    "so its result is shown.")
        elif job.state is State.CANCELLED:
            st.warning(cancelled or f"{job.label}: cancelled. Nothing was kept; the server is free for the next job.")
        elif job.state is State.FAILED:
            st.error(f"{job.label} failed: {job.error}")


def follow(job_ids: str | list[str] | None, key: str, *, cancelled: str | None = None,
           draws_so_far: bool = False, draw: Drawing | None = None) -> Job | None:
    """A page's one call for its job(s): progress while they run (`watch`, with `draw` redrawn beside it), one
    line for each that failed or was cancelled (`outcome`); returns the (first) job, None when there is none
    (never submitted, or forgotten by a restarted server)."""
    ids = [job_ids] if isinstance(job_ids, str) else [i for i in job_ids or [] if i]
    found = [job for job in map(get, ids) if job is not None]
    if found:
        watch([j.id for j in found], key, draws_so_far=draws_so_far, draw=draw)
        outcome([j.id for j in found], cancelled)
    return found[0] if found else None


def _unfinished() -> list[Job]:
    left = st.session_state.get("left_jobs", set())
    return [j for j in job_service().jobs_of(owner(), finished=False) if j.id not in left]


def jobs_panel() -> None:
    """The sidebar's list of this session's queued and running jobs, on every page, each with Cancel. It redraws
    itself only while the session has such jobs (an idle tab costs the server nothing)."""
    mine = _unfinished()
    st.session_state.panel_live = bool(mine)
    if any(j.state is State.RUNNING for j in mine):  # as often as the page's own watcher: the two agree
        _panel_running()
    elif mine:
        _panel_queued()


@st.fragment(run_every=REDRAW_S)
def _panel_running() -> None:
    with timing.timed("fragment_run", fragment="panel"):
        _draw_panel(running=True)


@st.fragment(run_every=QUEUED_REDRAW_S)
def _panel_queued() -> None:
    with timing.timed("fragment_run", fragment="panel"):
        _draw_panel(running=False)


def _draw_panel(running: bool) -> None:
    mine = _unfinished()
    if not mine or (not running and any(j.state is State.RUNNING for j in mine)):
        st.rerun(scope="app")  # all ended (perhaps while another page is open): redraw it, and stop ticking;
        # or one has started: tick faster
    st.markdown("**Your jobs**")
    for job in mine:
        fraction, text = describe(job)
        st.progress(fraction, text=text)
        if st.button("Cancel", key=f"panel_cancel_{job.id}"):
            cancel(job)
            st.rerun(scope="app")


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def fetch_with_progress(group: str) -> str:
    """Download pinned weights as a job (bytes, speed, time left in its message); returns the job id."""
    from core.serve.tasks.fetch import fetch

    return submit(fetch(group)).id
