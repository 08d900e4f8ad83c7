"""A FIFO queue of inference jobs, so concurrent users never run more jobs at once than memory allows.

`slot()` waits for a turn, reporting the caller's place; if the waiting caller raises (a cancelled job,
a closed browser tab), its place is given up at once.
"""
from __future__ import annotations

import threading
from collections import deque
from contextlib import contextmanager
from typing import Callable, Iterator

from core import settings


class JobQueue:
    def __init__(self, slots: int | None = None):
        self.slots = max(1, settings.current().job_slots if slots is None else slots)
        self._cond = threading.Condition()
        self._waiting: deque[object] = deque()
        self._running = 0

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @contextmanager
    def slot(self, on_wait: Callable[[int], None] | None = None, poll: float = 0.5) -> Iterator[None]:
        """Hold one of the slots for the duration of the block. `on_wait(place)`: 1 = next in line."""
        ticket = object()
        with self._cond:
            self._waiting.append(ticket)
        try:
            while True:
                with self._cond:
                    if self._waiting[0] is ticket and self._running < self.slots:
                        self._waiting.popleft()
                        self._running += 1
                        self._cond.notify_all()
                        break
                    place = self._waiting.index(ticket) + 1
                if on_wait:
                    on_wait(place)  # may raise: the except below gives the place up
                with self._cond:
                    self._cond.wait(poll)
        except BaseException:
            with self._cond:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                self._cond.notify_all()
            raise
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()
