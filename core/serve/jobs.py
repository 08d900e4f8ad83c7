"""The job service: every long action (an enhance, a scoring of N methods, a batch, a training run, a backend
measurement, a weights fetch) is submitted here and runs on a worker thread that no page run owns. A page keeps
only job ids and redraws from the handle; a click, a page switch or a second tab leaves the job running. Only
`cancel` cancels.

- FIFO: `slots` jobs run at once (SRLAB_JOB_SLOTS; one per CPU on a Ray cluster), the others wait in line and
  know their place.
- An identical request already queued or running is joined (`key`), not run twice; each session that joined
  is a watcher, and the job is cancelled only when the last watcher cancels it.
- Cancel stops a queued job at once and a running one at its next `step()` (between two layers of a network:
  within 2 s), freeing the slot.
- Finished jobs are kept for a while (bounded per owner and in all) so a page coming back can show the result.
- A session that is gone (its tab closed: not `seen` for SRLAB_GONE_AFTER_S) has its queued and running jobs
  cancelled (`cancel_gone`), unless a session still here joined them; an owner never seen (the CLI, a test)
  is never taken for gone.
"""
from __future__ import annotations

import enum
import itertools
import os
import sys
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

from core import settings
from core.pipeline.engine import Cancelled
from core.serve import timing


