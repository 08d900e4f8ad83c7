"""Ways to run a network on the CPU. The tiler (core/tiling.py) calls a backend on C×h×w float32 tiles.

- torch:      the official PyTorch architecture in fp32 (the reference; every model converted from ncnn has it)
- torch-bf16: the same module with its weights cast to bfloat16, channels-last; output back to float32.
              ~3× fp32 on CPUs with native bf16 (AVX-512 BF16, AMX); emulated and slow elsewhere.
- ncnn:       the ncnn runtime on the same ncnn files the weights come from, fp32 (≈ torch, max diff ~1e-5)
- ncnn-bf16:  ncnn with bfloat16 storage

"auto" measures the candidates once per machine and model (warm-up, then the median of several runs on a
real photo crop), keeps the fastest whose output stays ≥ 45 dB PSNR from fp32, and per image weighs what
tiling costs each one. The measurements, with the CPU's flags and the library versions they were made with,
are saved in weights/backend_choice.json; a change of either measures again.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import settings
from core import weights as _weights

CHOICES = ("auto", "torch", "torch-bf16", "ncnn", "ncnn-bf16")
LABELS = {"torch": "torch fp32", "torch-bf16": "torch bfloat16, channels-last", "ncnn": "ncnn fp32",
          "ncnn-bf16": "ncnn bf16 storage"}
MIN_PSNR_DB = 45.0
CALIBRATION_SIZES = (128, 256)  # 256 only where 128 is quick: a fast model's 128² time is mostly overhead
_lock = threading.Lock()
_backends: dict[tuple[str, str], object] = {}
_step = threading.local()  # the running job's on_step, seen by the torch step hooks of this thread


class TorchBackend:
    """fp32, or bfloat16 weights and activations in channels-last layout (not autocast, which is slower)."""

    def __init__(self, module, bf16: bool = False):
        import copy

        import torch

        self.name = "torch-bf16" if bf16 else "torch"
        self.label = LABELS[self.name]
        self.dtype = torch.bfloat16 if bf16 else torch.float32
        if bf16:
            module = copy.deepcopy(module).to(torch.bfloat16).to(memory_format=torch.channels_last)
        self.module = module
        self.steps = _install_step_hooks(module)

    def __call__(self, chw: np.ndarray) -> np.ndarray:
        import torch

        x = torch.from_numpy(chw)[None]
        if self.dtype is not torch.float32:
            x = x.to(self.dtype).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            out = self.module(x)
        return out.squeeze(0).float().contiguous().numpy()


def _install_step_hooks(module) -> int:
    """A forward hook on every convolution reports progress inside a tile and lets a job be cancelled
    between layers (RealESRGAN_x4plus has 351: one every few ms to ~1 s). Returns the number of steps."""
    import torch

    convs = [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    if not getattr(module, "_srlab_step_hooks", False):  # the fp32 module is shared: hook it once
        for conv in convs:
            conv.register_forward_hook(_on_layer_done)
        module._srlab_step_hooks = True
    return len(convs)


def _on_layer_done(*_args) -> None:
    hook = getattr(_step, "hook", None)
    if hook is not None:
        hook()


def threads() -> int:
    """CPU threads for one job: OMP_NUM_THREADS where set (a Ray worker gets its task's CPUs there, so two
    workers on two cores do not each start two threads), else every core."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Framing:
    """How an ncnn graph wants its tile, as its upstream runner feeds it (realcugan-, waifu2x-, realsr- and
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


class NcnnBackend:
    """ncnn offers no hook inside a graph: progress and cancellation happen between tiles."""
    steps = 0

    def __init__(self, files: tuple[Path, Path], bf16: bool, input_blob: str, output_blob: str,
                 framing: Framing = PLAIN, scale: int = 1):
        import ncnn

        self.name = "ncnn-bf16" if bf16 else "ncnn"
        self.label = LABELS[self.name]
        self.net = ncnn.Net()
        self.net.opt.use_vulkan_compute = False
        self.net.opt.num_threads = threads()
        self.net.opt.use_bf16_storage = bf16
        self.net.load_param(str(files[0]))
        self.net.load_model(str(files[1]))
        self.input_blob, self.output_blob = input_blob, output_blob
        self.framing, self.scale = framing, scale

    def __call__(self, chw: np.ndarray, noise: float = 0.0) -> np.ndarray:
        """C×h×w in 0…1 → C×(h·scale)×(w·scale); `noise`: the σ (0–255 scale) a noise-channel graph is told."""
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

    def _run(self, chw: np.ndarray) -> np.ndarray:
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


def candidates(spec) -> list[str]:
    names = ["torch", "torch-bf16"] if spec.has_torch else []
    return names + (["ncnn-bf16", "ncnn"] if spec.ncnn.files() else [])


def build(spec, name: str):
    if name in ("torch", "torch-bf16"):
        return TorchBackend(spec.torch_module(), bf16=name == "torch-bf16")
    files = spec.ncnn.files()
    if files is None:
        raise _weights.WeightsUnavailable(f"{spec.name}: the ncnn backend needs the package {spec.ncnn.pip_name}")
    spec.weights()  # ncnn-only models: verify the file before running it
    return NcnnBackend(files, name == "ncnn-bf16", spec.ncnn.input_blob, spec.ncnn.output_blob, spec.framing,
                       spec.native_scale)


def _built(spec, name: str):
    if (spec.name, name) not in _backends:
        _backends[(spec.name, name)] = build(spec, name)
    return _backends[(spec.name, name)]


def get(spec, choice: str = "auto", height: int = 0, width: int = 0, tile_for=None):
    """The backend for `spec`, built once per process. For "auto" with an image size and `tile_for(backend
    name) -> tile size`, the choice also weighs what tiling would cost each backend on that image."""
    choice = settings.current().backend if choice == "auto" else choice
    if choice not in CHOICES:
        raise ValueError(f"unknown backend {choice!r}; choose one of {', '.join(CHOICES)}")
    with _lock:
        if choice == "auto" and not spec.measured_auto:
            name = candidates(spec)[0]
        elif choice == "auto":
            record = _auto_choice(spec)
            name = _cheapest(record, height, width, tile_for) if height and tile_for else record["backend"]
        else:
            name = choice
        if name not in candidates(spec):
            raise ValueError(f"{spec.name} cannot run on {name}; it runs on {', '.join(candidates(spec))}")
        return _built(spec, name)


@contextlib.contextmanager
def steps(runner, n_tiles: int, on_step):
    """While a network runs: `on_step(fraction done)` after every layer of a torch backend (so one large
    tile shows progress and can be cancelled between layers) and after every tile. Yields `tile_done(n)`."""
    layers = getattr(runner, "steps", 0)
    per_tile = max(1, layers)
    total = per_tile * n_tiles
    done = [0]

    def layer() -> None:
        done[0] = min(done[0] + 1, total)
        on_step(done[0] / total)

    def tile_done(tiles: int) -> None:
        done[0] = tiles * per_tile
        if on_step:
            on_step(tiles / n_tiles)

    previous = getattr(_step, "hook", None)
    _step.hook = layer if on_step and layers else None
    try:
        yield tile_done
    finally:
        _step.hook = previous


# ---------------------------------------------------------------- measuring, once per machine
def cpu_flags() -> list[str]:
    """The CPU features that decide which backend is fast (bf16 is emulated without them)."""
    wanted = {"avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile", "bf16", "asimd"}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return sorted(wanted & set(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return []


@functools.lru_cache(maxsize=1)
def machine() -> dict:
    """What a calibration depends on: CPU model, core count, flags, library versions (read once)."""
    import importlib.metadata as md

    model = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for pkg in ("torch", "ncnn", "numpy"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {"cpu": f"{platform.machine()} {model}", "cores": os.cpu_count(), "flags": cpu_flags(),
            "versions": versions}


def _choice_file() -> Path:
    return settings.current().weights_dir / "backend_choice.json"


_records: dict[tuple[Path, str], dict] = {}  # this process's copy of the saved measurements


def _auto_choice(spec) -> dict:
    path = _choice_file()
    if (path, spec.name) in _records:
        return _records[(path, spec.name)]
    try:
        saved = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, json.JSONDecodeError):
        saved = {}
    here = machine()
    if saved.get("machine") != here:  # another CPU or library version: every model is measured again
        saved = {"machine": here, "models": {}}
    record = saved["models"].get(spec.name)
    if record and record.get("sha256") == spec.sha256 and set(record["measured"]) == set(candidates(spec)):
        _records[(path, spec.name)] = record
        return record
    record = calibrate(spec)
    _records[(path, spec.name)] = record
    saved["models"][spec.name] = record
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(saved, indent=1))
    os.replace(tmp, path)
    return record


def measured(spec) -> dict | None:
    """This machine's saved measurements for `spec` (None before the first calibration)."""
    if (_choice_file(), spec.name) in _records:
        return _records[(_choice_file(), spec.name)]
    try:
        saved = json.loads(_choice_file().read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if saved.get("machine") != machine():
        return None
    return saved.get("models", {}).get(spec.name)


def _cheapest(record: dict, height: int, width: int, tile_for) -> str:
    """Expected time = measured seconds per pixel × the pixels the tiles really run (overlaps included)."""
    cost = {name: expected_seconds(record, name, height, width, tile_for(name))
            for name, m in record["measured"].items() if m["psnr_vs_fp32_db"] >= MIN_PSNR_DB}
    return min(cost, key=cost.get) if cost else record["backend"]


def expected_seconds(record: dict, name: str, height: int, width: int, tile: int) -> float:
    from core.tiling import tiled_area

    return record["measured"][name]["seconds_per_mpx"] * tiled_area(height, width, tile) / 1e6


def explain(spec, name: str, choice: str) -> str:
    """Why `name` runs `spec`: chosen by hand, or this machine's measurements (seconds per megapixel)."""
    choice = settings.current().backend if choice == "auto" else choice
    if choice != "auto":
        return f"{LABELS[name]}: chosen by hand"
    record = measured(spec)
    if record is None:
        return LABELS[name]
    times = ", ".join(f"{n} {m['seconds_per_mpx']:.3g} s/MP" + ("" if m["psnr_vs_fp32_db"] >= MIN_PSNR_DB else
                                                                " (too far from fp32)")
                      for n, m in record["measured"].items())
    return f"{LABELS[name]}: the fastest faithful one measured on this machine, tiling counted per image (measured: {times})"


def calibration_image(size: int = 64) -> np.ndarray:
    import cv2
    from skimage import data

    face = data.astronaut()[30:222, 130:322]  # a face: skin, eyes, hair
    return np.ascontiguousarray(cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA)
                                .astype(np.float32).transpose(2, 0, 1) / 255)


