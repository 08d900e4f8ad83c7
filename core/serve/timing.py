"""Server-side timings for load tests: one JSON line per page run and per job, appended to SRLAB_TIMING_LOG
(off when empty). Measured in the server, so a load test can tell the server's time from the browsers'."""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager

from core import settings

_lock = threading.Lock()
_current = threading.local()  # the fields of the block running in this thread (a Streamlit run has its own)


_files: dict[str, object] = {}  # path -> its file, kept open: one write per record (opening per record was
# three GIL hand-offs that a loaded server's page runs waited on)


def record(kind: str, **fields) -> None:
    path = settings.current().timing_log
    if not path:
        return
    line = json.dumps({"kind": kind, "t": round(time.time(), 3), **fields}) + "\n"
    with _lock:
        if (f := _files.get(path)) is None:
            f = _files[path] = open(path, "a", buffering=1)  # line-buffered: a reader sees whole records
        f.write(line)


def note(**fields) -> None:
    """Add fields to the record of the `timed` block running in this thread (e.g. that a page run has a job)."""
    current = getattr(_current, "fields", None)  # None outside a timed block (also after one ended here)
    if current is not None:
        current.update(fields)


def _waited_for_a_core_s() -> float:
    """This thread's time so far runnable but not running (Linux schedstat), 0 where it cannot be read."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


@contextmanager
def timed(kind: str, **fields):
    """Record how long the block took, also when it ends by an exception (Streamlit's stop and rerun: no
    Streamlit call is made here, since after a stop they raise again)."""
    if not settings.current().timing_log:
        yield
        return
    start, cpu, runq = time.perf_counter(), time.thread_time(), _waited_for_a_core_s()
    outer = getattr(_current, "fields", None)
    _current.fields = fields
    try:
        yield
    finally:
        _current.fields = outer
        # cpu_s: this thread's own CPU time; runq_s: its wait for a core; the rest of `seconds` it waited for
        # the GIL, a lock or I/O
        record(kind, seconds=round(time.perf_counter() - start, 4), cpu_s=round(time.thread_time() - cpu, 4),
               runq_s=round(_waited_for_a_core_s() - runq, 4), **fields)
