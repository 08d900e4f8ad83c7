"""Server-side timings for load tests: one JSON line per page run and per job, appended to SRLAB_TIMING_LOG
(off when empty). Measured in the server, so a load test can tell the server's time from the browsers'."""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager

from core import settings

_lock = threading.Lock()


def record(kind: str, **fields) -> None:
    path = settings.current().timing_log
    if not path:
        return
    line = json.dumps({"kind": kind, "t": round(time.time(), 3), **fields})
    with _lock, open(path, "a") as f:
        f.write(line + "\n")


@contextmanager
def timed(kind: str, **fields):
    """Record how long the block took (also when it ends by an exception, e.g. Streamlit's rerun)."""
    start = time.perf_counter()
    try:
        yield fields
    finally:
        record(kind, seconds=round(time.perf_counter() - start, 4), **fields)
