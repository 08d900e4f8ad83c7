"""Ways to run a network on the CPU. The tiler (core/tiling.py) calls a backend on C×h×w float32 tiles.

- torch:     the official PyTorch architecture in fp32 (the reference; every model converted from ncnn has it)
- ncnn:      the ncnn runtime on the same ncnn files the weights come from, fp32 (≈ torch, max diff ~1e-5)
- ncnn-bf16: ncnn with bfloat16 storage: faster where the CPU has AVX-512 BF16, ≈ 50 dB from fp32

"auto" measures the candidates once per machine and model on a 64×64 real image and keeps the fastest whose
output stays ≥ 45 dB PSNR from the fp32 reference; the choice is saved in weights/backend_choice.json.
"""
from __future__ import annotations

import json
import os
import platform
import threading
import time
from pathlib import Path

import numpy as np

from core import weights as _weights

CHOICES = ("auto", "torch", "ncnn", "ncnn-bf16")
MIN_PSNR_DB = 45.0
_lock = threading.Lock()
_backends: dict[tuple[str, str], object] = {}


class TorchBackend:
    def __init__(self, module, name: str = "torch"):
        self.module, self.name = module, name
        self.label = "torch fp32"

    def __call__(self, chw: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.module(torch.from_numpy(chw)[None]).squeeze(0).numpy()


class NcnnBackend:
    def __init__(self, files: tuple[Path, Path], bf16: bool, input_blob: str, output_blob: str):
        import ncnn

        self.name = "ncnn-bf16" if bf16 else "ncnn"
        self.label = "ncnn bf16 storage" if bf16 else "ncnn fp32"
        self.net = ncnn.Net()
        self.net.opt.use_vulkan_compute = False
        self.net.opt.num_threads = max(1, os.cpu_count() or 1)
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


class RealCuganAdapter(NcnnBackend):
    """Real-CUGAN's ncnn graphs (from realcugan-ncnn-vulkan) expect the tile reflect-padded by `prepadding`
    and made even (×2, ×4); they crop the padding themselves, and the ×4 graph returns a residual to add to
    the nearest-upscaled input."""
    PREPADDING = {2: 18, 3: 14, 4: 19}

    def __init__(self, *args, scale: int, **kw):
        super().__init__(*args, **kw)
        self.scale = scale

    def __call__(self, chw: np.ndarray) -> np.ndarray:
        _, h, w = chw.shape
        pad = self.PREPADDING[self.scale]
        multiple = 4 if self.scale == 3 else 2
        padded = np.pad(chw, ((0, 0), (pad, pad + (-h) % multiple), (pad, pad + (-w) % multiple)), mode="reflect")
        out = super().__call__(padded)[:, :h * self.scale, :w * self.scale]
        if self.scale == 4:
            out = out + np.repeat(np.repeat(chw, 4, axis=1), 4, axis=2)
        return out


def candidates(spec) -> list[str]:
    names = ["torch"] if spec.arch in _torch_archs() else []
    return names + (["ncnn-bf16", "ncnn"] if spec.ncnn.files() else [])


def _torch_archs():
    from core.methods import ARCHITECTURES
    return ARCHITECTURES


def build(spec, name: str):
    if name == "torch":
        from core.engine import load_network
        return TorchBackend(load_network(spec.name)[0])
    files = spec.ncnn.files()
    if files is None:
        raise _weights.WeightsUnavailable(f"{spec.name}: the ncnn backend needs the package {spec.ncnn.pip_name}")
    if spec.official_filename is None:
        _weights.resolve_ncnn(spec)  # ncnn-only models: verify the file before running it
    args = (files, name == "ncnn-bf16", spec.ncnn.input_blob, spec.ncnn.output_blob)
    if spec.ncnn_adapter == "realcugan":
        return RealCuganAdapter(*args, scale=spec.native_scale)
    return NcnnBackend(*args)


def get(spec, choice: str = "auto", height: int = 0, width: int = 0, tile_for=None):
    """The backend for `spec`, built once per process. For "auto" with an image size and `tile_for(backend
    name) -> tile size`, the choice also weighs what tiling would cost each backend on that image."""
    choice = os.environ.get("SRLAB_BACKEND", choice) if choice == "auto" else choice
    if choice not in CHOICES:
        raise ValueError(f"unknown backend {choice!r}; choose one of {', '.join(CHOICES)}")
    with _lock:
        if choice == "auto":
            record = _auto_choice(spec)
            name = _cheapest(record, height, width, tile_for) if height and tile_for else record["backend"]
        else:
            name = choice
        if name not in candidates(spec):
            raise ValueError(f"{spec.name} cannot run on {name}; it runs on {', '.join(candidates(spec))}")
        if (spec.name, name) not in _backends:
            _backends[(spec.name, name)] = build(spec, name)
        return _backends[(spec.name, name)]


def _machine() -> str:
    model = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()} {model} ×{os.cpu_count()}"


def _choice_file() -> Path:
    return _weights.WEIGHTS_DIR / "backend_choice.json"


def _auto_choice(spec) -> dict:
    key = f"{_machine()} | {spec.name}"
    path = _choice_file()
    saved = json.loads(path.read_text()) if path.is_file() else {}
    if key in saved and saved[key]["backend"] in candidates(spec):
        return saved[key]
    result = calibrate(spec)
    saved[key] = result
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(saved, indent=1))
    return result


def _cheapest(record: dict, height: int, width: int, tile_for) -> str:
    """Expected time = measured seconds per pixel × the pixels the tiles really run (overlaps included)."""
    from core.tiling import tiled_area

    cost = {}
    for name, m in record["measured"].items():
        if m["psnr_vs_fp32_db"] >= MIN_PSNR_DB:
            cost[name] = m["seconds"] * tiled_area(height, width, tile_for(name))
    return min(cost, key=cost.get) if cost else record["backend"]


def calibration_image(size: int = 64) -> np.ndarray:
    import cv2
    from skimage import data

    face = data.astronaut()[30:222, 130:322]  # a face: skin, eyes, hair
    return np.ascontiguousarray(cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA)
                                .astype(np.float32).transpose(2, 0, 1) / 255)


def calibrate(spec) -> dict:
    """Time each candidate on a 64×64 real crop; keep the fastest that is ≥ MIN_PSNR_DB from fp32."""
    x = calibration_image()
    names = candidates(spec)
    reference_name = "torch" if "torch" in names else "ncnn"
    runs = {}
    for name in names:
        backend = _backends.get((spec.name, name)) or build(spec, name)
        _backends[(spec.name, name)] = backend
        out = backend(x)  # warm-up (and the output to compare)
        times: list[float] = []
        while len(times) < 2 or (sum(times) < 0.5 and len(times) < 20):  # fast models: more runs, less noise
            t = time.perf_counter()
            backend(x)
            times.append(time.perf_counter() - t)
        runs[name] = (min(times), np.clip(out, 0, 1))
    from core.metrics import psnr

    ref = runs[reference_name][1]
    report = {name: {"seconds": round(seconds, 4), "psnr_vs_fp32_db": round(min(99.0, psnr(out, ref)), 1)}
              for name, (seconds, out) in runs.items()}  # 99: JSON has no infinity
    usable = [n for n in names if report[n]["psnr_vs_fp32_db"] >= MIN_PSNR_DB]
    best = min(usable, key=lambda n: report[n]["seconds"])
    return {"backend": best, "measured": report}
