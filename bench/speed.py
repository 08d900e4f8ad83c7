"""Speed on this CPU: the official RealESRGANer (fp32, tile 0) against SR Lab's engine, same inputs.

    python bench/speed.py [--quick | --smoke] [--json OUT.json] [--sizes 64,128,256] [--methods a,b] [--repeats N]
                          [--big METHOD] [--backend NAME] [--emulate-avx2]

Inputs are centre crops of a real photo (scikit-image's astronaut). For each network method and size:
median seconds of the official path and of ours, timed in turn (official, ours, official, ours, …: a machine
that gets busier or quieter during the run moves both alike) (default settings: automatic backend and tile size), the
speed-up, ours in seconds per input megapixel, the PSNR of our output against the official output, our
tiles, and the process's peak RSS during our run (VmHWM, reset before each run). At the largest size it
also times ours untiled, to show what tiling costs. `--big METHOD` runs a 2000×2000 input at ×4 and reports
time and peak RSS. `--quick` (one repeat at 256 px) finishes in about 5 minutes on a 2-core machine; `--smoke`
(realesr-animevideov3 at 32 px, one repeat: the same code path, no meaningful figure) in seconds. The JSON
also records the CPU (model, cores, flags such as avx512_bf16) and library versions: a speed-up is a property
of the CPU it was measured on.

`--emulate-avx2` imitates a laptop's AVX2-only CPU on a bigger one for PyTorch, on both sides: the script runs
itself again with ONEDNN_MAX_CPU_ISA=AVX2 and ATEN_CPU_CAPABILITY=avx2 (oneDNN then runs its jit:avx2
convolutions, ATen its AVX2 kernels), and ours runs on torch fp32 (`--backend`, default torch there). ncnn and ONNX
Runtime pick their kernels from CPUID and cannot be held to AVX2 this way, so they are left out: their figures
would not be AVX2 figures. The JSON and the table say that AVX2 was imitated.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
IMITATED = ("AVX2 imitated by oneDNN/ATen limits (ONEDNN_MAX_CPU_ISA=AVX2, ATEN_CPU_CAPABILITY=avx2) on both sides; "
            "ncnn and ONNX Runtime left out (they choose kernels by CPUID)")


def emulating_avx2() -> bool:
    return all(os.environ.get(k) == v for k, v in AVX2.items())


def reset_peak_rss() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: resets VmHWM to the current RSS
    except OSError:
        pass


def peak_rss_mb() -> float:
    """VmHWM on Linux; elsewhere the process's lifetime peak (getrusage: not reset, so an upper bound), or NaN
    where neither exists (Windows)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        import resource
    except ImportError:
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, kB elsewhere


def crop(size: int) -> np.ndarray:
    from skimage import data

    img = data.astronaut()
    y0, x0 = (img.shape[0] - size) // 2, (img.shape[1] - size) // 2
    return np.ascontiguousarray(img[y0:y0 + size, x0:x0 + size])


