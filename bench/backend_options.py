"""The CPU options considered for issue 6, measured side by side on one input (what `auto` chooses among, and
what was rejected): torch fp32, torch channels-last, torch bf16 autocast, ncnn fp32 / bf16 storage / no
winograd.

    python bench/backend_options.py [--method RealESRGAN_x4plus] [--size 128] [--bf16-autocast]

Prints seconds (best of 2 after a warm-up) and PSNR against torch fp32. `--bf16-autocast` is opt-in: on this
build it is ~10× slower than fp32 (a minute at 128 px for x4plus).
"""
from __future__ import annotations

import argparse
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
    import cv2
    import ncnn
    import torch
    from skimage import data

    import core  # noqa: F401
    from core.methods import get

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--method", default="RealESRGAN_x4plus")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--bf16-autocast", action="store_true")
    args = ap.parse_args()
    img = cv2.resize(data.astronaut(), (args.size, args.size), interpolation=cv2.INTER_AREA)
    chw = np.ascontiguousarray(img.astype(np.float32).transpose(2, 0, 1) / 255)
    x = torch.from_numpy(chw)[None]
    model = get(args.method).torch_module()
    with torch.inference_mode():
        t, ref = best_of(lambda: model(x)[0].numpy())
        print(f"torch fp32                 {t:8.3f} s   reference")
        cl = model.to(memory_format=torch.channels_last)
        t, out = best_of(lambda: cl(x.to(memory_format=torch.channels_last))[0].numpy())
        print(f"torch channels-last        {t:8.3f} s   {psnr(out, ref):6.1f} dB")
        if args.bf16_autocast:
            def bf16():
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    return cl(x.to(memory_format=torch.channels_last)).float()[0].numpy()
            t, out = best_of(bf16, 1)
            print(f"torch bf16 autocast        {t:8.3f} s   {psnr(out, ref):6.1f} dB")
        model.to(memory_format=torch.contiguous_format)
    param, bin_ = get(args.method).ncnn.files()
    for label, opts in [("ncnn fp32", {}), ("ncnn bf16 storage", {"use_bf16_storage": True}),
                        ("ncnn fp32, no winograd", {"use_winograd_convolution": False})]:
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
        print(f"{label:26} {t:8.3f} s   {psnr(out, ref):6.1f} dB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
