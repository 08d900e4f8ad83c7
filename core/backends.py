"""Ways to run a network on the CPU. The tiler (core/tiling.py) calls a backend on C×h×w float32 tiles.

- torch:     the official PyTorch architecture in fp32 (the reference; every model converted from ncnn has it)
- ncnn:      the ncnn runtime on the same ncnn files the weights come from, fp32 (≈ torch, max diff ~1e-5)
- ncnn-bf16: ncnn with bfloat16 storage: faster where the CPU has AVX-512 BF16, ≈ 50 dB from fp32

"auto" measures the candidates once per machine and model on a small real image and keeps the fastest whose
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

        ex = self.net.create_extractor()
        data = np.ascontiguousarray(chw, dtype=np.float32)  # ncnn.Mat borrows this memory
        ex.input(self.input_blob, ncnn.Mat(data))
        ret, out = ex.extract(self.output_blob)
        if ret != 0:
            raise RuntimeError(f"ncnn failed on a {chw.shape[2]}×{chw.shape[1]} tile (code {ret})")
        return np.array(out, copy=True)


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
    return NcnnBackend(files, name == "ncnn-bf16", spec.ncnn.input_blob, spec.ncnn.output_blob)


def get(spec, choice: str = "auto"):
    """The backend for `spec`, built once per process."""
    choice = os.environ.get("SRLAB_BACKEND", choice) if choice == "auto" else choice
    if choice not in CHOICES:
        raise ValueError(f"unknown backend {choice!r}; choose one of {', '.join(CHOICES)}")
    with _lock:
        name = _auto_choice(spec) if choice == "auto" else choice
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


def _auto_choice(spec) -> str:
    key = f"{_machine()} | {spec.name}"
    path = _choice_file()
    saved = json.loads(path.read_text()) if path.is_file() else {}
    if key in saved and saved[key]["backend"] in candidates(spec):
        return saved[key]["backend"]
    result = calibrate(spec)
    saved[key] = result
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(saved, indent=1))
    return result["backend"]


def calibration_image(size: int = 48) -> np.ndarray:
    import cv2
    from skimage import data

    face = data.astronaut()[30:222, 130:322]  # a face: skin, eyes, hair
    return np.ascontiguousarray(cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA)
                                .astype(np.float32).transpose(2, 0, 1) / 255)


def calibrate(spec) -> dict:
    """Time each candidate on a 48×48 real crop; keep the fastest that is ≥ MIN_PSNR_DB from fp32."""
    x = calibration_image()
    names = candidates(spec)
    reference_name = "torch" if "torch" in names else "ncnn"
    runs = {}
    for name in names:
        backend = _backends.get((spec.name, name)) or build(spec, name)
        _backends[(spec.name, name)] = backend
        out = backend(x)  # warm-up (and the output to compare)
        times = []
        for _ in range(2):
            t = time.perf_counter()
            backend(x)
            times.append(time.perf_counter() - t)
        runs[name] = (min(times), np.clip(out, 0, 1))
    ref = runs[reference_name][1]
    report = {}
    for name, (seconds, out) in runs.items():
        mse = float(np.mean((out - ref) ** 2))
        report[name] = {"seconds": round(seconds, 4), "psnr_vs_fp32_db": 99.0 if mse == 0 else
                        round(10 * np.log10(1 / mse), 1)}
    usable = [n for n in names if report[n]["psnr_vs_fp32_db"] >= MIN_PSNR_DB]
    best = min(usable, key=lambda n: report[n]["seconds"])
    return {"backend": best, "measured": report}
