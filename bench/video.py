"""Clips on this CPU: frames per second per method, and on the built-in pan (core/video/builtin.py: scikit-image's
`coffee`, 96×64 LR from a clean 384×256 HR pan, 24 fps) PSNR, SSIM, LPIPS and the flicker
(core/video/measures.py) of per-frame RealESRGAN_x4plus, realesr-animevideov3, bicubic and BasicVSR.

    python bench/video.py [--smoke] [--frames N] [--methods a,b] [--json OUT.json]

`--smoke` (seconds): 3 frames, bicubic and realesr-animevideov3 only. The speed is a property of the CPU (named in
the output) and of what else runs on it (the load average is printed before and after).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

METHODS = ("bicubic", "realesr-animevideov3", "RealESRGAN_x4plus", "BasicVSR_REDS4", "BasicVSR_Vimeo90K_BI")


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    except OSError:
        pass
    return "unknown CPU"


def measure(method: str, frames: int) -> dict:
    from core.video import builtin
    from core.video.measures import ClipScorer
    from core.video.processing import ClipRun, process

    record = ClipRun(method)
    scorer = ClipScorer()
    refs = builtin.reference(frames).frames()
    outs = []
    for _, out in process(builtin.clip(frames), method, outscale=4, record=record):
        outs.append(out)
    network_s = record.seconds  # the method's time, before any scoring
    for out in outs:
        scorer.add(out, next(refs).pixels)
    return {"method": method, "how": record.how, "backend": record.backend, "frames": record.frames,
            "fps": record.frames / network_s, **scorer.summary()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="3 frames, bicubic and realesr-animevideov3 (seconds)")
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    frames, methods = (3, ["bicubic", "realesr-animevideov3"]) if args.smoke else (args.frames,
                                                                                  args.methods.split(","))
    print(f"CPU: {cpu_name()}; load average {os.getloadavg()[0]:.1f} at start")
    print(f"clip: builtin:pan, {frames} frames of 96×64 → ×4 384×256, against its true HR pan")
    rows = []
    print(f"{'method':24} {'fps':>7} {'PSNR dB':>8} {'SSIM':>7} {'LPIPS':>7} {'flicker':>8}  how")
    for m in methods:
        start = time.perf_counter()
        r = measure(m, frames)
        r["wall_s"] = time.perf_counter() - start
        rows.append(r)
        print(f"{m:24} {r['fps']:7.3f} {r['psnr_db']:8.2f} {r['ssim']:7.4f} {r['lpips']:7.4f} "
              f"{r.get('flicker', float('nan')):8.4f}  {r['how']}", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end (a busy machine slows every fps)")
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu_name(), "frames": frames, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
