"""Pages submit jobs to the service (core/serve/jobs.py) and watch them; they never run one. A page keeps only
job ids in the session; `watch()` is a fragment that redraws a job's progress twice a second and reruns the
page once the job has ended. A click, a page switch or a reload leaves the job running; only Cancel cancels."""
from __future__ import annotations

import uuid

import streamlit as st

from core import settings
from core.io.imageio import LoadedImage, encode_png, image_key
from core.pipeline import engine
from core.pipeline.engine import Request
from core.quality.metrics import indicators
from core.quality.ranking import expected_time
from core.runtime.backends import is_built
from core.serve import timing
from core.serve.cache import BoundedCache
from core.serve.jobs import Context, Job, JobService, State, replace_service
from core.serve.jobs import service as _service
from ui.compare import beside_input
from ui.slider import prepare_shown
from ui.state import method as method_of
from ui.state import own_models

REDRAW_S = 0.5


@st.cache_resource
def cluster() -> tuple[bool, str]:
    """(jobs go to Ray, what to tell the user): joined once per server when SRLAB_RAY_ADDRESS is set."""
    address = settings.current().ray_address
    if not address:
        return False, ""
    from core.serve import distributed

    try:
        distributed.connect(address)
    except distributed.RayUnavailable as exc:
        return False, f"{exc}. Jobs run on this server meanwhile."
    return True, f"Jobs run on the Ray cluster at {address} ({distributed.cpus()} CPUs)."


@st.cache_resource
def job_service() -> JobService:
    """One service for every session: SRLAB_JOB_SLOTS jobs at once (on a cluster: one per CPU)."""
    on_ray, _ = cluster()
    if on_ray:
        from core.serve import distributed

        replace_service(JobService(max(settings.current().job_slots, distributed.cpus())))
    return _service()


@st.cache_resource
def results() -> BoundedCache:
    """Finished results of every session by request (SRLAB_RESULTS_CACHE_MB; least recently used out)."""
    return BoundedCache(settings.current().results_cache_mb * 1_000_000)


def cached(request: Request):
    """(EnhanceResult, PNG bytes) for a request already run in this server, else None."""
    return results().get(request)


DESCRIBED_AT_ONCE_PIXELS = 1_000_000  # input and result together: ~1.5 s of no-reference measures on 2 cores


def described_at_once(*pixels) -> bool:
    """Whether these images are small enough to measure without asking (else a Measure button)."""
    return sum(p.shape[0] * p.shape[1] for p in pixels) <= DESCRIBED_AT_ONCE_PIXELS


@st.cache_resource
def descriptions() -> BoundedCache:
    """No-reference measures of (input, result) by request, made by the job that made the result, so the page
    run that first draws it only reads them (a few hundred bytes each; bounded all the same)."""
    return BoundedCache(20_000_000)


def owner() -> str:
    """This browser tab's id: kept in the URL (?s=…), so a reload finds its jobs again."""
    if "owner" not in st.session_state:
        st.session_state.owner = st.query_params.get("s") or uuid.uuid4().hex[:12]
    if st.query_params.get("s") != st.session_state.owner:
        st.query_params["s"] = st.session_state.owner
    return st.session_state.owner


# ---------------------------------------------------------------- enhancing
def _enhance_work(request: Request, image: LoadedImage, own: dict):
    """The job: plan (measuring this machine first if it never ran this network), run, keep the result, and
    make what drawing it needs (the slider's images, the no-reference measures): the page run only reads them."""

    def work(ctx: Context):
        def measuring(fraction: float) -> None:
            ctx.step(fraction, "measuring which backend is fastest on this machine (once per machine)")

        prepared = engine.prepare(image, request, own=own, on_step=measuring)
        ctx.expect(prepared.plan.expected_s)
        loads = prepared.method.native_scale is not None and not is_built(prepared.method, prepared.plan.backend)
        ctx.step(0.0, f"starting {request.method}" + (" (its first job in this server also loads it)" if loads else ""))
        running = f"running on {prepared.plan.label}"
        on_ray, _ = cluster()
        # SRLAB_TIMING_LOG: one record per run of a request (a joined request runs once), with its wait in line
        with timing.timed("job", method=request.method, request=f"{hash(request):x}", job_id=ctx.job.id,
                          waited_s=round(ctx.job.waited_s, 3)):
            if on_ray:
                from core.serve import distributed

                def on_wait(elapsed: float) -> None:  # no per-layer progress from a remote worker
                    expected = prepared.plan.expected_s
                    ctx.step(min(0.95, elapsed / expected) if expected else 0.0, "running on the cluster")

                result = distributed.wait_result(distributed.submit(image, request, own or None), REDRAW_S,
                                                 on_wait)
            else:
                result = engine.execute(prepared, on_step=lambda f: ctx.step(f, running))
        ctx.step(1.0, "preparing the view (the slider's images)")
        png = encode_png(result.pixels)
        prepare_shown(*(px for _, px in beside_input(prepared.pixels, request, result, prepared.method)))
        if described_at_once(prepared.pixels, result.pixels):  # the input as the request cropped it, the result
            ctx.step(1.0, "describing the result (no-reference measures)")
            descriptions().put(request, [indicators(prepared.pixels), indicators(result.pixels)])
        # last: any page run that finds the result (a click, a page switch) finds its views and measures made
        results().put(request, (result, png))
        return request  # the pixels live in the shared cache, bounded by bytes

    return work


