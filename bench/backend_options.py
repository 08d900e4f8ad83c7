"""The CPU options considered for issue 6, measured side by side on one input (what `auto` chooses among, and
what was rejected): torch fp32, torch channels-last, torch frozen TorchScript, torch bf16 autocast, ncnn fp32 / bf16
storage / no winograd.

    python bench/backend_options.py [--method RealESRGAN_x4plus] [--size 128] [--bf16-autocast] [--emulate-avx2]

Prints seconds (best of 2 after a warm-up) and PSNR against torch fp32 (`--json OUT`: the same rows). `--bf16-autocast`
is opt-in: on this build it is ~10× slower than fp32 (a minute at 128 px for x4plus). `--smoke`: animevideov3 at
32 px, the same code path in seconds (CI). `--emulate-avx2`: the torch rows on an imitated AVX2-only CPU, as
`bench/speed.py --emulate-avx2` does it (oneDNN/ATen limits); the ncnn rows are left out (ncnn picks its kernels by
CPUID: they would not be AVX2 figures).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def best_of(fn, n: int = 2):
    out = fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """core.quality.metrics' PSNR on clamped network outputs; 99 stands for identical."""
    from core.quality.metrics import psnr as psnr01
    return min(99.0, psnr01(np.clip(a, 0, 1), np.clip(b, 0, 1)))


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from speed import AVX2, IMITATED, emulating_avx2

    if "--emulate-avx2" in sys.argv and not emulating_avx2():  # before torch loads: the limits are read at start
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **AVX2})
    import cv2
    import torch
    from skimage import data

    import core  # noqa: F401
    from core.io.pixels import to_float
    from core.methods import get

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--method", default="RealESRGAN_x4plus")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--bf16-autocast", action="store_true")
    ap.add_argument("--smoke", action="store_true", help="realesr-animevideov3 at 32 px: checks the bench runs")
    ap.add_argument("--json", metavar="OUT")
    ap.add_argument("--emulate-avx2", action="store_true", help="imitate an AVX2-only CPU for PyTorch (above)")
    args = ap.parse_args()
    if args.emulate_avx2:
        print(IMITATED, flush=True)
    if args.smoke:
        args.method, args.size = "realesr-animevideov3", 32
    rows = []

    def row(label: str, seconds: float, db: float | None) -> None:
        rows.append({"option": label, "seconds": round(seconds, 4), "psnr_vs_fp32_db": None if db is None else
                     round(db, 1)})
        print(f"{label:26} {seconds:8.3f} s   " + ("reference" if db is None else f"{db:6.1f} dB"))
    img = cv2.resize(data.astronaut(), (args.size, args.size), interpolation=cv2.INTER_AREA)
    chw = np.ascontiguousarray(to_float(img).transpose(2, 0, 1))
    x = torch.from_numpy(chw)[None]
    model = get(args.method).torch_module()
    with torch.inference_mode():
        t, ref = best_of(lambda: model(x)[0].numpy())
        row("torch fp32", t, None)
        cl = model.to(memory_format=torch.channels_last)
        t, out = best_of(lambda: cl(x.to(memory_format=torch.channels_last))[0].numpy())
        row("torch channels-last", t, psnr(out, ref))
        frozen = torch.jit.freeze(torch.jit.trace(model, x))  # oneDNN fusions (conv + activation, + add)
        t, out = best_of(lambda: frozen(x)[0].numpy())
        row("torch TorchScript frozen", t, psnr(out, ref))
        if args.bf16_autocast:
            def bf16():
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    return cl(x.to(memory_format=torch.channels_last)).float()[0].numpy()
            t, out = best_of(bf16, 1)
            row("torch bf16 autocast", t, psnr(out, ref))
        model.to(memory_format=torch.contiguous_format)
    import ncnn

    param, bin_ = get(args.method).ncnn.files()
    options = [("ncnn fp32", {}), ("ncnn bf16 storage", {"use_bf16_storage": True}),
               ("ncnn fp32, no winograd", {"use_winograd_convolution": False})]
    for label, opts in [] if args.emulate_avx2 else options:
        net = ncnn.Net()
        net.opt.use_vulkan_compute = False
        net.opt.num_threads = os.cpu_count() or 1
        for k, v in opts.items():
            setattr(net.opt, k, v)
        net.load_param(str(param))
        net.load_model(str(bin_))

        def run():
            ex = net.create_extractor()
            ex.input("data", ncnn.Mat(chw))
            return np.array(ex.extract("output")[1], copy=True)

        t, out = best_of(run)
        row(label, t, psnr(out, ref))
    if args.json:
        from core.runtime.machine import machine

        Path(args.json).write_text(json.dumps({"method": args.method, "size": args.size, "machine": machine(),
                                               "emulated": IMITATED if args.emulate_avx2 else None,
                                               "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
