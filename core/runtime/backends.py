"""Ways to run a network, one entry each in BACKENDS. The tiler (core/runtime/tiling.py) calls a runner on
C×h×w float32 tiles in 0…1 and gets C×(h·s)×(w·s) back.

- torch:      the official PyTorch architecture in fp32 (the reference; every model converted from ncnn has it)
- torch-bf16: the same module with its weights cast to bfloat16, channels-last; output back to float32.
              ~3× fp32 on CPUs with native bf16 (AVX-512 BF16, AMX); emulated and slow elsewhere, so `auto`
              measures it only where the CPU has it.
- ncnn:       the ncnn runtime on the same ncnn files the weights come from, fp32 (≈ torch, max diff ~1e-5)
- ncnn-bf16:  ncnn with bfloat16 storage (converted as it loads: it can win without native bf16 arithmetic)
- cuda:       the PyTorch module on a CUDA GPU when torch sees one (fp16 where supported); tiles from the GPU's
              free memory. Untested here: no machine of this project has had a GPU to run it on.
- vulkan:     ncnn on a Vulkan device (the same ncnn files; fp16 storage and arithmetic where the device offers
              them), tiles from its heap budget. `vulkan` is the real GPU `auto` may use (discrete, else
              integrated: machine.gpu()); `vulkan:N` asks for device N by hand, whatever its type — the only way a
              software device (lavapipe) runs. If the device fails (it will not build, out of memory, a driver
              error mid-job) the job's runner hands that tile and the rest to the plan's CPU backend and says so
              in one line (`for_job`). Run here only on lavapipe, a software device (correctness, not speed):
              untested on a real GPU.

A backend on a device takes its index after a colon ("vulkan:0"); `CHOICES` accepts that form, `label()` names
the device, and a job asks `for_job()` for its runner.

What the runtime needs of a network is `RunnableNetwork`, declared here where it is used; core/methods'
NetworkMethod (the catalogue's networks, a session's own model) offers it.
"""
from __future__ import annotations

import contextlib
import copy
import re
import threading
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, runtime_checkable

import numpy as np

from core.registry import Registry
from core.runtime import machine
from core.runtime.progress import install_step_hooks


@runtime_checkable
class RunnableNetwork(Protocol):
    """A network as the backends, the calibration and the plan see it."""
    name: str
    native_scale: int
    framing: "Framing"              # how its graph wants a tile fed
    has_torch: bool                 # a PyTorch module exists for it (the torch, torch-bf16 and cuda backends)
    ncnn_blobs: tuple[str, str]     # the ncnn graph's input and output blob names
    sha256: str                     # of the weights file it loads: a calibration is kept per weights
    measured_auto: bool             # `auto` measures its backends (False: the first runnable one is used)

    def torch_module(self): ...                                  # the fp32 module, loaded once per process
    def ncnn_files(self) -> tuple[Path, Path] | None: ...        # (param, bin), or None when not installed
    def verify(self) -> None: ...                                # checks its weights' sha256, raises if wrong
    def memory_per_pixel(self, backend_name: str) -> int: ...    # bytes per input pixel of one pass


@dataclass(frozen=True)
class Framing:
    """How a graph wants its tile, as its upstream runner feeds it (realcugan-, waifu2x-, realsr- and
    srmd-ncnn-vulkan, read for each): `pad` context pixels on every side, made by numpy's `border` mode
    ("reflect" mirrors without the edge pixel, "edge" repeats it); height and width rounded up to `multiple`
    on the bottom and right; the graph crops the context itself (`graph_crops`, valid convolutions) or
    returns it ×scale to be cut here; `residual`: the output is added to the nearest-upscaled input;
    `constants` and `noise_channel`: channels appended to the image (SRMD's degradation map)."""
    pad: int = 0
    border: str = "reflect"
    multiple: int = 1
    graph_crops: bool = False
    residual: bool = False
    constants: tuple[float, ...] = ()
    noise_channel: bool = False


PLAIN = Framing()


