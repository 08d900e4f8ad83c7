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
        if (f := _files.get(path)) is None or f.closed:
            f = _files[path] = open(path, "a", buffering=1)  # line-buffered: a reader sees whole records
        f.write(line)


def note(**fields) -> None:
    """Add fields to the record of the `timed` block running in this thread (e.g. that a page run has a job)."""
    getattr(_current, "fields", {}).update(fields)


@contextmanager
def timed(kind: str, **fields):
    """Record how long the block took, also when it ends by an exception (Streamlit's stop and rerun: no
    Streamlit call is made here, since after a stop they raise again)."""
    start, cpu, outer = time.perf_counter(), time.thread_time(), getattr(_current, "fields", None)
    _current.fields = fields
    try:
        yield
    finally:
        _current.fields = outer
        # cpu_s: this thread's own CPU time; the rest of `seconds` it waited (for the GIL or a core)
        record(kind, seconds=round(time.perf_counter() - start, 4), cpu_s=round(time.thread_time() - cpu, 4),
               **fields)
