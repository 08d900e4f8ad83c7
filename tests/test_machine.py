"""Machine facts where Linux's /proc is missing (macOS, Windows): simulated here by making every path under /proc
absent for the code under test (reads, writes, listings). Each fact falls back to a sane, conservative value and
nothing raises. Not run on a real macOS or Windows machine (there is none here)."""
from __future__ import annotations

import builtins
import math
import os
import pathlib
import platform
import threading

import pytest

from core.runtime import machine


def _is_proc(path) -> bool:
    return str(path) == "/proc" or str(path).startswith("/proc/")


@pytest.fixture
def no_proc(monkeypatch):
    """Every path under /proc is absent, as on macOS and Windows; machine's cached readings are cleared before and
    after (the real ones come back for the other tests)."""
    def absent(path):
        raise FileNotFoundError(2, "No such file or directory (simulated: no /proc here)", str(path))

    for name in ("read_text", "write_text", "read_bytes", "iterdir", "open", "stat"):
        real = getattr(pathlib.Path, name)
        monkeypatch.setattr(pathlib.Path, name, lambda self, *a, _real=real, **k: absent(self) if _is_proc(self)
                            else _real(self, *a, **k))
    real_glob = pathlib.Path.glob
    monkeypatch.setattr(pathlib.Path, "glob", lambda self, *a, **k: iter(()) if _is_proc(self)
                        else real_glob(self, *a, **k))
    real_open, real_listdir = builtins.open, os.listdir
    monkeypatch.setattr(builtins, "open", lambda file, *a, **k: absent(file) if _is_proc(file)
                        else real_open(file, *a, **k))
    monkeypatch.setattr(os, "listdir", lambda path=".": absent(path) if _is_proc(path) else real_listdir(path))
    caches = (machine._cpuinfo, machine.machine)
    for cached in caches:
        cached.cache_clear()
    yield
    for cached in caches:
        cached.cache_clear()


def test_the_simulation_hides_proc(no_proc):
    with pytest.raises(FileNotFoundError):
        pathlib.Path("/proc/cpuinfo").read_text()
    with pytest.raises(FileNotFoundError):
        open("/proc/meminfo")
    assert pathlib.Path("/etc").exists()  # nothing else is hidden


def test_cpu_flags_default_to_none_so_bf16_is_not_trusted(no_proc):
    """No /proc/cpuinfo: no flags, so no native bf16 — torch-bf16 is not timed (it may be emulated) and `auto`
    chooses among the fp32 backends; the CPU model comes from `platform`, the cores from os.cpu_count()."""
    from core.methods import get
    from core.runtime import backends

    assert machine.cpu_flags() == [] and machine.native_bf16() is False
    here = machine.machine()
    assert here["cpu"].strip() and here["cores"] == os.cpu_count() and here["flags"] == []
    assert platform.processor() in here["cpu"]  # the model the OS names (on Linux often "", then "unknown cpu")
    assert here["versions"]["torch"]
    assert "flags: none" in machine.describe()
    names = backends.candidates(get("realesr-animevideov3"))
    assert "torch-bf16" not in names and {"torch", "ncnn"} <= set(names)


def test_the_tile_budget_without_memavailable_is_2000_mb_per_job_slot(no_proc, monkeypatch):
    from core.methods import get
    from tests.conftest import use_settings

    assert machine.available_mb() is None
    use_settings(monkeypatch, tile_memory_mb=0, job_slots=1)
    assert machine.tile_budget_mb() == 2000
    use_settings(monkeypatch, tile_memory_mb=0, job_slots=4)
    assert machine.tile_budget_mb() == machine.TILE_FLOOR_MB  # 500: the floor, never less
    spec = get("RealESRGAN_x4plus")
    use_settings(monkeypatch, tile_memory_mb=0, job_slots=1)
    from core.runtime.tiling import auto_tile

    def tile(side: int) -> int:  # as the plan sizes it (core/runtime/select.py)
        return auto_tile(side, side, spec.memory_per_pixel("torch"), machine.tile_budget_mb("torch"))

    assert tile(128) == 0  # a small input still runs whole
    assert 64 <= tile(2000) <= 2000  # a large one is tiled, not refused


def test_no_scheduler_times_means_no_busy_flag(no_proc):
    from core.runtime import calibrate
    from core.serve import timing

    assert machine.scheduler_times() is None
    assert calibrate.contention(None) == 0.0 and calibrate.contention((1.0, 1.0)) == 0.0
    assert timing._waited_for_a_core_s() == 0.0


def test_a_timing_record_is_still_written_without_schedstat(no_proc, monkeypatch, tmp_path):
    import json

    from core.serve import timing
    from tests.conftest import use_settings

    log = tmp_path / "timings.jsonl"
    use_settings(monkeypatch, timing_log=str(log))
    with timing.timed("page_run", page="enhance"):
        pass
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["kind"] == "page_run" and record["runq_s"] == 0.0 and record["seconds"] >= 0


def test_a_calibration_without_proc_measures_and_is_not_flagged_busy(no_proc, monkeypatch, tmp_path):
    """The whole `auto` path on a machine without /proc: measured (fp32 backends only), saved, chosen."""
    from core import settings
    from core.methods import get
    from core.runtime import calibrate, select
    from tests.conftest import use_settings

    (tmp_path / "converted").symlink_to(settings.current().weights_dir.resolve() / "converted")  # not converted again
    use_settings(monkeypatch, weights_dir=tmp_path)  # nothing measured there: it measures now
    monkeypatch.setattr(calibrate, "_records", {})
    spec = get("realesr-animevideov3")
    record = calibrate.record_for(spec)
    assert set(record["measured"]) == {"torch", "ncnn-bf16", "ncnn"} and "contended" not in record
    plan = select.choose(spec, 96, 96)
    assert plan.backend in record["measured"] and plan.tiles == 1


def test_job_threads_are_reniced_only_on_linux(monkeypatch):
    """Linux's nice is per thread; elsewhere PRIO_PROCESS takes a process id, and a thread id could name another
    process: there the jobs keep the page's priority."""
    import sys

    from core.serve import jobs

    calls = []
    monkeypatch.setattr(os, "setpriority", lambda *a: calls.append(a), raising=False)
    monkeypatch.setattr(sys, "platform", "darwin")
    jobs.lower_priority(10)
    assert calls == []
    monkeypatch.setattr(sys, "platform", "linux")
    jobs.lower_priority(10)
    assert calls == [(os.PRIO_PROCESS, threading.get_native_id(), 10)]


def test_the_benches_read_the_machine_without_proc(no_proc, monkeypatch):
    from bench import load_test, speed

    speed.reset_peak_rss()  # no clear_refs: nothing to reset, nothing raised
    peak = speed.peak_rss_mb()  # the process's lifetime peak from getrusage
    assert peak > 10 and math.isfinite(peak)
    assert math.isnan(load_test.peak_rss_mb(os.getpid()))  # another process's peak: not readable, not checked
    assert load_test.cpu_name().endswith(f"({os.cpu_count()} cores; )")
    assert load_test.autogroup_of("self") is None and load_test.lower_clients_autogroups("idle", 10) == 0


def test_with_proc_the_real_values_are_read():
    """The same readers on this Linux machine: the fallbacks above are not what runs here."""
    if not os.path.exists("/proc/cpuinfo"):
        pytest.skip("not Linux")
    machine._cpuinfo.cache_clear()
    try:
        assert machine.machine()["cpu"] != "unknown cpu" and machine.available_mb() > 0
        assert machine.scheduler_times() is not None
    finally:
        machine._cpuinfo.cache_clear()