def submit_enhance(label: str, request: Request, image: LoadedImage) -> Job | None:
    """Queue `request` (joined when an identical one is queued or running); None when its result is cached.
    The request is checked first, here: a wrong one is an EnhanceError at once, not a failed job later."""
    if cached(request) is not None:
        return None
    pixels = image.pixels
    height, width = (request.crop[3], request.crop[2]) if request.crop else pixels.shape[:2]
    engine.check(request, width, height, own=own_models())
    timing.note(job=True)
    expected = expected_time(method_of(request.method), height, width)  # known while it waits in line
    return _watched(job_service().submit(_enhance_work(request, image, dict(own_models())), label=label,
                                         kind="enhance", owner=owner(), key=("enhance", request),
                                         expected_s=expected))


def _watched(job: Job) -> Job:
    """A job this session asked for (again): watched, also when it had left it before (Cancel on a job another
    session shares leaves it running for them; asking for the same again joins it anew)."""
    st.session_state.get("left_jobs", set()).discard(job.id)
    return job


def run_here(ctx: Context, request: Request, image: LoadedImage, own: dict, start: float = 0.0,
             span: float = 1.0):
    """One request inside a job of several (a scoring, a batch): (result, PNG) from the shared cache, else run
    here and kept there; progress mapped onto [start, start + span] of the job."""
    if (hit := cached(request)) is not None:
        return hit
    prepared = engine.prepare(image, request, own=own, on_step=lambda f: ctx.step(start, f"{request.method}: "
                                                                                 "measuring the backends"))
    result = engine.execute(prepared, on_step=lambda f: ctx.step(start + span * f, request.method))
    done = (result, encode_png(result.pixels))
    results().put(request, done)
    return done


def submit_scoring(label: str, lr, reference, requests: list[Request], *, key, **score_options) -> Job:
    """Run and score `requests` on `lr` as one job (core.quality.scoring.score_methods); its result is the
    Scores table."""
    from core.quality.scoring import score_methods

    own = dict(own_models())

    def work(ctx: Context):
        done = [0]

        def runner(request: Request, image: LoadedImage):
            result, _ = run_here(ctx, request, image, own, done[0] / len(requests), 1 / len(requests))
            done[0] += 1
            return result

        return score_methods(lr, reference, requests, runner=runner, **score_options)

    return submit(work, label=label, kind="scoring", key=("scoring", key))


def submit_batch(files: list[tuple[str, bytes]], method: str, outscale: float) -> Job:
    """A batch as one job. Its headers are read here (nothing decoded): over the budget, it is refused in one
    line at once (an ImageError). The job then decodes one image at a time, adds each result to a zip on disk
    (bounded by SRLAB_BATCH_OUTPUT_MB) and keeps the rows done so far in its data, so they survive a page
    switch. Its result: (ResultsZip, rows)."""
    from core.io.batch import ResultsFull, ResultsZip, open_batch
    from core.io.imageio import ImageError

    batch = open_batch(files)
    own = dict(own_models())

    def work(ctx: Context):
        zipped, rows, full = ResultsZip(), [], ""
        for i, member in enumerate(batch):
            row = {"file": member.name, "method": method, "scale": outscale}
            try:
                if full:
                    raise ImageError(f"{member.name}: not done, results.zip was full")
                image = member.load()  # decoded now, released before the next one
                request = Request.make(method, outscale=outscale, image_key=image_key(image.pixels))
                result, png = run_here(ctx, request, image, own, i / len(batch), 1 / len(batch))
                s = result.stats
                zipped.add(f"{member.name.rsplit('.', 1)[0]}_{method.replace(':', '_')}_x{outscale:g}.png", png)
                row.update({"input": f"{s.input_size[0]}x{s.input_size[1]}",
                            "output": f"{s.output_size[0]}x{s.output_size[1]}", "what was done": s.summary,
                            "backend": s.backend, "seconds": round(s.elapsed_s, 3), "error": ""})
            except ResultsFull as exc:
                full = row["error"] = str(exc)
            except (ImageError, engine.EnhanceError) as exc:  # one bad image must not stop the batch
                row["error"] = str(exc)
            except BaseException:
                zipped.close()  # a cancelled batch leaves no file behind
                raise
            image = result = png = None
            rows.append(row)
            ctx.note(rows=list(rows))
            ctx.step((i + 1) / len(batch), f"{i + 1} of {len(batch)} images")
        zipped.finish(rows)
        return zipped, rows

    return submit(work, label=f"Batch of {len(batch)} image(s)", kind="batch")