def timed(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def timed_in_turn(official, ours, repeats: int):
    """Median seconds of each, run alternately; the peak RSS is of our runs only (reset before each)."""
    off_t, ours_t, rss, off_out, ours_out = [], [], [], None, None
    for _ in range(repeats):
        t = time.perf_counter()
        off_out = official()
        off_t.append(time.perf_counter() - t)
        reset_peak_rss()
        t = time.perf_counter()
        ours_out = ours()
        ours_t.append(time.perf_counter() - t)
        rss.append(peak_rss_mb())
    return statistics.median(off_t), off_out, statistics.median(ours_t), ours_out, max(rss)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """core.quality.metrics' PSNR on 8-bit images; 99 stands for identical (JSON has no infinity)."""
    from core.io.pixels import to_float
    from core.quality.metrics import psnr as psnr01
    return min(99.0, psnr01(to_float(a), to_float(b)))


def official_upsampler(spec):
    import contextlib
    import io

    from realesrgan import RealESRGANer

    from core.weights.resolve import resolve

    with contextlib.redirect_stdout(io.StringIO()):
        return RealESRGANer(scale=spec.native_scale, model_path=str(resolve(spec).path), model=spec.build(),
                            tile=0, pre_pad=0, half=False, device="cpu")


def main() -> int:
    if "--emulate-avx2" in sys.argv and not emulating_avx2():  # before torch loads: the limits are read at start
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **AVX2})
    import core  # noqa: F401
    from core.methods import networks
    from core.pipeline.engine import enhance

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat: checks the bench runs (CI)")
    ap.add_argument("--sizes", default="64,128,256")
    ap.add_argument("--methods", default=",".join(m.name for m in networks() if m.arch.name in
                                                  ("RRDBNet", "SRVGGNetCompact")))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", metavar="OUT")
    ap.add_argument("--big", metavar="METHOD", help="also run a 2000×2000 input at ×4 with METHOD")
    ap.add_argument("--backend", help="ours on this backend (default auto; torch with --emulate-avx2)")
    ap.add_argument("--emulate-avx2", action="store_true", help="imitate an AVX2-only CPU for PyTorch (see above)")
    args = ap.parse_args()
    backend = args.backend or ("torch" if args.emulate_avx2 else "auto")
    if args.emulate_avx2:
        if backend not in ("torch", "torch-bf16"):
            ap.error(f"--emulate-avx2 holds PyTorch to AVX2 only: {backend} would not run as on an AVX2 CPU")
        print(f"{IMITATED}; ours on {backend}", flush=True)
    if args.smoke:
        args.sizes, args.methods, args.repeats, args.big = "32", "realesr-animevideov3", 1, None
    import cv2

    from core.methods import get
    from core.runtime import calibrate

    sizes = [int(s) for s in args.sizes.split(",")]
    records, calibration = [], {}
    for name in args.methods.split(","):
        spec = get(name)
        official = official_upsampler(spec)
        saved = calibrate.measured(spec)
        if saved and saved.get("contended") and not args.smoke and backend == "auto":
            # made while other work held the cores: `auto` would choose from times many times too slow
            print(f"{name}: the saved backend measurement was made on a busy machine; measuring again", flush=True)
            calibrate.record_for(spec, again=True)
        # warm-up: first-call costs are not what we measure (measures if never measured)
        enhance(crop(32), name, backend=backend)
        record = calibrate.measured(spec) or {}
        measured = record.get("measured", {})
        calibration[name] = {"backend": record.get("backend"), "contended": record.get("contended"),
                             "seconds_per_mpx": {n: m["seconds_per_mpx"] for n, m in measured.items()},
                             "timed_at": {n: list(m["seconds"]) for n, m in measured.items()}}
        print(f"{name}: auto's measurement on this machine: {json.dumps(calibration[name])}", flush=True)
        official.enhance(cv2.cvtColor(crop(32), cv2.COLOR_RGB2BGR), outscale=spec.native_scale)
        for size in sizes:
            repeats = 1 if (args.quick and size >= 256) else args.repeats
            img = crop(size)
            bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
            off_s, off, ours_s, ours, rss = timed_in_turn(lambda: official.enhance(bgr, outscale=spec.native_scale)[0],
                                                          lambda: enhance(img, name, backend=backend), repeats)
            off = cv2.cvtColor(off, cv2.COLOR_BGR2RGB)
            rec = {"method": name, "size": size, "official_s": round(off_s, 3), "ours_s": round(ours_s, 3),
                   "speedup": round(off_s / ours_s, 2), "psnr_vs_official_db": round(psnr(off, ours.pixels), 1),
                   "peak_rss_mb": round(rss), "backend": ours.stats.backend, "tiles": ours.stats.tiles,
                   "ours_s_per_mpx": round(ours_s / (size * size / 1e6), 1)}
            if size == max(sizes) and ours.stats.tiles > 1:
                untiled_s, _ = timed(lambda: enhance(img, name, tile=size, backend=backend), repeats)
                rec["ours_untiled_s"] = round(untiled_s, 3)
                rec["tiling_cost_pct"] = round(100 * (ours_s / untiled_s - 1), 1)
            records.append(rec)
            print(json.dumps(rec), flush=True)
    if args.big:
        img = cv2.resize(crop(512), (2000, 2000), interpolation=cv2.INTER_CUBIC)
        reset_peak_rss()
        t = time.perf_counter()
        out = enhance(img, args.big, backend=backend)
        rec = {"method": args.big, "size": 2000, "ours_s": round(time.perf_counter() - t, 1),
               "output": f"{out.pixels.shape[1]}×{out.pixels.shape[0]}", "tiles": out.stats.tiles,
               "backend": out.stats.backend, "peak_rss_mb": round(peak_rss_mb())}
        records.append(rec)
        print(json.dumps(rec), flush=True)
    from core.runtime.machine import machine

    here = machine()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None  # other work on the cores slows every figure
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": here, "load_average_1_5_15": load, "smoke": args.smoke,
                                               "emulated": IMITATED if args.emulate_avx2 else None,
                                               "backend": backend, "calibration": calibration, "records": records},
                                              indent=1))
    print(f"\n{here['cpu']}, {here['cores']} cores, flags: {' '.join(here['flags'])}; "
          f"torch {here['versions']['torch']}; load average {load}" + (f"; {IMITATED}" if args.emulate_avx2 else ""))
    print("\n| method | size | official s | ours s | speed-up | PSNR vs official dB | peak RSS MB | backend, tiles |")
    print("|---|---|---|---|---|---|---|---|")
    for r in records:
        if "official_s" in r:
            print(f"| {r['method']} | {r['size']} | {r['official_s']} | {r['ours_s']} | ×{r['speedup']} | "
                  f"{r['psnr_vs_official_db']} | {r['peak_rss_mb']} | {r['backend']}, {r['tiles']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
