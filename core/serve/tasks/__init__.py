"""What each kind of job computes, defined once: the app's job service, the CLI and Ray run the same tasks.

A `Task` is a plain function of its context plus what the service needs to queue it (kind, label, the key that
lets an identical request join a running one, this machine's expected seconds). The context offers
`step(fraction, message)`, `note(**live data)`, `drop(name)`, `expect(seconds)`, `check()`, `job_id`,
`waited_s` and `elapsed_s`: the service's `core.serve.jobs.Context`, or `Inline` when the CLI or a test runs a
task here and now. One module per kind: `enhance` (and the one-request step that scoring shares), `score`,
`sweep`, `rank`, `batch`, `train`, `fetch`. A page builds a task from its choices and submits it (ui/jobs.py); it
never writes a job's work.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

from core.pipeline.engine import Cancelled


@dataclass(frozen=True)
class Task:
    kind: str
    label: str
    work: Callable[[Any], Any]          # work(context) -> the job's result
    key: Hashable | None = None         # an identical task queued or running is joined, not run twice
    expected_s: float | None = None     # this machine's measurement, when known before it starts


@dataclass
class Inline:
    """A task's context when it runs here and now: progress to `on_step(fraction, message)` (which may raise
    Cancelled), live data kept in `data`."""
    on_step: Callable[[float, str], None] | None = None
    data: dict = field(default_factory=dict)
    expected_s: float | None = None
    job_id: str = "inline"
    waited_s: float = 0.0
    cancelled: bool = False
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def check(self) -> None:
        if self.cancelled:
            raise Cancelled

    def step(self, fraction: float, message: str | None = None) -> None:
        if self.on_step:
            self.on_step(fraction, message or "")
        self.check()

    def note(self, **data) -> None:
        self.data.update(data)
        self.check()

    def drop(self, name: str) -> None:
        self.data.pop(name, None)

    def expect(self, seconds: float | None) -> None:
        self.expected_s = seconds


def run_inline(task: Task, on_step: Callable[[float, str], None] | None = None) -> Any:
    """Run `task` in this thread (the CLI): the same computation the service runs for the app."""
    return task.work(Inline(on_step))
