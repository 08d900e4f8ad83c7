"""What this machine is, read once: the CPU model, its flags, the cores, the library versions a measurement
depends on, and how many threads a job may use.

The facts come from Linux's /proc. Where a file is missing (macOS, Windows) each has a conservative default
(tests/test_machine.py runs them with /proc hidden): no CPU flags, so no native bf16 (torch-bf16 is not timed;
`auto` picks among the fp32 backends), the CPU model from `platform`, a 2000 MB tile budget per job slot
instead of a share of MemAvailable, and no scheduler times (a busy machine is not detected).

The Vulkan devices are ncnn's view (`vulkan_devices()`): a real GPU (discrete or integrated) is the one `auto` may
use; a virtual or CPU-type device (lavapipe/llvmpipe, SwiftShader: a software GPU, slower than the CPU backends)
only runs when asked for by index (`--backend vulkan:N`)."""
from __future__ import annotations

import functools
import os
import platform
import sys
import tempfile
import threading
from dataclasses import dataclass
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
    facts = {"cpu": f"{platform.machine()} {model}", "cores": os.cpu_count(), "flags": list(flags),
             "versions": versions}
    if (used := gpu()) is not None:  # only where `auto` measures a GPU: CPU-only machines keep their measurements
        facts["gpu"] = used.describe()
    return facts


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
GPU_SHARE = 0.6           # of a GPU's free memory (CUDA, MPS) or heap budget (Vulkan): the rest is the display, others
VULKAN_FIXED_MB = 1000    # a Vulkan device that does not say its heap budget: a conservative pass


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
        return max(TILE_FLOOR_MB, int(GPU_SHARE * free / 1e6))
    if backend == "mps":  # Apple's unified memory: what Metal recommends this process use, less what it holds
        import torch

        free = torch.mps.recommended_max_memory() - torch.mps.current_allocated_memory()
        return max(TILE_FLOOR_MB, int(GPU_SHARE * free / 1e6))
    if backend.partition(":")[0] == "vulkan":
        index = backend.partition(":")[2]
        device = vulkan_device(int(index) if index.isdigit() else None)
        heap = device.heap_budget_mb() if device else 0
        return max(TILE_FLOOR_MB, int(GPU_SHARE * heap)) if heap else VULKAN_FIXED_MB
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


# ---- Vulkan devices, as ncnn sees them (the `vulkan` backend, core/runtime/backends.py)

DEVICE_TYPES = {0: "discrete GPU", 1: "integrated GPU", 2: "virtual GPU", 3: "CPU device"}
AUTO_TYPES = (0, 1)  # what `auto` may use, discrete first; a virtual or CPU-type device only when asked by index
NOT_AUTO = {2: "a virtual GPU", 3: "a software GPU"}


@dataclass(frozen=True)
class VulkanDevice:
    """One Vulkan device: ncnn's index, name, type (0 discrete, 1 integrated, 2 virtual, 3 CPU) and API version."""
    index: int
    name: str
    type: int
    api: str = ""

    @property
    def auto(self) -> bool:
        return self.type in AUTO_TYPES

    @property
    def kind(self) -> str:
        return DEVICE_TYPES.get(self.type, f"type {self.type}")

    def describe(self) -> str:
        """"Intel(R) Iris(R) Xe Graphics, integrated GPU, Vulkan 1.3"."""
        return f"{self.name}, {self.kind}" + (f", Vulkan {self.api}" if self.api else "")

    def line(self) -> str:
        """Whether `auto` uses it, and how to ask for it (`python -m core methods --backends`, a job's statistics)."""
        if self.auto:
            return f"{self.describe()}: used by auto where it is faster and faithful (--backend vulkan:{self.index})"
        return (f"{self.describe()}: not used by auto ({NOT_AUTO.get(self.type, 'not a GPU')}); ask for it with "
                f"--backend vulkan:{self.index}")

    def heap_budget_mb(self) -> int:
        """ncnn's heap budget of this device in MB (0: not known); the first call opens the device."""
        try:
            import ncnn

            return max(0, int(ncnn.get_gpu_device(self.index).get_heap_budget()))
        except Exception:  # an old ncnn without it, or a device that will not open: the fixed tile
            return 0


def _api(version: int) -> str:
    """VK_MAKE_API_VERSION's major.minor."""
    return f"{(version >> 22) & 0x7F}.{(version >> 12) & 0x3FF}" if version else ""


_LOADERS = {"Linux": "libvulkan.so.1", "Windows": "vulkan-1.dll", "Darwin": "libvulkan.1.dylib"}
_quiet_lock = threading.Lock()


def _quietly(call):
    """`call()` with the C library's stderr captured (ncnn prints each device's features, or
    "vkCreateInstance failed -9", as it creates its Vulkan instance): (its result, the captured text)."""
    with _quiet_lock, tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(sink.fileno(), 2)
            result = call()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        sink.seek(0)
        return result, sink.read().decode(errors="replace")


@functools.lru_cache(maxsize=1)
def _vulkan() -> tuple[tuple[VulkanDevice, ...], str]:
    loader = _LOADERS.get(platform.system())
    if loader:
        import ctypes

        try:
            ctypes.CDLL(loader)
        except OSError:
            return (), (f"no Vulkan loader ({loader} not found"
                        + ("; Debian: apt-get install libvulkan1 mesa-vulkan-drivers)" if loader.endswith(".so.1")
                           else ")"))
    try:
        import ncnn

        count, said = _quietly(ncnn.get_gpu_count)
        devices = []
        for i in range(count):
            info = ncnn.get_gpu_info(i)
            devices.append(VulkanDevice(index=i, name=info.device_name(), type=int(info.type()),
                                        api=_api(int(info.api_version()))))
    except Exception as exc:  # the instance or a device query failed: the CPU backends run everything
        return (), f"Vulkan failed to start ({type(exc).__name__}: {exc})"
    if not devices:
        failed = [line.strip() for line in said.splitlines() if "fail" in line.lower()]
        return (), ("Vulkan found no device" + (f" ({failed[0]})" if failed else " (no driver installed?)"))
    return tuple(devices), ""


def vulkan_devices() -> tuple[VulkanDevice, ...]:
    """Every Vulkan device ncnn sees here, by index (none without a loader or a driver); read once."""
    return _vulkan()[0]


def vulkan_problem() -> str:
    """Why there is no Vulkan device ("" where there is one)."""
    return _vulkan()[1]


def gpu() -> VulkanDevice | None:
    """The Vulkan device `auto` may use: the first discrete GPU, else the first integrated one; never a virtual
    or CPU-type device (a software GPU took 2 hours where the real iGPU took 2.5 minutes: upscayl#1502)."""
    real = [d for d in vulkan_devices() if d.auto]
    return min(real, key=lambda d: (AUTO_TYPES.index(d.type), d.index)) if real else None


def vulkan_device(index: int | None) -> VulkanDevice | None:
    """Device `index` (any type: asked for by hand), or with None the one `auto` may use."""
    if index is None:
        return gpu()
    devices = vulkan_devices()
    return devices[index] if 0 <= index < len(devices) else None


def vulkan_note() -> str:
    """Why no Vulkan device runs `auto`'s jobs here ("" where a GPU does): each device and how to ask for it, or
    why there is none."""
    if gpu() is not None:
        return ""
    devices = vulkan_devices()
    if not devices:
        return f"no Vulkan GPU: {vulkan_problem()}"
    return "; ".join(f"the Vulkan device {d.line()}" for d in devices)
