"""The job queue: one job at a time, first come first served, places reported, cancelled waiters leave."""
import threading

import pytest

from core.serve.jobs import JobQueue


def test_fifo_one_at_a_time_with_places_reported():
    q = JobQueue(slots=1)
    order, places, running_max = [], {}, []
    gate = threading.Event()
    started = threading.Event()

    def first():
        with q.slot():
            started.set()
            gate.wait(10)
            order.append("first")

    def later(name):
        seen = places.setdefault(name, [])
        with q.slot(on_wait=seen.append, poll=0.01):
            running_max.append(q.running)
            order.append(name)

    t0 = threading.Thread(target=first)
    t0.start()
    started.wait(10)
    threads = []
    for name in ("a", "b", "c"):
        t = threading.Thread(target=later, args=(name,))
        t.start()
        threads.append(t)
        while q.waiting < len(threads):  # enqueue in a known order
            threading.Event().wait(0.005)
    threading.Event().wait(0.05)
    gate.set()
    for t in [t0, *threads]:
        t.join(10)
    assert order == ["first", "a", "b", "c"]
    assert running_max == [1, 1, 1]
    assert places["a"][0] == 1 and places["b"][0] == 2 and places["c"][0] == 3
    assert all(p == sorted(p, reverse=True) for p in places.values())  # a place only ever moves up
    assert q.running == 0 and q.waiting == 0


def test_a_waiter_that_leaves_gives_up_its_place():
    q = JobQueue(slots=1)

    class Gone(Exception):
        pass

    def leave(place):
        raise Gone

    with q.slot():
        with pytest.raises(Gone):
            with q.slot(on_wait=leave):
                pass
        assert q.waiting == 0
    with q.slot():  # the slot is free again
        assert q.running == 1
