"""What each kind of job computes, defined once in core: the app's job service runs these tasks.

A `Task` is a plain function of its context plus what the service needs to queue it (kind, label, the key that
lets an identical request join a running one, this machine's expected seconds). The context offers
`step(fraction, message)`, `note(**live data)`, `drop(name)`, `expect(seconds)`, `check()`, `job_id`,
`waited_s` and `elapsed_s` (the service's `core.serve.jobs.Context`). A task wraps a core function that the
CLI and Ray call too (`core/pipeline/batch_loop.run_batch`, `core/quality/attribution.attribute`,
`core/video/job.compare`…). One module per kind: `enhance` (and the one-request step that scoring shares), `score`,
`sweep`, `rank`, `batch`, `train`, `fetch`, `attribute`, `video`. A page builds a task from its choices and
submits it (ui/jobs.py); it never writes a job's work.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Generic, Hashable, TypeVar

if TYPE_CHECKING:
    from core.serve.jobs import Context

T = TypeVar("T")


@dataclass(frozen=True)
class Task(Generic[T]):
    """A job's work and what the service needs to queue it; `T`: the type of its result (`Job.result`)."""
    kind: str
    label: str
    work: Callable[[Context], T]        # work(context) -> the job's result
    key: Hashable | None = None         # an identical task queued or running is joined, not run twice
    expected_s: float | None = None     # this machine's measurement, when known before it starts