class State(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (State.DONE, State.FAILED, State.CANCELLED)


OWN_PACE_AFTER_S = 1.0  # a job's own pace counts against the measurement once it has run this long
OVERDUE_S = 0.5  # less than this left by its own pace, and no step since: the pace no longer says how long


@dataclass
class Job:
    """The handle a page watches. `fraction`, `message`, `data` move as the worker reports; `result` or `error`
    when it ends. Read it from any thread; only the service and the job's own context write it."""
    id: str
    label: str
    kind: str
    key: Hashable | None
    state: State = State.QUEUED
    fraction: float = 0.0
    message: str = ""
    data: dict = field(default_factory=dict)      # live data for watchers (a loss curve, files done so far)
    expected_s: float | None = None               # this machine's measurement, when the job knows it
    submitted_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    finished_at: float | None = None
    result: Any = None
    error: str = ""
    watchers: set = field(default_factory=set)
    cancel_requested: bool = False
    moved_at: float | None = None                 # when `fraction` last moved
    paced_from: float | None = None               # when the part that `fraction` and `expected_s` measure began

    @property
    def done(self) -> bool:
        """Finished with a result."""
        return self.state is State.DONE

    @property
    def cancelled(self) -> bool:
        return self.state is State.CANCELLED

    @property
    def stopped(self) -> bool:
        """Ended without its whole result: cancelled or failed."""
        return self.state in (State.CANCELLED, State.FAILED)

    @property
    def elapsed_s(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.monotonic()) - self.started_at

    @property
    def waited_s(self) -> float:
        return (self.started_at or time.monotonic()) - self.submitted_at

    def time_left_s(self) -> float | None:
        """From this machine's measurement early on, then from the job's own progress (never another's run); its
        own progress at once where it is over 2x off the measurement (made, or now running, on a busy machine).
        Its own pace is the one it had at its last step, less the time since: a job stuck at 90 % that its pace
        said would end in 1 s says nothing (None) once that second has passed, not "about 1 s left" for 5 s."""
        if self.state is not State.RUNNING or self.fraction >= 1.0:
            return None  # (at 1.0 what is left is drawing the result: no time to promise)
        now = time.monotonic()
        begun = self.paced_from or self.started_at or now  # (a first run's backend measurement is not paced)
        elapsed, done = now - begun, self.fraction
        own = None
        if done > 0.02:
            moved = self.moved_at if self.moved_at is not None else now
            own = (moved - begun) / done * (1 - done) - (now - moved)
            own = own if own >= OVERDUE_S else None  # past what its pace allowed: no promise
        if self.expected_s and done <= 0.1 and elapsed < self.expected_s:
            measured = self.expected_s - elapsed
            if own is None or elapsed < OWN_PACE_AFTER_S or 0.5 <= own / measured <= 2:
                return measured
        return own  # None: too early to say


class Context:
    """What a job's work function gets: report progress, find out it was cancelled."""

    def __init__(self, job: Job, service: "JobService"):
        self.job, self._service = job, service

    def check(self) -> None:
        if self.job.cancel_requested:
            raise Cancelled

    def step(self, fraction: float, message: str | None = None) -> None:
        """Progress 0…1 (and what is happening); raises Cancelled when the job was cancelled."""
        fraction = min(1.0, max(0.0, fraction))
        if fraction != self.job.fraction:
            self.job.moved_at = time.monotonic()
        self.job.fraction = fraction
        if message is not None:
            self.job.message = message
        self.check()

    def note(self, **data) -> None:
        """Live data for the watchers (a loss curve, files done so far); raises Cancelled like `step`."""
        self.job.data.update(data)
        self.check()

    def drop(self, name: str) -> None:
        """Forget a piece of live data (a finished job is kept a while: not its large pictures so far)."""
        self.job.data.pop(name, None)

    def expect(self, seconds: float | None) -> None:
        """The rest of the job takes about `seconds` (this machine's measurement), from now: its bar and its own
        pace start here (what ran before, such as measuring the backends, does not count toward either)."""
        self.job.expected_s = seconds
        self.job.paced_from, self.job.fraction, self.job.moved_at = time.monotonic(), 0.0, None

    @property
    def job_id(self) -> str:
        return self.job.id

    @property
    def waited_s(self) -> float:
        return self.job.waited_s

    @property
    def elapsed_s(self) -> float:
        return self.job.elapsed_s


Work = Callable[[Context], Any]
_ids = itertools.count(1)


class JobService:
    def __init__(self, slots: int | None = None, keep_finished: int = 100, keep_per_owner: int = 8):
        self.slots = max(1, settings.current().job_slots if slots is None else slots)
        self.keep_finished, self.keep_per_owner = keep_finished, keep_per_owner
        self._lock = threading.Condition()
        self._line: deque[tuple[Job, Work]] = deque()
        self._jobs: OrderedDict[str, Job] = OrderedDict()  # every job still known, oldest first
        self._active: dict[Hashable, Job] = {}              # key → queued or running job with that key
        self._running = 0
        self._seen: dict[Hashable, float] = {}              # owner → when its session was last known to be there
        self._workers = [threading.Thread(target=self._worker, name=f"srlab-job-{i}", daemon=True)
                         for i in range(self.slots)]
        for w in self._workers:
            w.start()

    # ---- what pages call
    def submit(self, work: Work, *, label: str, kind: str, owner: Hashable, key: Hashable | None = None,
               expected_s: float | None = None) -> Job:
        """Queue `work(context)`; an identical job (same `key`) already queued or running is joined instead."""
        with self._lock:
            if key is not None and (job := self._active.get(key)) is not None:
                job.watchers.add(owner)
                return job
            job = Job(id=f"j{next(_ids)}", label=label, kind=kind, key=key, expected_s=expected_s, watchers={owner})
            self._jobs[job.id] = job
            if key is not None:
                self._active[key] = job
            self._line.append((job, work))
            self._lock.notify_all()
            return job

    def get(self, job_id: str | None) -> Job | None:
        return self._jobs.get(job_id) if job_id else None

    def place(self, job: Job) -> int:
        """1 = next in line; 0 when it is not waiting."""
        with self._lock:
            for i, (waiting, _) in enumerate(self._line):
                if waiting is job:
                    return i + 1
        return 0

    def others_ahead(self, job: Job, owner: Hashable) -> int:
        """How many of the jobs running, or ahead of `job` in line, are not `owner`'s: 0 means nobody else is
        using the server (the job only waits for `owner`'s other jobs, or for a worker to pick it up)."""
        with self._lock:
            ahead = [j for j in self._jobs.values() if j.state is State.RUNNING]
            for waiting, _ in self._line:
                if waiting is job:
                    break
                ahead.append(waiting)
            return sum(1 for j in ahead if owner not in j.watchers)

    def starts_in_s(self, job: Job) -> float | None:
        """For a waiting job: about when a slot frees for it — the running jobs' time left, then each job ahead
        in line its expected time, on `slots` slots; None when one of those is not known."""
        with self._lock:
            running = [j for j in self._jobs.values() if j.state is State.RUNNING]
            ahead = []
            for waiting, _ in self._line:
                if waiting is job:
                    break
                ahead.append(waiting)
            else:
                return None  # not waiting
        free = [0.0] * max(0, self.slots - len(running))
        for j in running:
            if (left := j.time_left_s()) is None:
                return None
            free.append(left)
        for j in ahead:
            if not j.expected_s:
                return None
            free.sort()
            free[0] += j.expected_s
        return min(free) if free else None

    def wait_and_run_s(self, job: Job) -> float | None:
        """A waiting job's time to its end: when a slot frees for it (`starts_in_s`) plus its own expected time;
        None when either is not known."""
        start = self.starts_in_s(job)
        return None if start is None or not job.expected_s else start + job.expected_s

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return len(self._line)

    def jobs_of(self, owner: Hashable, *, finished: bool = True) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if owner in j.watchers and (finished or not j.state.finished)]

    def cancel(self, job: Job | str, owner: Hashable | None = None) -> bool:
        """Cancel for `owner`: when others joined the same job it goes on for them and `owner` stops watching;
        when `owner` is the last (or no owner is given) the job is cancelled — removed from the line at once, or
        stopped at its next step — and `owner` still sees it end as cancelled. True when the job will stop."""
        with self._lock:
            job = self._jobs.get(job) if isinstance(job, str) else job
            if job is None or job.state.finished:
                return False
            if owner is not None and job.watchers - {owner}:
                job.watchers.discard(owner)
                return False
            job.cancel_requested = True
            for i, (waiting, _) in enumerate(self._line):
                if waiting is job:
                    del self._line[i]
                    self._finish(job, State.CANCELLED)
                    break
            return True

    def seen(self, owner: Hashable) -> None:
        """`owner`'s session is there now (a page run, or its browser tab still connected)."""
        with self._lock:
            self._seen[owner] = time.monotonic()

    def cancel_gone(self, after_s: float | None = None) -> list[Job]:
        """Cancel every queued or running job all of whose watchers have not been `seen` for `after_s` seconds
        (default SRLAB_GONE_AFTER_S): their tabs are closed and nobody will look at the result, so the line
        moves on. Owners that are gone and hold no job are forgotten. Returns the jobs cancelled."""
        after_s = settings.current().gone_after_s if after_s is None else after_s
        now = time.monotonic()
        with self._lock:
            gone = {o for o, at in self._seen.items() if now - at > after_s}
            if not gone:
                return []
            ended = [j for j in self._jobs.values()
                     if not j.state.finished and not j.cancel_requested and j.watchers and j.watchers <= gone]
            holding = {o for j in self._jobs.values() if not j.state.finished for o in j.watchers}
            for owner in gone - holding:
                del self._seen[owner]
        for job in ended:
            self.cancel(job)
            timing.record("gone", job_id=job.id, label=job.label)  # SRLAB_TIMING_LOG: the load test counts them
        return ended

    def wait(self, job: Job, timeout: float | None = None) -> bool:
        """Block until `job` has finished (the CLI and tests; pages never wait). True when it did."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while not job.state.finished:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._lock.wait(left if left is not None else 1.0)
        return True

    # ---- the workers
    def _worker(self) -> None:
        lower_priority(settings.current().job_nice)
        while True:
            with self._lock:
                while not self._line:
                    self._lock.wait()
                job, work = self._line.popleft()
                job.state, job.started_at = State.RUNNING, time.monotonic()
                self._running += 1
            try:
                job.result = work(Context(job, self))
            except Cancelled:
                self._end(job, State.CANCELLED)
            except Exception as exc:  # one line for the page; the worker lives on for the next job
                job.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self._end(job, State.FAILED)
            else:
                job.fraction = 1.0
                self._end(job, State.DONE)
            finally:
                del work  # what it holds (a session's own model, say) must not outlive the job in this frame

    def _end(self, job: Job, state: State) -> None:
        with self._lock:
            self._running -= 1
            self._finish(job, state)

    def _finish(self, job: Job, state: State) -> None:
        """Under the lock: the job's end, its key freed for a new run, old finished jobs forgotten."""
        job.state, job.finished_at = state, time.monotonic()
        if job.key is not None and self._active.get(job.key) is job:
            del self._active[job.key]
        finished = [j for j in self._jobs.values() if j.state.finished]
        for owner in job.watchers:
            mine = [j for j in finished if owner in j.watchers]
            for old in mine[:-self.keep_per_owner]:
                old.watchers.discard(owner)
        for old in finished[:-self.keep_finished] + [j for j in finished if not j.watchers]:
            self._jobs.pop(old.id, None)
        self._lock.notify_all()


def lower_priority(nice: int) -> None:
    """Linux's nice is per thread, and the compute threads a worker starts (torch's OpenMP team, ncnn's) inherit
    it: a page run then gets the cores first and stays quick while a job runs. Raising nice needs no privilege."""
    # elsewhere (macOS) PRIO_PROCESS takes a process id, and a thread id there could name another process
    if nice > 0 and hasattr(os, "setpriority") and sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
        except OSError:  # not allowed here (a sandbox): the jobs keep the page's priority
            pass


_service: JobService | None = None
_service_lock = threading.Lock()


def service() -> JobService:
    """The process-wide service (every session of the app shares its slots)."""
    global _service
    with _service_lock:
        if _service is None:
            _service = JobService()
        return _service


def replace_service(new: JobService | None) -> JobService | None:
    """Use another service for this process (tests; a Ray cluster's slots); returns the previous one."""
    global _service
    with _service_lock:
        previous, _service = _service, new
        return previous
