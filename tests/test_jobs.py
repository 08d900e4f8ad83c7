"""The job service: jobs run on its workers, first come first served, places reported; an identical job is
joined; only cancel cancels, within 2 s, and frees the slot; a failure is one line; finished jobs are kept, bounded."""
import threading
import time

import cv2
import numpy as np
import pytest

from core.pipeline import engine
from core.pipeline.engine import Request
from core.serve.jobs import Context, Job, JobService, State


def _gate_work(gate: threading.Event, log: list, name: str):
    def work(ctx):
        log.append(f"{name} started")
        while not gate.wait(0.01):
            ctx.check()
        log.append(f"{name} done")
        return name
    return work


def test_fifo_one_at_a_time_with_places_reported():
    svc = JobService(slots=1)
    gate, log = threading.Event(), []
    first = svc.submit(_gate_work(gate, log, "first"), label="first", kind="test", owner="a")
    while first.state is not State.RUNNING:
        time.sleep(0.005)
    later = [svc.submit(_gate_work(gate, log, n), label=n, kind="test", owner=n) for n in ("a", "b", "c")]
    assert [svc.place(j) for j in later] == [1, 2, 3] and svc.running == 1 and svc.waiting == 3
    gate.set()
    for job in [first, *later]:
        assert svc.wait(job, 10)
    assert log == ["first started", "first done", "a started", "a done", "b started", "b done", "c started",
                   "c done"]
    assert all(j.state is State.DONE for j in later) and [j.result for j in later] == ["a", "b", "c"]
    assert svc.running == 0 and svc.waiting == 0


def test_a_queued_job_that_is_cancelled_gives_up_its_place_at_once():
    svc = JobService(slots=1)
    gate, log = threading.Event(), []
    running = svc.submit(_gate_work(gate, log, "running"), label="r", kind="test", owner="a")
    while running.state is not State.RUNNING:
        time.sleep(0.005)
    waiting = svc.submit(_gate_work(gate, log, "waiting"), label="w", kind="test", owner="b")
    behind = svc.submit(_gate_work(gate, log, "behind"), label="b", kind="test", owner="c")
    assert svc.place(behind) == 2
    assert svc.cancel(waiting, "b") and waiting.state is State.CANCELLED
    assert svc.place(behind) == 1  # moved up at once
    gate.set()
    assert svc.wait(behind, 10) and "waiting started" not in log and running.state is State.DONE


def test_an_identical_request_is_joined_and_runs_once():
    svc = JobService(slots=1)
    gate, log = threading.Event(), []
    a = svc.submit(_gate_work(gate, log, "x"), label="x", kind="test", owner="A", key=("same",))
    b = svc.submit(_gate_work(gate, log, "x"), label="x", kind="test", owner="B", key=("same",))
    assert a is b and a.watchers == {"A", "B"}
    assert not svc.cancel(a, "A")  # B still wants it: it goes on for B
    gate.set()
    assert svc.wait(a, 10) and a.state is State.DONE and log.count("x started") == 1
    again = svc.submit(_gate_work(gate, log, "x"), label="x", kind="test", owner="A", key=("same",))
    assert again is not a  # a finished job is not joined: the page reads its result from the cache


def test_a_failure_is_one_line_and_the_worker_lives_on():
    svc = JobService(slots=1)

    def broken(ctx):
        raise ValueError("that file is not a model\nwith a long traceback-ish tail")

    bad = svc.submit(broken, label="bad", kind="test", owner="a")
    good = svc.submit(lambda ctx: 42, label="good", kind="test", owner="a")
    assert svc.wait(good, 10) and good.result == 42
    assert bad.state is State.FAILED and bad.error == "that file is not a model"


def test_finished_jobs_are_kept_for_their_owner_but_bounded():
    svc = JobService(slots=1, keep_finished=10, keep_per_owner=3)
    done = [svc.submit(lambda ctx, i=i: i, label=str(i), kind="test", owner="a") for i in range(6)]
    svc.wait(done[-1], 10)
    kept = svc.jobs_of("a")
    assert [j.result for j in kept] == [3, 4, 5] and svc.get(done[0].id) is None


def test_cancel_during_a_single_tile_network_job_stops_within_2_s_and_frees_the_slot(astronaut):
    lr = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)  # x4plus fp32: tens of seconds, one tile
    svc = JobService(slots=1)
    request = Request.make("RealESRGAN_x4plus", backend="torch")
    job = svc.submit(lambda ctx: engine.run(lr, request, on_step=ctx.step), label="x4plus", kind="enhance",
                     owner="a")
    while job.fraction == 0:
        time.sleep(0.05)
        assert job.state is not State.FAILED, job.error
    time.sleep(0.5)
    pressed = time.perf_counter()
    assert svc.cancel(job, "a")
    assert svc.wait(job, 10) and time.perf_counter() - pressed < 2.0
    assert job.state is State.CANCELLED and svc.running == 0 and svc.waiting == 0
    quick = svc.submit(lambda ctx: "next", label="next", kind="test", owner="b")
    assert svc.wait(quick, 5) and quick.result == "next"  # the next user gets the slot at once


