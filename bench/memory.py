"""Peak inference memory per input pixel of each network and backend (feeds `bytes_per_input_pixel` in
core/methods/catalog/).

    python bench/memory.py [--sizes 64,128,192] [--backends torch,torch-bf16,ncnn] [--json OUT] [--smoke]

`--smoke`: realesr-animevideov3 at 32 and 48 px on torch and ncnn (the same code path in seconds, CI).
Uses getrusage's peak (Linux, macOS; kB on Linux).

Each size runs in a fresh process; the figure is the slope of peak RSS over input pixels.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import resource, sys, numpy as np
sys.path.insert(0, {root!r})
import core
from core import methods
from core.runtime import backends
from core.pipeline.engine import enhance
backends.built(methods.get({name!r}), {backend!r})
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
img = (np.random.default_rng(0).random(({size}, {size}, 3)) * 255).astype(np.uint8)
enhance(img, {name!r}, tile=0, backend={backend!r})
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024)
"""


def peak_bytes(name: str, size: int, backend: str) -> int:
    code = CHILD.format(root=str(ROOT), name=name, size=size, backend=backend)
    return int(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from core.methods import networks

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="64,128,192")
    ap.add_argument("--methods", default=",".join(m.name for m in networks()))
    ap.add_argument("--backends", default="torch,torch-bf16,ncnn")
    ap.add_argument("--json", metavar="OUT")
    ap.add_argument("--smoke", action="store_true", help="one small network at two tiny sizes: checks the bench runs")
    args = ap.parse_args()
    if args.smoke:
        args.sizes, args.methods, args.backends = "32,48", "realesr-animevideov3", "torch,ncnn"
    rows = []
    sizes = [int(s) for s in args.sizes.split(",")]
    from core.methods import get
    from core.runtime import backends

    for name in args.methods.split(","):
        for backend in args.backends.split(","):
            if backend not in backends.candidates(get(name)):
                continue
            peaks = [peak_bytes(name, s, backend) for s in sizes]
            pixels = [s * s for s in sizes]
            slope = (peaks[-1] - peaks[0]) / (pixels[-1] - pixels[0])
            rows.append({"method": name, "backend": backend, "sizes": sizes,
                         "peak_mb": [round(p / 1e6) for p in peaks], "bytes_per_input_pixel": round(slope)})
            print(json.dumps(rows[-1]), flush=True)
    if args.json:
        from core.runtime.machine import machine

        Path(args.json).write_text(json.dumps({"machine": machine(), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
