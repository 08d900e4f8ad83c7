"""Attribution maps (core/quality/attribution.py, LAM) on this CPU: seconds and peak memory per method for one
16-px window over a 64×64 input region at the default path (50 steps, σ 1.2), and the Diffusion Index of
bicubic, RealESRGAN_x4plus, realesr-animevideov3 (and DAT_light_x4 when the catalogue has it) over several
windows of several photos — does the paper's ordering (attention/transformer networks spread wider than plain
CNNs, which spread wider than an interpolation) hold here?

    python bench/attribution.py [--photos 5] [--windows 2] [--steps 50] [--json out.json]
    python bench/attribution.py --smoke          # seconds: two cheap methods, 8 steps, one window

Photos: Set5's ×4 LR inputs (../shared/data/Set5/LR_bicubic/X4) when present, else scikit-image's photos
downscaled ×4 (Pillow bicubic). Windows: the busiest points of each photo (peaks of its blurred gradient energy,
≥ 16 input px apart). Timing runs each method in a fresh process (its peak RSS is the process's); torch threads as
the app uses them (every core, or OMP_NUM_THREADS). On a busy machine the wall seconds are many times a quiet
run's; the process's CPU seconds (all its threads) say how much work it was.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TIMED = ["bicubic", "realesr-animevideov3", "RealESRGAN_x4plus", "DAT_light_x4"]
COMPARED = ["bicubic", "realesr-animevideov3", "RealESRGAN_x4plus", "DAT_light_x4"]
SMOKE = ["bicubic", "realesr-animevideov3"]
CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
import numpy as np
import core
from core.quality.attribution import AttributionRequest, attribute
img = np.load({image!r})
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
cpu = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
started, cpu_started = time.perf_counter(), cpu()
result = attribute(AttributionRequest(({name!r},), window={window!r}, steps={steps}, context=64, refine=False), img)
total = time.perf_counter() - started
(m,) = result.maps
print(json.dumps({{"method": m.method, "seconds": round(m.seconds, 2), "with_loading_s": round(total, 2),
                  "cpu_s_with_loading": round(cpu() - cpu_started, 1),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "rss_added_mb": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024),
                  "steps_per_pass": m.batch, "di": round(m.di, 3), "completeness_gap": round(m.completeness_gap, 4)}}))
"""


def photos(limit: int) -> list[tuple[str, np.ndarray]]:
    """(name, ×4 LR input as uint8 RGB)."""
    import cv2

    found = [d / "Set5" / "LR_bicubic" / "X4" for d in (ROOT.parent / "shared" / "data",
                                                        ROOT.parent.parent / "shared" / "data")]
    set5 = next((d for d in found if d.is_dir()), None)
    if set5 is not None:
        files = sorted(set5.glob("*.png"))[:limit]
        return [(f.stem, cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB)) for f in files]
    from PIL import Image
    from skimage import data

    out = []
    for name in ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry")[:limit]:
        hr = getattr(data, name)()
        lr = Image.fromarray(hr).resize((hr.shape[1] // 4, hr.shape[0] // 4), Image.BICUBIC)
        out.append((name, np.asarray(lr)))
    return out


def busiest_windows(lr: np.ndarray, count: int, size: int = 16, scale: int = 4) -> list[tuple[int, int, int]]:
    """`count` windows (x, y, size in output px) centred on the peaks of the blurred gradient energy, ≥ 16 input
    px apart and ≥ 8 px from the edges."""
    from core.io.pixels import detail_energy, peaks

    energy = detail_energy(lr.astype(np.float32).mean(axis=2), 2)
    return [(x * scale + scale // 2 - size // 2, y * scale + scale // 2 - size // 2, size)
            for x, y in peaks(energy, count, border=(8, 8), apart=16)]


def timing(names: list[str], steps: int, tmp: Path) -> list[dict]:
    name, lr = photos(1)[0]
    image = tmp / "timing_input.npy"
    np.save(image, lr)
    window = busiest_windows(lr, 1)[0]
    rows = []
    for method in names:
        code = CHILD.format(root=str(ROOT), image=str(image), name=method, window=window, steps=steps)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if out.returncode != 0:
            rows.append({"method": method, "error": (out.stderr.strip().splitlines() or ["?"])[-1]})
        else:
            rows.append({**json.loads(out.stdout.strip().splitlines()[-1]), "photo": name, "window": window})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def diffusion(names: list[str], n_photos: int, n_windows: int, steps: int) -> list[dict]:
    from core.quality.attribution import AttributionRequest, attribute

    rows = []
    for name, lr in photos(n_photos):
        for window in busiest_windows(lr, n_windows):
            request = AttributionRequest(tuple(names), window=window, steps=steps, context=64, refine=False)
            result = attribute(request, lr)
            for m in result.maps:
                rows.append({"photo": name, "window": window, "method": m.method, "di": round(m.di, 3),
                             "reach_px_90": round(m.reach_px, 2), "seconds": round(m.seconds, 2),
                             "completeness_gap": round(m.completeness_gap, 4)})
                print(json.dumps(rows[-1]), flush=True)
    return rows


def summary(rows: list[dict], names: list[str]) -> dict:
    by = {n: [r["di"] for r in rows if r["method"] == n] for n in names}
    means = {n: round(float(np.mean(v)), 3) for n, v in by.items() if v}
    order = sorted(means, key=means.get)
    cases = {}  # per (photo, window): the methods from narrowest to widest
    for r in rows:
        cases.setdefault((r["photo"], tuple(r["window"])), {})[r["method"]] = r["di"]
    wins = {}
    for a in names:
        for b in names:
            if a < b:
                both = [c for c in cases.values() if a in c and b in c]
                if both:
                    wins[f"{a} > {b}"] = f"{sum(c[a] > c[b] for c in both)} of {len(both)} windows"
    return {"mean_di": means, "narrowest_to_widest": order, "pairwise": wins}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=5)
    ap.add_argument("--windows", type=int, default=2)
    ap.add_argument("--steps", type=int, default=None, help="path steps (default: LAM's 50; --smoke: 8)")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--no-di", action="store_true")
    ap.add_argument("--smoke", action="store_true", help="bicubic and realesr-animevideov3, 8 steps, 1 window")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    import tempfile

    from core.methods import METHODS
    from core.quality.attribution import LAM_STEPS
    from core.runtime.machine import describe

    present = set(METHODS.names())
    timed = SMOKE if args.smoke else [n for n in TIMED if n in present]
    compared = SMOKE if args.smoke else [n for n in COMPARED if n in present]
    steps = args.steps or (8 if args.smoke else LAM_STEPS)
    n_photos, n_windows = (1, 1) if args.smoke else (args.photos, args.windows)
    started = time.time()
    report = {"command": " ".join(["python bench/attribution.py", *sys.argv[1:]]), "cpu": describe(),
              "torch_threads": os.environ.get("OMP_NUM_THREADS", "every core"), "steps": steps,
              "not_in_catalogue": [n for n in TIMED if n not in present]}
    with tempfile.TemporaryDirectory() as tmp:
        report["timing"] = [] if args.no_timing else timing(timed, steps, Path(tmp))
    report["di"] = [] if args.no_di else diffusion(compared, n_photos, n_windows, steps)
    report["summary"] = summary(report["di"], compared) if report["di"] else {}
    report["wall_s"] = round(time.time() - started, 1)
    print(json.dumps(report["summary"], indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