@pytest.mark.parametrize("slots", [2])
def test_slots_run_side_by_side(slots):
    svc = JobService(slots=slots)
    gate, log = threading.Event(), []
    jobs = [svc.submit(_gate_work(gate, log, str(i)), label=str(i), kind="test", owner="a") for i in range(3)]
    deadline = time.monotonic() + 5
    while svc.running < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert svc.running == 2 and svc.place(jobs[2]) == 1
    gate.set()
    assert all(svc.wait(j, 10) for j in jobs)


@pytest.mark.skipif(not hasattr(threading, "get_native_id") or not __import__("os").path.exists("/proc/self/task"),
                    reason="per-thread nice is read from Linux's /proc")
def test_a_jobs_threads_run_below_the_pages_so_page_runs_come_first():
    import os

    import torch

    from core import settings

    def nice_of(tid: int) -> int:
        return int(open(f"/proc/self/task/{tid}/stat").read().rsplit(")", 1)[1].split()[16])

    def work(ctx):
        torch.nn.functional.conv2d(torch.randn(1, 32, 96, 96), torch.randn(32, 32, 3, 3))  # starts its team
        own = threading.get_native_id()
        return own, {int(t): nice_of(int(t)) for t in os.listdir("/proc/self/task")}

    previous = settings.configure(job_nice=10)
    try:
        svc = JobService(slots=1)
        job = svc.submit(work, label="nice", kind="test", owner="a")
        assert svc.wait(job, 30) and job.state is State.DONE, job.error
    finally:
        settings.restore(previous)
    own, nice = job.result
    page = nice_of(threading.get_native_id())  # the page's (here: the test's) thread is untouched
    assert page < 10 and nice[own] == 10
    if torch.get_num_threads() > 1:  # the worker's compute threads inherited its priority
        assert sum(v == 10 for v in nice.values()) >= torch.get_num_threads(), nice


def _running(expected_s, elapsed_s: float, fraction: float) -> Job:
    return Job(id="j", label="x", kind="test", key=None, state=State.RUNNING, fraction=fraction,
               expected_s=expected_s, started_at=time.monotonic() - elapsed_s)


def test_the_time_left_follows_the_measurement_until_the_jobs_own_pace_is_over_2x_off_it():
    # on pace with a 100-s measurement: the measurement (steadier early on)
    assert _running(100, 5, 0.05).time_left_s() == pytest.approx(95, abs=0.1)
    # 10x faster than measured (measured on a busy machine; seen by a walkthrough: "about 568 s left" for 42 s)
    assert _running(100, 2, 0.05).time_left_s() == pytest.approx(38, abs=0.1)
    # 3x slower than measured (the machine is busy now): its own pace, not an early promise
    assert _running(100, 15, 0.05).time_left_s() == pytest.approx(285, abs=0.5)
    assert _running(100, 0.5, 0.05).time_left_s() == pytest.approx(99.5, abs=0.1)  # too early to judge its pace
    assert _running(None, 5, 0.01).time_left_s() is None  # nothing measured, too early: no number
    assert _running(100, 50, 1.0).time_left_s() is None  # at 1.0 the result is being drawn: no promise


def test_one_enhance_job_checks_its_request_once_and_plans_it_once(astronaut_lr, monkeypatch):
    """Issue 39: checked when submitted (a wrong request fails at once), planned by the job, never again."""
    from core.methods.network import NetworkMethod
    from core.serve.tasks.enhance import enhance

    checks, plans = [], []
    real_check, real_plan = engine.check, NetworkMethod.plan
    monkeypatch.setattr(engine, "check", lambda *a, **k: checks.append(a) or real_check(*a, **k))
    monkeypatch.setattr(NetworkMethod, "plan", lambda self, *a, **k: plans.append(a) or real_plan(self, *a, **k))
    request = Request.make("realesr-animevideov3", outscale=3, image_key="once")
    checked = engine.check_request(astronaut_lr, request)  # what ui/jobs.submit_enhance does, at the click
    task = enhance(checked, None, "once")
    svc = JobService(slots=1)
    job = svc.submit(task.work, label=task.label, kind=task.kind, owner="a", key=task.key)
    assert svc.wait(job, 300) and job.state is State.DONE, job.error
    assert len(checks) == 1 and len(plans) == 1
    with pytest.raises(engine.EnhanceError):
        engine.check_request(astronaut_lr, Request.make("realesr-animevideov3", outscale=20))