class Framed:
    """A runner that feeds its graph as `framing` says; `noise`: the σ (0–255 scale) a noise-channel graph is
    told (network parameters reach the runner as keywords)."""

    def __init__(self, run: Callable[[np.ndarray], np.ndarray], framing: Framing, scale: int):
        self._run, self.framing, self.scale = run, framing, scale

    def __call__(self, chw: np.ndarray, noise: float = 0.0) -> np.ndarray:
        f, s = self.framing, self.scale
        if f == PLAIN:
            return self._run(chw)
        _, h, w = chw.shape
        extra_h, extra_w = (-h) % f.multiple, (-w) % f.multiple
        data = np.pad(chw, ((0, 0), (f.pad, f.pad + extra_h), (f.pad, f.pad + extra_w)), mode=f.border)
        planes = list(f.constants) + ([noise / 255] if f.noise_channel else [])
        if planes:
            data = np.concatenate([data, np.broadcast_to(np.float32(planes)[:, None, None],
                                                         (len(planes),) + data.shape[1:])])
        out = self._run(data)
        top = 0 if f.graph_crops else f.pad * s
        out = out[:, top:top + h * s, top:top + w * s]
        if f.residual:
            out = out + np.repeat(np.repeat(chw, s, axis=1), s, axis=2)
        return out


class TorchRunner:
    """fp32, or bfloat16 weights and activations in channels-last layout (not autocast, which is slower)."""

    def __init__(self, module, bf16: bool = False):
        import torch

        self.dtype = torch.bfloat16 if bf16 else torch.float32
        if bf16:
            module = copy.deepcopy(module).to(torch.bfloat16).to(memory_format=torch.channels_last)
        self.module = module
        self.steps = install_step_hooks(module)

    def __call__(self, chw: np.ndarray) -> np.ndarray:
        import torch

        x = torch.from_numpy(chw)[None]
        if self.dtype is not torch.float32:
            x = x.to(self.dtype).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            out = self.module(x)
        return out.squeeze(0).float().contiguous().numpy()


class DeviceFailed(RuntimeError):
    """A GPU backend failed (it would not build, out of device memory, a driver error): the CPU takes over."""


class TorchGPURunner:
    """The same module on a GPU that torch drives: "cuda" (NVIDIA) or "mps" (Apple Silicon, Metal). fp16 weights
    and activations where the GPU computes in half precision (CUDA compute capability ≥ 5.3; every Apple GPU), else
    fp32; each tile in and out of GPU memory. Layer hooks fire as layers are queued, so progress and Cancel move per
    tile here. On MPS an op it lacks runs on the CPU (PYTORCH_ENABLE_MPS_FALLBACK, set by core/__init__.py): torch
    warns once per op, and the op is kept in MPS_ON_CPU, which the device lines name."""
    steps = 0

    def __init__(self, module, device: str):
        import torch

        self.device = device
        self.half = device == "mps" or torch.cuda.get_device_capability() >= (5, 3)
        self.module = copy.deepcopy(module).to(device)
        if self.half:
            self.module = self.module.half()

    def __call__(self, chw: np.ndarray) -> np.ndarray:
        import torch

        try:
            # (torch says each op it runs on the CPU once per process, as a warning: heard on MPS only)
            mps = self.device == "mps"
            with warnings.catch_warnings(record=True) if mps else contextlib.nullcontext() as said:
                if mps:
                    warnings.simplefilter("always")
                x = torch.from_numpy(chw)[None].to(self.device)
                with torch.inference_mode():
                    out = self.module(x.half() if self.half else x)
                result = out.squeeze(0).float().cpu().numpy()
            MPS_ON_CPU.update(ops_on_cpu(str(w.message) for w in said or ()))
            return result
        except RuntimeError as exc:  # out of GPU memory, a driver error (a Cancel raised by a layer hook passes)
            raise DeviceFailed(f"{self.device.upper()}: {exc}") from exc


MPS_ON_CPU: set[str] = set()  # the ops that ran on the CPU beside Apple's GPU, as torch named them


def ops_on_cpu(messages) -> set[str]:
    """The op names of torch's MPS fall-back warnings ("The operator 'aten::x' is not currently supported on the
    MPS backend and will fall back to run on the CPU")."""
    return {m.group(1) for text in messages
            if (m := re.search(r"operator '([^']+)' is not currently supported on the MPS backend", text))}


def mps_available() -> bool:
    """torch sees Apple's Metal GPU (Apple Silicon, macOS 12.3 or later)."""
    try:
        import torch

        return torch.backends.mps.is_available()
    except Exception:
        return False


def cuda_available() -> bool:
    """torch sees a CUDA GPU (the CPU wheels never do)."""
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:  # a broken driver must not take the CPU backends down
        return False


