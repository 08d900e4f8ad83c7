"""What this machine is, read once: the CPU model, its flags, the cores, the library versions a measurement
depends on, and how many threads a job may use.

The facts come from Linux's /proc. Where a file is missing (macOS, Windows) each has a conservative default
(tests/test_machine.py runs them with /proc hidden): no CPU flags, so no native bf16 (torch-bf16 is not timed;
`auto` picks among the fp32 backends), the CPU model from `platform`, a 2000 MB tile budget per job slot
instead of a share of MemAvailable, and no scheduler times (a busy machine is not detected)."""
from __future__ import annotations

import functools
import os
import platform
from pathlib import Path

# the CPU features that decide which backend is fast (bf16 is emulated without a native one)
_FLAGS = {"avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile", "bf16", "asimd", "fma"}
NATIVE_BF16 = {"avx512_bf16", "amx_bf16", "bf16"}  # x86 AVX-512 BF16 / AMX, Arm's BF16 extension


@functools.lru_cache(maxsize=1)
def _cpuinfo() -> tuple[str, tuple[str, ...]]:
    model, flags = "unknown cpu", ()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model == "unknown cpu":
                model = line.split(":", 1)[1].strip()
            elif line.startswith(("flags", "Features")) and not flags:
                flags = tuple(sorted(_FLAGS & set(line.split(":", 1)[1].split())))
    except OSError:  # no /proc (macOS, Windows): no flags is the safe side (bf16 would not be trusted)
        model = platform.processor() or model
    return model, flags


def cpu_flags() -> list[str]:
    return list(_cpuinfo()[1])


def native_bf16() -> bool:
    """True where the CPU multiplies bfloat16 itself; elsewhere torch emulates it, far slower than fp32."""
    return bool(NATIVE_BF16 & set(_cpuinfo()[1]))


@functools.lru_cache(maxsize=1)
def machine() -> dict:
    """What a calibration depends on: CPU model, core count, flags, library versions."""
    import importlib.metadata as md

    versions = {}
    for pkg in ("torch", "ncnn", "numpy"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    model, flags = _cpuinfo()
    return {"cpu": f"{platform.machine()} {model}", "cores": os.cpu_count(), "flags": list(flags),
            "versions": versions}


def describe() -> str:
    m = machine()
    return f"{m['cpu']}, {m['cores']} cores, flags: {' '.join(m['flags']) or 'none'}"


def threads() -> int:
    """CPU threads for one job: OMP_NUM_THREADS where set (a Ray worker gets its task's CPUs there, so two
    workers on two cores do not each start two threads), else every core."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:
        return max(1, os.cpu_count() or 1)


TILE_SHARE = 0.4          # of MemAvailable, shared by the job slots: the rest is the OS, the app, other jobs
TILE_CAP_MB = 8000        # more buys few fewer tiles and risks the machine
TILE_FLOOR_MB = 500


def available_mb() -> float | None:
    """MemAvailable from /proc/meminfo (None where there is none)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def tile_budget_mb(backend: str = "") -> int:
    """Memory one network pass may use, which sizes the automatic tile: SRLAB_TILE_MEMORY_MB when set; on a GPU,
    60 % of its free memory; else TILE_SHARE of the machine's available memory per job slot, capped."""
    from core import settings

    chosen = settings.current()
    if chosen.tile_memory_mb > 0:
        return chosen.tile_memory_mb
    if backend == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info()
        return max(TILE_FLOOR_MB, int(0.6 * free / 1e6))
    free = available_mb() or 2000 / TILE_SHARE
    return int(min(TILE_CAP_MB, max(TILE_FLOOR_MB, TILE_SHARE * free / max(1, chosen.job_slots))))


def scheduler_times() -> tuple[float, float] | None:
    """(seconds on a CPU, seconds runnable but waiting for one), summed over this process's threads so far
    (Linux schedstat); None where it cannot be read. The second over their sum is how contended a timing was."""
    on_cpu = waiting = 0
    try:
        tasks = list(Path("/proc/self/task").iterdir())
    except OSError:
        return None
    for task in tasks:
        try:
            ran, waited = (task / "schedstat").read_text().split()[:2]
        except (OSError, ValueError):
            continue  # a thread that has just ended
        on_cpu, waiting = on_cpu + int(ran), waiting + int(waited)
    return (on_cpu / 1e9, waiting / 1e9) if on_cpu else None
