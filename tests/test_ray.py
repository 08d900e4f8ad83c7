"""Jobs and folders on a real Ray cluster: a head started by the test on 127.0.0.1, its own worker processes."""
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.io.imageio import read_image_file
from core.io.output import OutputOptions
from core.pipeline.engine import Request, run
from core.serve import distributed
from scripts.local_server import free_port
from tests.conftest import ROOT, click

pytestmark = pytest.mark.ray

# `ray start --head` replaces 127.0.0.1 by the machine's address (Ray's services.resolve_ip_for_localhost);
# a head started from Python keeps loopback, which is all these tests may use.
HEAD = """
import sys, ray
ray.init(address="local", _node_ip_address="127.0.0.1", num_cpus=2, include_dashboard=False,
         runtime_env={"env_vars": {"PYTHONPATH": sys.argv[1]}})
print(ray.get_runtime_context().gcs_address, flush=True)
sys.stdin.read()  # the head lives until the test closes this pipe
"""


@pytest.fixture(scope="module")
def head():
    proc = subprocess.Popen([sys.executable, "-c", HEAD, str(ROOT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    address = "127.0.0.1:" + proc.stdout.readline().strip().rsplit(":", 1)[1]  # Ray names its own IP; loopback works
    distributed.connect(address)
    yield address
    import ray

    ray.shutdown()
    distributed._connected = None
    proc.stdin.close()
    proc.wait(60)


@pytest.mark.parametrize("method", ["bicubic", "realesr-animevideov3", "RealESRGAN_x4plus"])
def test_results_through_ray_equal_the_in_process_ones_bit_for_bit(head, method, astronaut_lr):
    for pixels in (astronaut_lr[:40, :56], cv2.cvtColor(astronaut_lr[:32, :32], cv2.COLOR_RGB2GRAY)):
        request = Request.make(method, outscale=4, backend="torch" if method != "bicubic" else "auto")
        remote = distributed.run(pixels, request)
        local = run(pixels, request)
        assert np.array_equal(remote.pixels, local.pixels) and remote.stats.summary == local.stats.summary
        where = remote.stats.notes[-1]
        assert "ran on the Ray cluster" in where and f"process {os.getpid()})" not in where


def test_two_sessions_at_once_both_get_their_own_results(head, astronaut_lr):
    requests = [Request.make("realesr-animevideov3", outscale=2, backend="torch"),
                Request.make("lanczos", outscale=3)]
    results = {}

    def session(request):
        results[request.method] = distributed.run(astronaut_lr, request)

    threads = [threading.Thread(target=session, args=(r,)) for r in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for r in requests:
        assert np.array_equal(results[r.method].pixels, run(astronaut_lr, r).pixels)


def test_a_sessions_own_model_travels_with_its_job_and_gives_the_same_pixels(head, astronaut_lr):
    """A user model is no registered name a worker could look up: it goes with the task (pickled), and only there."""
    from core.methods.user import load_user_model
    from tests.test_user_models import random_models, saved

    model, _, scale = random_models()["compact.pth"]
    spec = load_user_model(saved(model), "compact.pth")
    request = Request.make(spec.name, outscale=scale)
    remote = distributed.run(astronaut_lr[:40, :56], request, {spec.name: spec})
    local = run(astronaut_lr[:40, :56], request, own={spec.name: spec})
    assert np.array_equal(remote.pixels, local.pixels) and "ran on the Ray cluster" in remote.stats.notes[-1]
    assert spec.sha256[:12] in remote.stats.weights


def running_task_pids(name: str) -> list[int]:
    """Ray titles a worker process "ray::<task>" while it runs that task."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cmdline").read_bytes().startswith(f"ray::{name}".encode()):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def test_a_worker_killed_mid_batch_loses_no_file(head, tmp_path, astronaut):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(4):
        cv2.imwrite(str(src / f"photo{i}.png"), astronaut[i * 64:i * 64 + 96, :128])
    request = Request.make("RealESRGAN_x4plus", outscale=4, backend="torch")  # seconds per file: time to kill
    files = sorted(src.iterdir())
    out = tmp_path / "out"
    done, killed = [], []

    def batch():
        done.extend(distributed.run_folder(files, out, request, OutputOptions(), lambda p: p.stem + ".png",
                                           max_in_flight=2))

    thread = threading.Thread(target=batch)
    thread.start()
    deadline = time.monotonic() + 60
    while not killed and time.monotonic() < deadline:
        for pid in running_task_pids("_run_work")[:1]:
            os.kill(pid, signal.SIGKILL)  # the worker process dies mid-task
            killed.append(pid)
        time.sleep(0.2)
    thread.join(300)
    assert killed and not thread.is_alive()
    assert sorted(d.source.name for d in done) == [f.name for f in files] and not [d for d in done if d.error]
    assert sorted(p.name for p in out.iterdir()) == [f"photo{i}.png" for i in range(4)]  # once each, no .part
    for f in files:
        written = read_image_file(out / f"{f.stem}.png").pixels
        assert np.array_equal(written, run(read_image_file(f), request).pixels)  # whole, not corrupted


def test_cli_folder_on_ray_skips_what_is_done_and_reports_a_bad_file(head, tmp_path, astronaut_lr):
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "a.png"), astronaut_lr)
    (src / "broken.png").write_bytes(b"not an image")
    cmd = [sys.executable, "-m", "core", "enhance", src, "-o", tmp_path / "out", "--method", "bicubic", "--ray",
           head, "-q"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "broken.png: not an image file" in proc.stderr
    assert "a.png: done" in proc.stdout and (tmp_path / "out" / "a_bicubic_x4.png").exists()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "a.png: already done, skipped" in proc.stdout


def test_without_a_reachable_cluster_one_line_and_the_embedded_path_works(tmp_path, astronaut_lr):
    cv2.imwrite(str(tmp_path / "a.png"), astronaut_lr)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "core", "enhance", tmp_path / "a.png", "-o", tmp_path / "out",
                           "--method", "bicubic", "--ray", f"127.0.0.1:{free_port()}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "cannot reach the Ray cluster" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and time.monotonic() - start < 30
    proc = subprocess.run([sys.executable, "-m", "core", "enhance", tmp_path / "a.png", "-o", tmp_path / "out",
                           "--method", "bicubic", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0


def test_the_app_runs_its_jobs_on_the_cluster(head, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from core.serve import shared
    from core.serve.jobs import replace_service
    from tests.conftest import use_settings
    from ui import jobs

    use_settings(monkeypatch, ray_address=head)
    shared.forget()
    previous = replace_service(None)
    try:
        sessions = [AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300) for _ in range(2)]
        for at in sessions:
            at.run().switch_page("pages/enhance.py").run()
            at.selectbox(key="enh_method").set_value("realesr-animevideov3").run()
            at.selectbox(key="enh_backend").set_value("torch").run()
            click(at, "enh_preview")
            assert not at.exception and not at.error
            table = dict(zip(at.table[0].value.iloc[:, 0], at.table[0].value.iloc[:, 1]))
            assert table["device / backend"] == "cpu / torch fp32"
            assert any("ran on the Ray cluster (node" in c.value for c in at.caption)
        assert jobs.cluster()[0] and jobs.job_service().slots == 2  # one slot per cluster CPU
    finally:
        shared.forget()
        replace_service(previous)


LOCAL_FROM_A_PAGE_RUN = """
import sys, threading, time
import numpy as np
from core.pipeline.engine import Request
from core.serve import distributed
run = threading.Thread(target=distributed.connect, args=("local",))  # as a page run's thread does, then ends
run.start(); run.join()
time.sleep(3)  # the head's processes would be gone by now if they died with that thread
pixels = np.full((8, 8, 3), 100, np.uint8)
out = distributed.wait_result(distributed.submit(pixels, Request.make("bicubic", outscale=2)))
print(out.pixels.shape, flush=True)
"""


def test_a_local_cluster_started_by_a_page_run_outlives_that_page_run():
    """Ray ties a local head's processes to the thread that starts them (PR_SET_PDEATHSIG): started from a
    page run's thread, the GCS and raylet died when that run ended and no job ever ran. connect() starts them
    from a thread that lives as long as the server."""
    done = subprocess.run([sys.executable, "-c", LOCAL_FROM_A_PAGE_RUN], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, env={**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"})
    assert done.returncode == 0 and done.stdout.strip().endswith("(16, 16, 3)"), done.stderr[-2000:]