class NcnnRunner:
    """ncnn offers no hook inside a graph: progress and cancellation happen between tiles."""
    steps = 0

    def __init__(self, files: tuple[Path, Path], bf16: bool, input_blob: str, output_blob: str):
        import ncnn

        self.net = ncnn.Net()
        self.net.opt.use_vulkan_compute = False
        self.net.opt.num_threads = machine.threads()
        self.net.opt.use_bf16_storage = bf16
        self.net.load_param(str(files[0]))
        self.net.load_model(str(files[1]))
        self.input_blob, self.output_blob = input_blob, output_blob

    def __call__(self, chw: np.ndarray) -> np.ndarray:
        import ncnn

        # Our own pools, cleared after each tile: ncnn's default ones keep the peak (~1.6 GB at 192² for
        # RRDBNet) for the life of the net, per model (measured with bench/memory.py).
        blobs, workspace = ncnn.UnlockedPoolAllocator(), ncnn.PoolAllocator()
        try:
            ex = self.net.create_extractor()
            ex.set_blob_allocator(blobs)
            ex.set_workspace_allocator(workspace)
            data = np.ascontiguousarray(chw, dtype=np.float32)  # ncnn.Mat borrows this memory
            ex.input(self.input_blob, ncnn.Mat(data))
            ret, out = ex.extract(self.output_blob)
            if ret != 0:
                raise RuntimeError(f"ncnn failed on a {chw.shape[2]}×{chw.shape[1]} tile (code {ret})")
            result = np.array(out, copy=True)
            del out, ex
            return result
        finally:
            blobs.clear()
            workspace.clear()


class VulkanRunner(NcnnRunner):
    """ncnn on Vulkan device `index`: fp16 storage, packing and arithmetic asked for (ncnn leaves out what the device
    does not offer); layers without a Vulkan kernel run on the CPU threads. A failed tile raises DeviceFailed."""

    def __init__(self, files: tuple[Path, Path], index: int, input_blob: str, output_blob: str):
        import ncnn

        self.net = ncnn.Net()
        opt = self.net.opt
        opt.use_vulkan_compute = True
        opt.use_fp16_storage = opt.use_fp16_packed = opt.use_fp16_arithmetic = True
        opt.num_threads = machine.threads()
        self.net.set_vulkan_device(index)
        if self.net.load_param(str(files[0])) != 0 or self.net.load_model(str(files[1])) != 0:
            raise DeviceFailed(f"ncnn could not load {files[0].name} on Vulkan device {index}")
        self.input_blob, self.output_blob = input_blob, output_blob

    def __call__(self, chw: np.ndarray) -> np.ndarray:
        try:
            return super().__call__(chw)
        except RuntimeError as exc:  # extract's non-zero code: out of device memory, a lost device
            raise DeviceFailed(f"Vulkan: {exc}") from exc


class Runner:
    """A built backend for one network: call it on a C×h×w tile; `name` (the choice, "vulkan:0"), `label` and
    `steps` (layer hooks per pass, 0 when progress only moves between tiles)."""

    def __init__(self, name: str, run, steps: int, framing: Framing, scale: int):
        self.name, self.label, self.steps = name, label(name), steps
        self._framed = Framed(run, framing, scale)

    def __call__(self, chw: np.ndarray, **params) -> np.ndarray:
        return self._framed(chw, **params)


@dataclass(frozen=True, kw_only=True)
class Backend:
    name: str
    label: str
    runs: Callable[[RunnableNetwork], bool]   # can it run this network (architecture, files present)?
    make: Callable[..., object]  # (spec) or, on a device, (spec, device): the raw runner C×h×w → C×(h·s)×(w·s)
    emulated_here: Callable[[], bool] = lambda: False  # True: slow on this machine by construction; not timed
    # a backend on a device: the device a choice names (index N of "name:N"; None: the one `auto` may use), or None
    device: Callable[[int | None], "machine.VulkanDevice | None"] | None = None
    memory_as: str = ""  # the backend whose measured memory per input pixel sizes this one's tile
    cpu: bool = True     # False: on a GPU, whose failure hands the job to the plan's CPU backend (`for_job`)

    def build(self, spec: RunnableNetwork, index: int | None = None) -> Runner:
        raw = self.make(spec, self.device(index)) if self.device else self.make(spec)
        return Runner(self.name if index is None else f"{self.name}:{index}", raw, raw.steps, spec.framing,
                      spec.native_scale)


def _ncnn(bf16: bool):
    def make(spec: RunnableNetwork):
        spec.verify()  # ncnn-only models: the file is checked before it runs
        return NcnnRunner(spec.ncnn_files(), bf16, *spec.ncnn_blobs)
    return make


def _vulkan(spec: RunnableNetwork, device: "machine.VulkanDevice | None"):
    if device is None:
        raise DeviceFailed("no Vulkan device to run it on")
    spec.verify()
    return VulkanRunner(spec.ncnn_files(), device.index, *spec.ncnn_blobs)


