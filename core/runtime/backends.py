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

What the runtime needs of a network is `RunnableNetwork`, declared here where it is used; core/methods'
NetworkMethod (the catalogue's networks, a session's own model) offers it.
"""
from __future__ import annotations

import copy
import threading
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


class CudaRunner:
    """The same module on a CUDA GPU: fp16 weights and activations where the GPU computes in half precision
    (compute capability ≥ 5.3), else fp32; each tile in and out of GPU memory. Layer hooks fire as layers are
    queued, so progress and Cancel move per tile here."""
    steps = 0

    def __init__(self, module):
        import torch

        self.half = torch.cuda.get_device_capability() >= (5, 3)
        self.module = copy.deepcopy(module).cuda()
        if self.half:
            self.module = self.module.half()

    def __call__(self, chw: np.ndarray) -> np.ndarray:
        import torch

        x = torch.from_numpy(chw)[None].cuda()
        with torch.inference_mode():
            out = self.module(x.half() if self.half else x)
        return out.squeeze(0).float().cpu().numpy()


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


class Runner:
    """A built backend for one network: call it on a C×h×w tile; `name`, `label` and `steps` (layer hooks per
    pass, 0 when progress only moves between tiles)."""

    def __init__(self, backend: "Backend", run, steps: int, framing: Framing, scale: int):
        self.name, self.label, self.steps = backend.name, backend.label, steps
        self._framed = Framed(run, framing, scale)

    def __call__(self, chw: np.ndarray, **params) -> np.ndarray:
        return self._framed(chw, **params)


@dataclass(frozen=True, kw_only=True)
class Backend:
    name: str
    label: str
    runs: Callable[[RunnableNetwork], bool]   # can it run this network (architecture, files present)?
    make: Callable[[RunnableNetwork], object]  # the raw runner: C×h×w → C×(h·s)×(w·s), with a `steps` count
    emulated_here: Callable[[], bool] = lambda: False  # True: slow on this machine by construction; not timed

    def build(self, spec: RunnableNetwork) -> Runner:
        raw = self.make(spec)
        return Runner(self, raw, raw.steps, spec.framing, spec.native_scale)


def _ncnn(bf16: bool):
    def make(spec: RunnableNetwork):
        spec.verify()  # ncnn-only models: the file is checked before it runs
        return NcnnRunner(spec.ncnn_files(), bf16, *spec.ncnn_blobs)
    return make


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
                          runs=lambda s: s.has_torch and cuda_available(), make=lambda s: CudaRunner(s.torch_module())))

CHOICES = ("auto", *BACKENDS.names())
LABELS = {b.name: b.label for b in BACKENDS}


def runnable(spec: RunnableNetwork) -> list[str]:
    """Every backend that can run `spec` here (a user may choose any of them by hand)."""
    return [b.name for b in BACKENDS if b.runs(spec)]


def candidates(spec: RunnableNetwork) -> list[str]:
    """The backends `auto` measures: runnable, and not emulated on this CPU (bf16 without native bf16)."""
    return [b.name for b in BACKENDS if b.runs(spec) and not b.emulated_here()]


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
    with building:
        if name not in runners:
            if name not in runnable(spec):
                raise ValueError(f"{spec.name} cannot run on {name}; it runs on {', '.join(runnable(spec))}")
            runners[name] = BACKENDS.get(name).build(spec)
    with _lock:
        _building.pop((id(spec), name), None)
    return runners[name]
