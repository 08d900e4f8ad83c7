"""First pixels: how soon a watched Enhance job shows part of its result (README, "Result so far"), and what the
smaller tiles cost. The app's own path: `engine.prepare(live=True)` picks the tile from this machine's measurement
(FIRST_PIXELS_S), `engine.execute(on_partial=)` hands over each finished tile; the same request un-watched
(`live=False`, the memory's tile) is timed after it. Each repeat after the first finds the network loaded.

    python bench/first_pixels.py [--sample astronaut_512] [--method RealESRGAN_x4plus] [--repeats 2] [--json OUT]
    python bench/first_pixels.py --smoke     # seconds: realesr-animevideov3 on a 128² crop in 64-px tiles

The time to the first tile counts from the job's start (its first repeat also loads the network, as an app
server's first job does); the CPU and the load average are printed (a busy machine slows every figure).
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

from core.io.samples import SAMPLES  # noqa: E402
from core.pipeline.engine import Request, execute, prepare  # noqa: E402
from core.runtime.machine import describe as cpu_name  # noqa: E402
from core.runtime.select import FIRST_PIXELS_S  # noqa: E402


def watched(image, request: Request) -> dict:
    start = time.perf_counter()
    prepared = prepare(image, request, live=True)
    planned = time.perf_counter()
    landed: list[tuple[float, float]] = []  # (seconds from the start, share of the image drawn)
    execute(prepared, on_partial=lambda picture, stand_in, share: landed.append(
        (time.perf_counter() - start, share)))
    total = time.perf_counter() - start
    return {"tile": prepared.plan.tile, "tiles": prepared.plan.tiles, "backend": prepared.plan.backend,
            "plan_s": round(planned - start, 2), "first_tile_s": round(landed[0][0], 2) if landed else None,
            "first_share": round(landed[0][1], 3) if landed else None, "partials": len(landed),
            "total_s": round(total, 2), "why": prepared.plan.why}


def unwatched(image, request: Request) -> dict:
    start = time.perf_counter()
    prepared = prepare(image, request)
    execute(prepared)
    return {"tile": prepared.plan.tile, "tiles": prepared.plan.tiles, "total_s": round(time.perf_counter() - start, 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="realesr-animevideov3, a 128² crop, 64-px tiles (seconds)")
    ap.add_argument("--sample", default="astronaut_512", choices=sorted(SAMPLES))
    ap.add_argument("--method", default="RealESRGAN_x4plus")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    image = SAMPLES[args.sample].image()
    if args.smoke:  # a tile given by hand: the smoke run shows the path works, not this machine's pace
        request, repeats = Request.make("realesr-animevideov3", tile=64, crop=(0, 0, 128, 128)), 1
    else:
        request, repeats = Request.make(args.method), args.repeats
    print(f"CPU: {cpu_name()}; load average {os.getloadavg()[0]:.1f} at start")
    print(f"{request.method} on {args.sample} ({image.width}×{image.height}), crop {request.crop}; promise: the "
          f"first tile within about {FIRST_PIXELS_S:g} s of the job's start")
    rows = []
    for i in range(repeats):
        row = {"repeat": i + 1, "watched": watched(image, request), "unwatched": unwatched(image, request)}
        w, u = row["watched"], row["unwatched"]
        print(f"repeat {i + 1}: first tile at {w['first_tile_s']} s ({w['tiles']} tiles of {w['tile']} px, "
              f"{w['backend']}), whole {w['total_s']} s watched vs {u['total_s']} s un-watched "
              f"({u['tiles']} tile(s) of {u['tile'] or 'the whole image'})", flush=True)
        rows.append(row)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu_name(), "method": request.method, "sample": args.sample,
                                         "promise_s": FIRST_PIXELS_S, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
