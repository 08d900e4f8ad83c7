"""The teacher's phone photo (issue 48.5): a 4032×3024 JPEG enhanced whole at ×2 with RealESRGAN_x4plus, as
`python -m core enhance photo.jpg --outscale 2` does it (read the file, check, plan, run, encode), through the
engine. The ×4 pass (16128×12096 = 195 MP) is resized to ×2 tile by tile and never held whole: this measures the
time and the peak memory (VmHWM) of that, with the backend, the tiles and the CPU.

    python bench/big_photo.py [--method RealESRGAN_x4plus] [--scale 2] [--size 4032x3024] [--json OUT]
    python bench/big_photo.py --smoke     # seconds: realesr-animevideov3 on a 128×96 photo in 32-px tiles, the
                                          # output limit lowered so that the same tile-by-tile resize runs

The photo is made here: scikit-image's astronaut, coffee, chelsea and rocket in a 2×2 mosaic, resized up to the
size and saved as a JPEG (quality 92). Each tile's time is printed as it lands, with the projected total, so a run
stopped part-way still gives its pace. The result is encoded as a JPEG (quality 95) in memory and dropped.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.speed import peak_rss_mb  # noqa: E402  (VmHWM, one reader for the benches)

SMOKE_SIZE = (128, 96)
SMOKE_LIMIT = 60_000  # 256×192 = 49,152 output pixels fit; the ×4 pass, 512×384 = 196,608, does not


def make_photo(path: Path, width: int, height: int) -> None:
    import cv2
    import numpy as np
    from PIL import Image
    from skimage import data

    half = (max(1, width // 2), max(1, height // 2))
    parts = [cv2.resize(np.ascontiguousarray(im[..., :3]), half, interpolation=cv2.INTER_CUBIC)
             for im in (data.astronaut(), data.coffee(), data.chelsea(), data.rocket())]
    mosaic = np.vstack([np.hstack(parts[:2]), np.hstack(parts[2:])])
    mosaic = cv2.resize(mosaic, (width, height), interpolation=cv2.INTER_AREA)
    Image.fromarray(mosaic).save(path, "JPEG", quality=92)


def tiles_words(tiles: int, tile: int) -> str:
    return f"{tiles} tiles of {tile} px" if tiles > 1 else "1 tile (the whole image)"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="a 128×96 photo, realesr-animevideov3, 32-px tiles (seconds)")
    ap.add_argument("--method", default="RealESRGAN_x4plus")
    ap.add_argument("--scale", type=float, default=2.0)
    ap.add_argument("--size", default="4032x3024", help="the photo's WIDTHxHEIGHT")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--tile", type=int, default=0, help="input px; 0: automatic, as the CLI")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if args.smoke:
        os.environ["SRLAB_MAX_OUTPUT_PIXELS"] = str(SMOKE_LIMIT)  # read once, at core's first settings call
        args.method, args.tile, (width, height) = "realesr-animevideov3", 32, SMOKE_SIZE
    else:
        width, height = (int(v) for v in args.size.lower().split("x"))

    from core.io.imageio import read_image_file
    from core.io.output import OutputOptions, encode
    from core.pipeline.engine import Request, execute, prepare
    from core.runtime.machine import cpu_flags, machine

    cpu = machine()["cpu"]
    bf16 = "avx512_bf16" in cpu_flags()
    print(f"CPU: {cpu}, {os.cpu_count()} cores, avx512_bf16: {'yes' if bf16 else 'no'}; load average "
          f"{os.getloadavg()[0]:.1f} at start", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "phone.jpg"
        make_photo(photo, width, height)
        start = time.perf_counter()
        loaded = read_image_file(photo)
        request = Request.make(args.method, outscale=args.scale, tile=args.tile, backend=args.backend)
        prepared = prepare(loaded, request)
        planned = time.perf_counter()
        print(f"{args.method} ×{args.scale:g} on a {width}×{height} JPEG ({photo.stat().st_size:,} bytes): "
              f"{tiles_words(prepared.plan.tiles, prepared.plan.tile)} on {prepared.plan.label}; "
              f"expected {prepared.plan.expected_s or float('nan'):.0f} s; planned in {planned - start:.1f} s",
              flush=True)
        landed: list[float] = []

        def progress(done: int, total: int, message: str) -> None:
            landed.append(time.perf_counter())
            per_tile = (landed[-1] - planned) / done
            print(f"tile {done}/{total} at {landed[-1] - planned:.0f} s ({per_tile:.1f} s a tile; projected total "
                  f"{per_tile * total:.0f} s); peak RSS so far {peak_rss_mb():.0f} MB", flush=True)

        result = execute(prepared, progress=progress)
        ran = time.perf_counter()
        data, _ = encode(result.pixels, OutputOptions("jpeg", 95))
        total = time.perf_counter() - start
    s = result.stats
    out = {"smoke": args.smoke, "cpu": cpu, "cores": os.cpu_count(), "avx512_bf16": bf16, "method": args.method,
           "scale": args.scale, "input_size": list(s.input_size), "output_size": list(s.output_size),
           "what_was_done": s.summary, "resize": s.resize, "backend": s.backend, "tiles": s.tiles, "tile": s.tile_size,
           "plan_s": round(planned - start, 2), "run_s": round(ran - planned, 2), "total_s": round(total, 2),
           "s_per_tile": round((ran - planned) / max(1, len(landed)), 2), "output_jpeg_bytes": len(data),
           "peak_rss_mb": round(peak_rss_mb()), "load_average_end": round(os.getloadavg()[0], 2)}
    print(f"done: {s.input_size[0]}×{s.input_size[1]} → {s.output_size[0]}×{s.output_size[1]} ({s.summary}) on "
          f"{s.backend}, {tiles_words(s.tiles, s.tile_size)}: {total:.0f} s in all (run {ran - planned:.0f} s), peak "
          f"RSS {out['peak_rss_mb']} MB; load average {out['load_average_end']:.1f} at the end", flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