BACKENDS: Registry[Backend] = Registry("backend")
BACKENDS.register(Backend(name="torch", label="torch fp32", runs=lambda s: s.has_torch,
                          make=lambda s: TorchRunner(s.torch_module())))
BACKENDS.register(Backend(name="torch-bf16", label="torch bfloat16, channels-last", runs=lambda s: s.has_torch,
                          make=lambda s: TorchRunner(s.torch_module(), bf16=True),
                          emulated_here=lambda: not machine.native_bf16()))
BACKENDS.register(Backend(name="ncnn-bf16", label="ncnn bf16 storage", runs=lambda s: s.ncnn_files() is not None,
                          make=_ncnn(True)))
BACKENDS.register(Backend(name="ncnn", label="ncnn fp32", runs=lambda s: s.ncnn_files() is not None,
                          make=_ncnn(False)))
BACKENDS.register(Backend(name="cuda", label="CUDA GPU (fp16 where supported)",
                          runs=lambda s: s.has_torch and cuda_available(),
                          make=lambda s: TorchGPURunner(s.torch_module(), "cuda"), cpu=False))
BACKENDS.register(Backend(name="mps", label="Apple GPU (Metal, fp16)", runs=lambda s: s.has_torch and mps_available(),
                          make=lambda s: TorchGPURunner(s.torch_module(), "mps"), cpu=False))
BACKENDS.register(Backend(name="vulkan", label="ncnn on Vulkan, fp16", runs=lambda s: s.ncnn_files() is not None,
                          make=_vulkan, device=machine.vulkan_device, memory_as="ncnn", cpu=False))


def parse(choice: str) -> tuple[Backend, int | None]:
    """A backend choice → (its entry, the device index it names or None): "ncnn", "vulkan", "vulkan:1"."""
    name, colon, index = choice.partition(":")
    backend = BACKENDS.get(name)  # unknown: the registry's error names the known ones
    if not colon:
        return backend, None
    if backend.device is None or not index.isdigit():
        raise ValueError(f"unknown backend {choice!r}: only a backend on a device takes an index "
                         f"({', '.join(b.name + ':N' for b in BACKENDS if b.device)})")
    return backend, int(index)


class Choices(tuple):
    """"auto" and every backend's name, for argparse and the pages; `in` also accepts "name:N" for a backend on a
    device (whether device N exists is for the plan to say)."""

    def __contains__(self, choice) -> bool:
        if tuple.__contains__(self, choice):
            return True
        try:
            return isinstance(choice, str) and parse(choice)[1] is not None
        except (KeyError, ValueError):
            return False


CHOICES = Choices(("auto", *BACKENDS.names()))
LABELS = {b.name: b.label for b in BACKENDS}


def label(choice: str) -> str:
    """A backend's label; on a device, with the device named ("ncnn on Vulkan, fp16: llvmpipe (…), CPU device,
    Vulkan 1.3")."""
    backend, index = parse(choice)
    device = backend.device(index) if backend.device else None
    return f"{backend.label}: {device.describe()}" if device else backend.label


def on_gpu(choice: str) -> bool:
    """Whether the choice runs on a GPU, which may fail and hand its job to the CPU."""
    return choice != "auto" and not parse(choice)[0].cpu


def missing_device(choice: str) -> str:
    """Why a device backend asked for by hand has no device here."""
    index = parse(choice)[1]
    if index is None:
        return machine.vulkan_note()
    devices = machine.vulkan_devices()
    return f"there is no Vulkan device {index} here (" + (
        "; ".join(f"vulkan:{d.index} is {d.describe()}" for d in devices) or machine.vulkan_problem()) + ")"


def can_run(spec: RunnableNetwork, choice: str) -> bool:
    """Whether backend choice `choice` runs `spec` here: it runs the network, and on a device, the device is there."""
    backend, index = parse(choice)
    return backend.runs(spec) and (backend.device is None or backend.device(index) is not None)


def memory_key(choice: str) -> str:
    """The name a network's memory-per-pixel table knows this backend by."""
    backend = parse(choice)[0]
    return backend.memory_as or backend.name


def runnable(spec: RunnableNetwork) -> list[str]:
    """Every backend that can run `spec` here (a user may choose any of them by hand; a device by index too)."""
    return [b.name for b in BACKENDS if can_run(spec, b.name)]


def candidates(spec: RunnableNetwork) -> list[str]:
    """The backends `auto` measures: runnable, and not emulated on this CPU (bf16 without native bf16); a backend on
    a device only with a device `auto` may use (a real GPU)."""
    return [b.name for b in BACKENDS if can_run(spec, b.name) and not b.emulated_here()]


