"""Inference on a Ray cluster, for a class bigger than one machine (optional: `ray` is imported here only, and
only when SRLAB_RAY_ADDRESS or `--ray` asks for it). Without it the in-process job service runs every job.

Jobs travel as pixels and a `Request` (and, for a session's own model, the model itself) and come back as
pixels and statistics; a worker process keeps each built-in network it has loaded (core/methods/network.py
caches modules per process), so a model loads once per worker. A task whose worker dies is retried on
another one (`max_retries`); a batch's sources (images, clips) run as tasks of core/pipeline/batch_loop.py's one loop
(`RayPool`), their outputs written by the driver.
"""
from __future__ import annotations

import functools
import os
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Callable

import numpy as np

from core import settings
from core.pipeline.engine import EnhanceResult, Request

RETRIES = 3
GCS_PATIENCE_S = 600
_lock = threading.Lock()
_connected: str | None = None
_ROOT = Path(__file__).resolve().parent.parent.parent


class RayUnavailable(RuntimeError):
    """Ray is not installed or the cluster cannot be reached: one line for the user."""


def connect(address: str) -> None:
    """Join the cluster at `address` ("host:port"), or start one on this machine ("local"). Once per process."""
    global _connected
    with _lock:
        if _connected is not None:
            return
        # A head starved of CPU (a class's browsers on the server's own cores) may not answer for a while; Ray's
        # default, 60 s, then aborts this process, which is the app server: wait longer before giving up.
        os.environ.setdefault("RAY_gcs_rpc_server_reconnect_timeout_s", str(GCS_PATIENCE_S))
        if (Path.home() / ".ray" / "auth_token").is_file():  # heads made here require the token; clients opt in
            os.environ.setdefault("RAY_AUTH_MODE", "token")  # (read when ray is imported)
        try:
            import ray
        except ImportError:
            raise RayUnavailable("Ray is not installed here (pip install -r requirements.txt installs it)") from None
        if address != "local":
            host, _, port = address.rpartition(":")
            try:  # ray.init waits a long time for an absent head; say so within seconds instead
                socket.create_connection((host or "127.0.0.1", int(port)), timeout=3).close()
            except (OSError, ValueError):
                raise RayUnavailable(f"cannot reach the Ray cluster at {address} (is `ray start --head` running "
                                     "there?); running in this process instead is the default") from None
        # workers import `core` from this checkout (same path on every lab PC, see the README)
        env = {"env_vars": {"PYTHONPATH": str(_ROOT)}}
        if address == "local":
            options = dict(address="local", include_dashboard=False, _node_ip_address="127.0.0.1")
        else:  # on one machine (a test, a teacher's laptop) the head listens on loopback: so must we
            local = host in ("127.0.0.1", "localhost")
            options = dict(address=address, **({"_node_ip_address": "127.0.0.1"} if local else {}))
        error = _init_in_keeper_thread(lambda: ray.init(log_to_driver=False, runtime_env=env, **options))
        if error is not None:
            raise RayUnavailable(f"cannot join the Ray cluster at {address}: {str(error).splitlines()[0]}")
        _connected = address


def _init_in_keeper_thread(init: Callable[[], object]) -> BaseException | None:
    """Run `init` (ray.init) on a thread that lives as long as the process, and return its error, if any. A
    local head's processes are started with PR_SET_PDEATHSIG, which Linux ties to the *thread* that started
    them: started from a page run's thread, the GCS and raylet were killed when that page run ended."""
    ready, outcome = threading.Event(), []

    def keep() -> None:
        try:
            init()
        except Exception as exc:
            outcome.append(exc)
            ready.set()
            return
        ready.set()
        threading.Event().wait()  # never returns: the head's processes live while this thread does

    threading.Thread(target=keep, name="srlab-ray-keeper", daemon=True).start()
    ready.wait()
    return outcome[0] if outcome else None


def cpus() -> int:
    import ray

    return int(ray.cluster_resources().get("CPU", 1))


@functools.lru_cache(maxsize=None)
def _remote(fn):
    """`fn` as a Ray task, retried on another worker when its worker dies (not when it raises)."""
    import ray

    return ray.remote(max_retries=RETRIES, retry_exceptions=False)(fn)


def _run_on_worker(pixels, request: Request, own: Mapping | None = None) -> EnhanceResult:
    import ray

    from core.pipeline.engine import run
    from core.serve.jobs import lower_priority

    # as in the app's own workers: on a machine shared with the app server (a local cluster) its page runs and
    # Ray's own services come first
    lower_priority(settings.current().job_nice)

    result = run(pixels, request, own=own)
    result.stats.notes.append(f"ran on the Ray cluster (node {ray.util.get_node_ip_address()}, worker process "
                              f"{os.getpid()})")
    return result


def submit(pixels: np.ndarray, request: Request, own: Mapping | None = None):
    """Start `request` on the cluster; returns a Ray object reference. A session's own model travels with it."""
    return _remote(_run_on_worker).remote(pixels, request, own)


def wait_result(ref, poll_s: float = 0.3, on_wait: Callable[[float], None] | None = None) -> EnhanceResult:
    """The result of `ref`; `on_wait(elapsed)` every `poll_s` may raise to cancel, which cancels the task."""
    import ray

    start = time.monotonic()
    try:
        while True:
            done, _ = ray.wait([ref], timeout=poll_s)
            if done:
                return ray.get(ref)
            if on_wait:
                on_wait(time.monotonic() - start)
    except BaseException:
        if not ray.wait([ref], timeout=0)[0]:
            ray.cancel(ref, force=True)  # a cancelled job stops its task: the worker is freed
        raise


def run(pixels: np.ndarray, request: Request, own: Mapping | None = None) -> EnhanceResult:
    return wait_result(submit(pixels, request, own))


class RayPool:
    """The batch loop's sources (core/pipeline/batch_loop.py) as Ray tasks, at most `max_in_flight` on the cluster
    at once: a source's bytes travel with its work (the cluster need not share the driver's disk) and its outputs
    come back as bytes."""

    def __init__(self, max_in_flight: int = 4):
        self.max_in_flight = max_in_flight

    def submit(self, source):
        data = source.read()
        data = data.read_bytes() if isinstance(data, Path) else data
        return _remote(_run_work).remote(source.work.ship(), data, source.name, source.out_name)

    def wait_one(self, pending):
        import ray

        return ray.wait(list(pending), num_returns=1)[0][0]

    def get(self, ref):
        import ray

        return ray.get(ref)

    def release(self, ref) -> None:
        pass


def _run_work(work, data: bytes, name: str, out_name: str):
    """One source on a worker, through the batch's one error policy, in a scratch folder there; its outputs back
    as bytes."""
    import tempfile

    from core.pipeline.batch_loop import attempt
    from core.serve.jobs import lower_priority

    lower_priority(settings.current().job_nice)  # as in the app's own workers (see _run_on_worker)
    with tempfile.TemporaryDirectory(prefix="srlab-work-") as scratch:
        outputs, stats = attempt(work, data, name, out_name, Path(scratch))
        if outputs is not None:
            outputs = {k: v.read_bytes() if isinstance(v, Path) else v for k, v in outputs.items()}
    return outputs, stats


def run_folder(files, out_dir: Path, request: Request, options, out_name, *, max_in_flight: int = 4,
               on_file=None, own: Mapping | None = None):
    """A folder as Ray tasks: core/pipeline/batch_loop.py's loop on a RayPool."""
    from core.pipeline.batch_loop import run_folder as loop

    return loop(files, out_dir, request, options, out_name, pool=RayPool(max_in_flight), own=own, on_file=on_file)