def submit_sweep(clean, methods: list[str], knob: str, base, measures: list[str], y_only: bool,
                 crop_border: int) -> Job:
    """core.quality.sweep as a job; its steps cached for the session (a step run once is free again)."""
    from core.quality.sweep import sweep

    cache = st.session_state.setdefault("sweep_cache", {})

    def work(ctx: Context):
        return sweep(clean, methods, knob, base=base, metrics=measures, y_only=y_only, crop_border=crop_border,
                     cache=cache, on_step=ctx.step)

    return submit(work, label=f"Sweep over {knob.replace('_', ' ')}", kind="sweep",
                  key=("sweep", image_key(clean), tuple(methods), knob, base, tuple(measures), y_only, crop_border))


def submit_ranking(crop, scale: int, names: list[str], reference, budget_s: float, measure: str,
                   full_size: tuple[int, int]) -> Job:
    """core.quality.ranking.try_networks as a job: every network on the crop, fastest first, within the budget."""
    from core.quality.ranking import try_networks

    def work(ctx: Context):
        ctx.expect(budget_s)
        return try_networks(crop, scale, names, reference=reference, budget_s=budget_s, measure=measure,
                            full_size=full_size, on_step=ctx.step)

    return submit(work, label=f"Trying {len(names)} networks", kind="ranking", expected_s=budget_s,
                  key=("ranking", image_key(crop), scale, tuple(names), budget_s, measure,
                       None if reference is None else image_key(reference)))


def submit(work, *, label: str, kind: str, key=None, expected_s: float | None = None) -> Job:
    """Any other long action as a job of this session."""
    timing.note(job=True)
    return _watched(job_service().submit(work, label=label, kind=kind, owner=owner(), key=key,
                                         expected_s=expected_s))


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
        end, start = svc.wait_and_run_s(job), svc.starts_in_s(job)
        when = (f", done in about {end:.0f} s" if end is not None else
                f", starts in about {start:.0f} s" if start is not None else "")
        return 0.0, (f"{job.label}: waiting, {_ordinal(place)} in line ({svc.running} running{when}). Other "
                     "people are using this server." if place else f"{job.label}: starting…")
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


def watch(job_ids: list[str], key: str) -> None:
    """Progress of this page's jobs, redrawn every REDRAW_S while one runs (QUEUED_REDRAW_S while all wait in
    line); the page reruns once when they have all ended."""
    left = st.session_state.get("left_jobs", set())
    jobs = [j for j in map(get, job_ids) if j is not None and j.id not in left]
    if not any(not j.state.finished for j in jobs):
        return  # (a job this session left goes on for another: nothing to watch here, outcome() says so)
    if any(j.state is State.RUNNING for j in jobs):
        _watch_running(tuple(job_ids), key)
    else:
        _watch_queued(tuple(job_ids), key)


@st.fragment(run_every=REDRAW_S)
def _watch_running(job_ids: tuple[str, ...], key: str) -> None:
    with timing.timed("fragment_run", fragment="watch"):
        _draw_progress(job_ids, key, running=True)


@st.fragment(run_every=QUEUED_REDRAW_S)
def _watch_queued(job_ids: tuple[str, ...], key: str) -> None:
    with timing.timed("fragment_run", fragment="watch"):
        _draw_progress(job_ids, key, running=False)


def _draw_progress(job_ids: tuple[str, ...], key: str, running: bool) -> None:
    jobs = [j for j in map(get, job_ids) if j is not None]
    left = st.session_state.get("left_jobs", set())
    live = [j for j in jobs if not j.state.finished and j.id not in left]
    started = not running and any(j.state is State.RUNNING for j in live)
    panel_missing = not st.session_state.get("panel_live") and bool(_unfinished())
    if not live or started or panel_missing:
        st.rerun(scope="app")  # the results with the page around them; the faster redraw; the sidebar's panel
    for job in live:
        fraction, text = describe(job)
        st.progress(fraction, text=text)
    if st.button("Cancel", key=f"cancel_{key}", help="Stops within 2 s (between two layers of the network) and "
                                                     "frees the server for the next job; a job another session "
                                                     "asked for too goes on for them."):
        for job in live:
            cancel(job)
        st.rerun(scope="app")


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
    from core.weights.fetch import FetchError, fetch

    def work(ctx: Context):
        def on_bytes(done: int, total: int | None, speed: float) -> None:
            left = f", about {(total - done) / speed:.0f} s left" if total and speed > 0 else ""
            of = f" of {total / 1e6:.0f} MB" if total else ""
            ctx.step(done / total if total else 0.0, f"{done / 1e6:.0f} MB{of}, {speed / 1e6:.1f} MB/s{left}")

        try:
            return fetch(group, on_bytes=on_bytes)
        except FetchError as exc:
            raise RuntimeError(f"the weights could not be fetched: {exc}") from None

    return submit(work, label="Fetching the face weights", kind="fetch", key=("fetch", group)).id