def _median_seconds(backend, x: np.ndarray, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        backend(x)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def calibrate(spec, sizes: tuple[int, ...] = CALIBRATION_SIZES) -> dict:
    """Per candidate: a warm-up run (also the output compared with fp32), then the median of 3 runs at
    128², and at 256² as well when 128² took under 0.25 s. A candidate whose warm-up is over 4× the best
    median so far (bf16 emulated in software, say) is timed by that warm-up alone: it cannot win."""
    from core.metrics import psnr

    names = candidates(spec)
    reference_name = "torch" if "torch" in names else "ncnn"
    x = calibration_image(sizes[0])
    report, outputs, best = {}, {}, float("inf")
    for name in names:
        backend = _built(spec, name)
        t = time.perf_counter()
        outputs[name] = np.clip(backend(x), 0, 1)
        warm = time.perf_counter() - t
        timings = {}
        if warm > 4 * best:
            timings[sizes[0]] = warm
        else:
            timings[sizes[0]] = _median_seconds(backend, x)
            for size in sizes[1:]:
                if timings[sizes[0]] < 0.25:
                    timings[size] = _median_seconds(backend, calibration_image(size))
        largest = max(timings)
        per_mpx = timings[largest] / (largest * largest / 1e6)
        best = min(best, timings[sizes[0]])
        report[name] = {"seconds": {str(k): round(v, 4) for k, v in timings.items()},
                        "seconds_per_mpx": round(per_mpx, 3)}
    ref = outputs[reference_name]
    for name in names:  # 99: JSON has no infinity
        report[name]["psnr_vs_fp32_db"] = round(min(99.0, psnr(outputs[name], ref)), 1)
    usable = [n for n in names if report[n]["psnr_vs_fp32_db"] >= MIN_PSNR_DB]
    chosen = min(usable, key=lambda n: report[n]["seconds_per_mpx"])
    return {"backend": chosen, "sha256": spec.sha256, "measured": report,
            "why": f"{LABELS[chosen]}: fastest of {', '.join(usable)} at "
                   f"{report[chosen]['seconds_per_mpx']:.3g} s per input megapixel"}