def test_a_batch_runs_the_same_from_the_cli_and_from_the_service(astronaut, tmp_path):
    """The app's Batch (a task on the service) and `python -m core enhance DIR` run one loop: same pixels, and
    a bad file is one line in both while the others go on."""
    import io
    import subprocess
    import sys
    import zipfile

    from core.io.imageio import load_image, read_image_file
    from core.serve.tasks.batch import batch
    from tests.conftest import ROOT

    folder = tmp_path / "in"
    folder.mkdir()
    for i, name in enumerate(["a.png", "b.png"]):
        cv2.imwrite(str(folder / name), cv2.cvtColor(astronaut[i * 40:i * 40 + 48, 100:164], cv2.COLOR_RGB2BGR))
    (folder / "broken.png").write_bytes(b"not a png")
    files = [(p.name, p.read_bytes()) for p in sorted(folder.iterdir())]
    svc = JobService(slots=1)
    task = batch(files, "realesr-animevideov3", 2.0)
    job = svc.submit(task.work, label=task.label, kind=task.kind, owner="a")
    assert svc.wait(job, 300) and job.state is State.DONE, job.error
    zipped, rows = job.result
    zipped_bytes = zipped.read()
    out = tmp_path / "out"
    cli = subprocess.run([sys.executable, "-m", "core", "enhance", str(folder), "-o", str(out), "--method",
                          "realesr-animevideov3", "--outscale", "2", "-q"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert cli.returncode == 1 and cli.stderr.count("broken.png") == 1  # one line for the bad file
    assert [r["error"] != "" for r in rows] == [False, False, True] and "broken.png" in rows[2]["error"]
    with zipfile.ZipFile(io.BytesIO(zipped_bytes)) as z:
        for name in ("a", "b"):
            app = load_image(z.read(f"{name}_realesr-animevideov3_x2.png")).pixels
            made = read_image_file(out / f"{name}_realesr-animevideov3_x2.png").pixels
            assert app.shape == (96, 128, 3) and np.array_equal(app, made)


def test_the_only_user_is_never_told_that_other_people_are_using_the_server(monkeypatch):
    """Issue 41: "waiting, 1st in line (0 running). Other people are using this server." two seconds after the
    only user's Start: a job waits in line a moment before a worker takes it (the workers run below the page)."""
    from ui import jobs as ui_jobs

    svc = JobService(slots=1)
    monkeypatch.setattr(ui_jobs, "job_service", lambda: svc)
    monkeypatch.setattr(ui_jobs, "owner", lambda: "me")
    gate, log = threading.Event(), []
    with svc._lock:  # the moment between a submit and a worker taking the job, held still
        mine = svc.submit(_gate_work(gate, log, "mine"), label="Training", kind="test", owner="me")
        assert svc.place(mine) == 1 and svc.running == 0
        assert ui_jobs.describe(mine)[1] == "Training: starting…"
    while mine.state is not State.RUNNING:
        time.sleep(0.005)
    second = svc.submit(_gate_work(gate, log, "second"), label="Batch", kind="test", owner="me")
    assert ui_jobs.describe(second)[1] == "Batch: waiting for your other job to finish."
    theirs = svc.submit(_gate_work(gate, log, "theirs"), label="Scoring", kind="test", owner="someone else")
    monkeypatch.setattr(ui_jobs, "owner", lambda: "someone else")  # as the other session sees its job
    assert ui_jobs.describe(theirs)[1] == ("Scoring: waiting, 2nd in line (1 running). Other people are using "
                                           "this server.")
    gate.set()
    assert all(svc.wait(j, 10) for j in (mine, second, theirs))


def test_a_job_stuck_past_what_its_own_pace_allowed_promises_no_time():
    """Issue 40: ranking jobs sat at 90 % "about 1 s left" for ~5 s. Its pace at its last step said 1 s; once
    that second has passed without a step, it says nothing rather than a time it has already overrun."""
    stuck = _running(None, 14, 0.9)
    stuck.moved_at = time.monotonic() - 5  # reached 90 % after 9 s: its pace said 1 s more
    assert stuck.time_left_s() is None
    moving = _running(None, 9, 0.9)
    moving.moved_at = time.monotonic()  # just stepped: its pace holds
    assert moving.time_left_s() == pytest.approx(1.0, abs=0.1)


def test_a_waiting_job_is_told_the_running_jobs_time_left_plus_its_own():
    svc = JobService(slots=1)
    gate, log = threading.Event(), []
    running = svc.submit(_gate_work(gate, log, "r"), label="r", kind="test", owner="a", expected_s=30)
    while running.state is not State.RUNNING:
        time.sleep(0.005)
    first = svc.submit(_gate_work(gate, log, "a"), label="a", kind="test", owner="b", expected_s=5)
    unknown = svc.submit(_gate_work(gate, log, "u"), label="u", kind="test", owner="c")
    behind = svc.submit(_gate_work(gate, log, "b"), label="b", kind="test", owner="d", expected_s=7)
    try:
        assert svc.starts_in_s(first) == pytest.approx(30, abs=1)  # the running job's time left
        assert svc.wait_and_run_s(first) == pytest.approx(35, abs=1)  # ... plus its own
        assert svc.starts_in_s(unknown) == pytest.approx(35, abs=1) and svc.wait_and_run_s(unknown) is None
        assert svc.starts_in_s(behind) is None  # one ahead of it has no expected time: no number
        assert svc.starts_in_s(running) is None  # not waiting
    finally:
        gate.set()
        svc.wait(behind, 10)


def test_the_first_job_of_a_network_says_it_loads_it_later_ones_do_not(astronaut):
    from core.methods import METHODS
    from core.runtime.backends import built, is_built

    spec = METHODS.get("realesr-animevideov3")
    plan = spec.plan(32, 32)
    if not is_built(spec, plan.backend):
        built(spec, plan.backend)
    assert is_built(spec, plan.backend)

    from core.io.imageio import LoadedImage
    from core.serve.jobs import Context
    from core.serve.tasks.enhance import enhance

    messages = []

    class Recording(Context):
        def step(self, fraction, message=None):
            messages.append(message)
            super().step(fraction, message)

    small = cv2.resize(astronaut, (32, 32), interpolation=cv2.INTER_AREA)
    image = LoadedImage(pixels=small, name="a.png")
    job = Job(id="j", label="x", kind="enhance", key=None, state=State.RUNNING, started_at=time.monotonic())
    checked = engine.check_request(image, Request.make(spec.name, outscale=4))
    enhance(checked, {}, "x").work(Recording(job, JobService(slots=1)))
    starting = [m for m in messages if m and m.startswith("starting")]
    assert starting == [f"starting {spec.name}"]  # loaded already: no "(its first job ... also loads it)"


def test_a_gone_sessions_jobs_are_cancelled_unless_someone_still_here_joined_them():
    svc = JobService(slots=1)
    gate, log = threading.Event(), []
    running = svc.submit(_gate_work(gate, log, "closed tab's"), label="r", kind="test", owner="closed", key="r")
    queued = svc.submit(_gate_work(gate, log, "closed tab's too"), label="q", kind="test", owner="closed")
    shared = svc.submit(_gate_work(gate, log, "shared"), label="s", kind="test", owner="closed", key="s")
    svc.submit(_gate_work(gate, log, "shared"), label="s", kind="test", owner="here", key="s")  # joins it
    cli = svc.submit(_gate_work(gate, log, "cli"), label="c", kind="test", owner="cli")  # never seen: never gone
    for tab in ("closed", "here"):
        svc.seen(tab)
    time.sleep(0.3)
    svc.seen("here")
    assert svc.cancel_gone(after_s=10) == []  # nobody gone yet
    assert {j.id for j in svc.cancel_gone(after_s=0.2)} == {running.id, queued.id}
    assert svc.wait(running, 2) and running.state is State.CANCELLED and queued.state is State.CANCELLED
    assert not shared.state.finished and not cli.state.finished  # it goes on for "here"; the CLI's too
    gate.set()
    assert svc.wait(cli, 5) and cli.state is State.DONE and shared.state is State.DONE


def test_time_left_counts_from_when_the_measured_part_began_not_from_a_first_runs_measurement():
    """Issue 48: a lesson step measured the backends first (its bar 0→100 %), then ran (0→100 % again): at 5 % of
    the run the pace counted the measuring's 115 s too and said 'about 2097 s left' for a run of ~40 s."""
    job = Job(id="j", label="x", kind="enhance", key=None, state=State.RUNNING)
    now = time.monotonic()
    job.started_at = now - 120.0                    # 115 s of measuring, then the run began 5 s ago
    ctx = Context(job, JobService(slots=1))
    ctx.step(1.0, "measuring")
    ctx.expect(40.0)                                # the plan's measurement: the run alone takes ~40 s
    job.paced_from = now - 5.0                      # (as if expect() was called 5 s ago)
    ctx.step(0.05, "running")
    left = job.time_left_s()
    assert left is not None and 30 <= left <= 100, left  # not 2097
