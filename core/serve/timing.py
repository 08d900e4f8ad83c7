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


def record(kind: str, **fields) -> None:
    path = settings.current().timing_log
    if not path:
        return
    line = json.dumps({"kind": kind, "t": round(time.time(), 3), **fields})
    with _lock, open(path, "a") as f:
        f.write(line + "\n")


def note(**fields) -> None:
    """Add fields to the record of the `timed` block running in this thread (e.g. that a page run has a job)."""
    getattr(_current, "fields", {}).update(fields)


@contextmanager
def timed(kind: str, **fields):
    """Record how long the block took, also when it ends by an exception (Streamlit's stop and rerun: no
    Streamlit call is made here, since after a stop they raise again)."""
    start, outer = time.perf_counter(), getattr(_current, "fields", None)
    _current.fields = fields
    try:
        yield
    finally:
        _current.fields = outer
        record(kind, seconds=round(time.perf_counter() - start, 4), **fields)
