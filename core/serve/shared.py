"""What every session of one app server shares, made once per process with its bounds from settings: the job
service (one queue slot per cluster CPU when jobs go to Ray), the finished results and their no-reference
descriptions. The pages reach them through ui/jobs.py; the tasks (core/serve/tasks/) fill them."""
from __future__ import annotations

import functools
import threading

from core import settings
from core.serve.cache import BoundedCache
from core.serve.jobs import JobService, replace_service, service

DESCRIPTIONS_BYTES = 20_000_000  # a few hundred bytes per result: bounded all the same
_lock = threading.Lock()


@functools.cache
def cluster() -> tuple[bool, str]:
    """(jobs go to Ray, what to tell the user): the cluster is joined once per process, when SRLAB_RAY_ADDRESS
    is set; an unreachable one is one line, and the jobs run here."""
    address = settings.current().ray_address
    if not address:
        return False, ""
    from core.serve import distributed

    try:
        distributed.connect(address)
    except distributed.RayUnavailable as exc:
        return False, f"{exc}. Jobs run on this server meanwhile."
    return True, f"Jobs run on the Ray cluster at {address} ({distributed.cpus()} CPUs)."


@functools.cache
def job_service() -> JobService:
    """The one service for every session: SRLAB_JOB_SLOTS jobs at once (on a cluster: one per CPU)."""
    with _lock:
        on_ray, _ = cluster()
        if on_ray:
            from core.serve import distributed

            replace_service(JobService(max(settings.current().job_slots, distributed.cpus())))
        return service()


@functools.cache
def results() -> BoundedCache:
    """Finished results of every session by request: (EnhanceResult, PNG bytes); SRLAB_RESULTS_CACHE_MB, least
    recently used out."""
    return BoundedCache(settings.current().results_cache_mb * 1_000_000)


@functools.cache
def descriptions() -> BoundedCache:
    """No-reference measures of (input, result) by request, made by the task that made the result, so the page
    run that first draws it only reads them."""
    return BoundedCache(DESCRIPTIONS_BYTES)


def forget() -> None:
    """Make each anew on next use (tests that change the settings these read)."""
    for made in (cluster, job_service, results, descriptions):
        made.cache_clear()