# spec → {backend name: runner}. Weak keys: a session's own model and its runners go when the session drops it.
_built: "weakref.WeakKeyDictionary[object, dict[str, Runner]]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()
_building: dict[tuple[int, str], threading.Lock] = {}


def is_built(spec: RunnableNetwork, name: str) -> bool:
    """Whether the runner for (`spec`, backend `name`) is already loaded in this process (a job's first run of a
    network also loads it: worth saying only then)."""
    with _lock:
        return name in _built.get(spec, {})


def built(spec: RunnableNetwork, name: str) -> Runner:
    """The runner for (`spec`, backend `name`), built once per process; two threads asking at once build once,
    and building one model never waits for another."""
    with _lock:
        runners = _built.setdefault(spec, {})
        if name in runners:
            return runners[name]
        building = _building.setdefault((id(spec), name), threading.Lock())
    try:
        with building:
            if name not in runners:
                if not can_run(spec, name):
                    raise ValueError(f"{spec.name} cannot run on {name}; it runs on {', '.join(runnable(spec))}")
                backend, index = parse(name)
                runners[name] = backend.build(spec, index)
    finally:  # a build that failed (a GPU that would not load) is tried again by the next job
        with _lock:
            _building.pop((id(spec), name), None)
    return runners[name]


class JobRunner:
    """One job's runner: the plan's backend, called per tile. On a device (a GPU) that fails — it will not build,
    out of device memory, a driver error on a tile — that tile and the rest of the job run on the plan's CPU
    `fallback`: the tiles finished before are kept, and `why` gains one line saying so. `label` and `why`: what
    ran it, for the job's statistics."""

    def __init__(self, spec: RunnableNetwork, plan):
        self.spec, self.plan = spec, plan
        self.tiles_done, self.failed_at, self.error = 0, 0, ""
        self._runner = self._fallback = None
        try:
            self._runner = built(spec, plan.backend)
        except DeviceFailed as exc:
            self._fail(exc)

    @property
    def steps(self) -> int:
        return (self._runner or self._fallback).steps

    def _fail(self, exc: DeviceFailed) -> None:
        if not (getattr(self.plan, "fallback", "") and on_gpu(self.plan.backend)):
            raise exc
        self.failed_at, self.error = self.tiles_done + 1, str(exc).splitlines()[0]
        self._runner, self._fallback = None, built(self.spec, self.plan.fallback)

    def __call__(self, chw: np.ndarray, **params) -> np.ndarray:
        if self._runner is not None:
            try:
                out = self._runner(chw, **params)
                self.tiles_done += 1
                return out
            except DeviceFailed as exc:  # said in the job's statistics, and the job goes on on the CPU
                self._fail(exc)
        out = self._fallback(chw, **params)
        self.tiles_done += 1
        return out

    @property
    def label(self) -> str:
        if not self.failed_at:
            return self.plan.label
        done = self.failed_at - 1
        return f"{self.plan.label} for {done} tile(s), then {self._fallback.label}" if done else self._fallback.label

    @property
    def why(self) -> str:
        if not self.failed_at:
            return self.plan.why
        done, of = self.failed_at - 1, max(getattr(self.plan, "tiles", 1), self.failed_at)
        return (f"{self.plan.why}; the GPU failed " + (
            f"at tile {self.failed_at} of {of} ({self.error}): the {done} tile(s) it finished are kept, the rest ran "
            if done else f"before its first tile ({self.error}): all ran ") + f"on the CPU, {self._fallback.label}")


def for_job(spec: RunnableNetwork, plan) -> JobRunner:
    """The runner of one job's `plan` (select.Plan: backend, label, why, fallback)."""
    return JobRunner(spec, plan)


def device_lines() -> list[str]:
    """Each GPU and whether `auto` uses it, or why there is none (`python -m core methods --backends`, the
    handouts' machine section): the Vulkan devices, and a CUDA card or Apple's GPU where torch sees one."""
    devices = machine.vulkan_devices()
    lines = ([f"Vulkan device {d.index}: {d.line()}" for d in devices] if devices else
             [f"Vulkan: none ({machine.vulkan_problem()})"])
    if cuda_available():
        import torch

        lines.append(f"CUDA: {torch.cuda.get_device_name(0)} (the cuda backend)")
    if mps_available():
        lines.append("Apple GPU (Metal): the mps backend" + (f"; ops that ran on the CPU beside it: "
                                                            f"{', '.join(sorted(MPS_ON_CPU))}" if MPS_ON_CPU else ""))
    return lines
