"""Running a `Request` from a page: the process-wide results cache and job queue, a progress bar with an
honest time left, and a Cancel that stops the job within a layer of the network."""
from __future__ import annotations

import time

import streamlit as st

from core import settings
from core.io.imageio import LoadedImage, encode_png
from core.pipeline import engine
from core.pipeline.engine import Request
from core.serve import timing
from core.serve.cache import BoundedCache
from core.serve.jobs import JobQueue

UPDATE_EVERY_S = 0.3  # progress redraws; each redraw is also where a pressed Cancel stops the job


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
    import ray

    return True, f"Jobs run on the Ray cluster at {address} ({ray.cluster_resources().get('CPU', 0):.0f} CPUs)."


@st.cache_resource
def job_queue() -> JobQueue:
    """One queue for every session: SRLAB_JOB_SLOTS jobs run at once (on a cluster: one per CPU), the others wait
    in line and see their place."""
    on_ray, _ = cluster()
    if on_ray:
        import ray

        return JobQueue(max(settings.current().job_slots, int(ray.cluster_resources().get("CPU", 1))))
    return JobQueue()


@st.cache_resource
def results() -> BoundedCache:
    """Finished results of every session by request (SRLAB_RESULTS_CACHE_MB; least recently used out)."""
    return BoundedCache(settings.current().results_cache_mb * 1_000_000)


def cached(request: Request):
    """(EnhanceResult, PNG bytes) for a request already run in this server, else None."""
    return results().get(request)


def _cancel(label: str) -> None:
    st.session_state.cancelled = label


def run_job(label: str, request: Request, image: LoadedImage):
    """Run `request` on `image` once per server (cached), waiting for a slot in the FIFO queue."""
    if (hit := cached(request)) is not None:
        return hit
    st.session_state.pop("cancelled", None)
    own = st.session_state.get("user_models", {})
    with st.spinner("Loading the network (once per server; the first time on a machine it also measures which "
                    "CPU backend is fastest)…"):
        prepared = engine.prepare(image, request, own=own)
    expected = prepared.plan.expected_s
    about = f" (about {expected:.0f} s on this machine)" if expected else ""
    bar = st.progress(0.0, text=f"{label}: queued{about}")
    cancel = st.empty()
    # Cancel reruns the page; Streamlit stops this run at its next redraw, raising inside the network.
    cancel.button("Cancel", key=f"cancel_{label}", on_click=_cancel, args=(label,))
    queue = job_queue()

    def waiting(place: int) -> None:
        bar.progress(0.0, text=f"{label}: waiting, {_ordinal(place)} in line ({queue.running} job running). "
                               "Other people are using this server.")

    queued_at = time.perf_counter()
    timing.note(job=True)
    with queue.slot(on_wait=waiting), timing.timed("job", method=request.method):
        start = time.perf_counter()
        timing.note(waited_s=round(start - queued_at, 4))
        shown = [0.0]

        def on_step(fraction: float) -> None:
            now = time.perf_counter()
            if now - shown[0] < UPDATE_EVERY_S and fraction < 1:
                return
            shown[0] = now
            elapsed = now - start
            if fraction > 0.1 or not expected:
                left = elapsed / max(fraction, 1e-3) * (1 - fraction)
            else:  # early on, this machine's measurement is the better guess
                left = max(0.0, expected - elapsed)
            bar.progress(min(1.0, fraction), text=f"{label}: {fraction:.0%}, {elapsed:.1f} s elapsed, "
                                                  f"about {left:.0f} s left")

        on_ray, why = cluster()
        if on_ray:  # no per-layer progress from a remote worker: this machine's estimate, then "finishing"
            from core.serve import distributed

            ref = distributed.submit(image, request, own)

            def on_wait(elapsed: float) -> None:  # each redraw is also where a pressed Cancel stops the task
                if expected:
                    on_step(min(0.95, elapsed / expected))
                else:
                    bar.progress(0.0, text=f"{label}: running on the cluster, {elapsed:.0f} s")

            result = distributed.wait_result(ref, UPDATE_EVERY_S, on_wait)
        else:
            if why:
                st.caption(why)
            result = engine.execute(prepared, on_step=on_step)
    cancel.empty()
    bar.empty()  # the result below says how long it took and on what
    png = encode_png(result.pixels)
    results().put(request, (result, png))
    return result, png


def show_cancelled() -> None:
    if label := st.session_state.pop("cancelled", None):
        st.warning(f"{label}: cancelled. Nothing was kept; the server is free for the next job.")


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def fetch_with_progress(group: str) -> None:
    """Download pinned weights with a progress bar (bytes, speed, time left); the page reloads when done."""
    from core.weights.fetch import FetchError, fetch

    bar = st.progress(0.0, text="Connecting…")

    def on_bytes(done: int, total: int | None, speed: float) -> None:
        left = f", about {(total - done) / speed:.0f} s left" if total and speed > 0 else ""
        of = f" of {total / 1e6:.0f} MB" if total else ""
        bar.progress(min(1.0, done / total) if total else 0.0,
                     text=f"{done / 1e6:.0f} MB{of}, {speed / 1e6:.1f} MB/s{left}")

    try:
        fetch(group, on_bytes=on_bytes)
    except FetchError as exc:
        bar.empty()
        st.error(f"The weights could not be fetched: {exc}")
        return
    bar.empty()
    st.rerun()
