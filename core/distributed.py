"""Inference on a Ray cluster, for a class bigger than one machine (optional: `ray` is imported here only, and
only when SRLAB_RAY_ADDRESS or `--ray` asks for it). Without it the in-process queue runs every job.

Jobs travel as pixels and a `Request` and come back as pixels and statistics; a worker process keeps each
network it has loaded (core/networks.py caches modules per process), so a model loads once per worker. A task
whose worker dies is retried on another one (`max_retries`); folder outputs are written by the driver,
atomically, so a file is either absent or whole.
"""
from __future__ import annotations

import functools
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from core.engine import EnhanceResult, Request

RETRIES = 3
_lock = threading.Lock()
_connected: str | None = None
_ROOT = Path(__file__).resolve().parent.parent


class RayUnavailable(RuntimeError):
    """Ray is not installed or the cluster cannot be reached: one line for the user."""


def connect(address: str) -> None:
    """Join the cluster at `address` ("host:port"), or start one on this machine ("local"). Once per process."""
    global _connected
    with _lock:
        if _connected is not None:
            return
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
        try:
            if address == "local":
                ray.init(address="local", include_dashboard=False, log_to_driver=False, runtime_env=env,
                         _node_ip_address="127.0.0.1")
            else:  # on one machine (a test, a teacher's laptop) the head listens on loopback: so must we
                local = host in ("127.0.0.1", "localhost")
                ray.init(address=address, log_to_driver=False, runtime_env=env,
                         **({"_node_ip_address": "127.0.0.1"} if local else {}))
        except Exception as exc:
            raise RayUnavailable(f"cannot join the Ray cluster at {address}: {str(exc).splitlines()[0]}") from None
        _connected = address


@functools.lru_cache(maxsize=None)
def _remote(fn):
    """`fn` as a Ray task, retried on another worker when its worker dies (not when it raises)."""
    import ray

    return ray.remote(max_retries=RETRIES, retry_exceptions=False)(fn)


def _run_on_worker(pixels, request: Request) -> EnhanceResult:
    import ray

    from core.engine import run

    result = run(pixels, request)
    result.stats.notes.append(f"ran on the Ray cluster (node {ray.util.get_node_ip_address()}, worker process "
                              f"{os.getpid()})")
    return result


def submit(pixels: np.ndarray, request: Request):
    """Start `request` on the cluster; returns a Ray object reference."""
    return _remote(_run_on_worker).remote(pixels, request)


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
            ray.cancel(ref, force=True)  # a cancelled page stops its task: the worker is freed
        raise


def run(pixels: np.ndarray, request: Request) -> EnhanceResult:
    return wait_result(submit(pixels, request))


# ---------------------------------------------------------------- folders
@dataclass
class FileDone:
    source: Path
    output: Path | None
    error: str | None = None
    skipped: bool = False


def _enhance_file(data: bytes, name: str, request: Request, options) -> tuple[bytes | None, str]:
    """On a worker: (encoded output, summary) or (None, error): a bad file is reported, the batch goes on."""
    from core.engine import EnhanceError, run
    from core.imageio import ImageError, load_image
    from core.output import encode

    try:
        image = load_image(data, name)
        result = run(image, request)
        encoded, _ = encode(result.pixels, options, image.metadata, result.stats.summary)
        return encoded, result.stats.summary
    except (ImageError, EnhanceError, ValueError) as exc:
        return None, str(exc)


def run_folder(files: Iterable[Path], out_dir: Path, request: Request, options, out_name: Callable[[Path], str], *,
               max_in_flight: int = 4, on_file: Callable[[FileDone], None] | None = None) -> list[FileDone]:
    """Every file as a task, at most `max_in_flight` at once (backpressure: the driver reads files only as
    slots free up). Files whose output exists are skipped (a re-run continues); each output is written when
    its task ends, atomically."""
    import ray

    task = _remote(_enhance_file)
    out_dir.mkdir(parents=True, exist_ok=True)
    pending: dict = {}
    done: list[FileDone] = []

    def finish(item: FileDone) -> None:
        done.append(item)
        if on_file:
            on_file(item)

    def collect(ref) -> None:
        src, dest = pending.pop(ref)
        try:
            encoded, summary = ray.get(ref)
        except Exception as exc:  # the task failed on every retry (e.g. workers kept dying)
            finish(FileDone(src, None, f"{src.name}: {str(exc).splitlines()[0]}"))
            return
        if encoded is None:
            finish(FileDone(src, None, summary))
            return
        tmp = dest.with_name(f".{dest.name}.part")
        tmp.write_bytes(encoded)
        os.replace(tmp, dest)
        finish(FileDone(src, dest))

    for src in files:
        dest = out_dir / out_name(src)
        if dest.exists():
            finish(FileDone(src, dest, skipped=True))
            continue
        while len(pending) >= max_in_flight:
            ready, _ = ray.wait(list(pending), num_returns=1)
            collect(ready[0])
        try:
            data = src.read_bytes()
        except OSError as exc:
            finish(FileDone(src, None, f"{src}: cannot read the file ({exc.strerror})"))
            continue
        pending[task.remote(data, src.name, request, options)] = (src, dest)
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        collect(ready[0])
    return done
