"""`python -m core degrade`: test pairs (a clean reference and its degraded copy) from clean images."""
from __future__ import annotations

import sys
from pathlib import Path

from core.cli.common import add_degradation, degradation, inputs
from core.methods import SCALES


def add(sub) -> None:
    p = sub.add_parser("degrade", help="make test pairs (clean reference + degraded input) from clean images")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="writes OUTDIR/lr and OUTDIR/hr")
    p.add_argument("--scale", type=int, default=4, choices=[1, *SCALES])
    add_degradation(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """OUTDIR/lr/NAME and OUTDIR/hr/NAME for every input image."""
    from core.io.imageio import ImageError, encode_png, read_image_file
    from core.quality.degrade import make_pair

    out = Path(args.output)
    (out / "lr").mkdir(parents=True, exist_ok=True)
    (out / "hr").mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in inputs(args.inputs):
        try:
            pair = make_pair(read_image_file(path).pixels, degradation(args, args.scale))
        except (ImageError, ValueError) as exc:
            failed += 1
            print(f"error: {path.name}: {exc}", file=sys.stderr)
            continue
        (out / "lr" / f"{path.stem}.png").write_bytes(encode_png(pair.lr))
        (out / "hr" / f"{path.stem}.png").write_bytes(encode_png(pair.hr))
        print(f"{path.name}: {pair.pipeline()}")
    return 1 if failed else 0
