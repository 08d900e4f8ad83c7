"""`python -m core ...`: the same engine as the app, for files and folders."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


def _inputs(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(p)  # a missing file is reported by the loader, with the others still processed
    return files


def _parse_params(pairs: list[str]) -> dict:
    """`--param d=9 --param mode=hard` → {"d": "9", "mode": "hard"}; the method converts and checks."""
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--param wants NAME=VALUE, got {pair!r}")
        params[key.strip()] = value.strip()
    return params


def cmd_methods(args) -> int:
    from core.methods import METHODS
    from core.weights import WeightsUnavailable, resolve

    for m in METHODS:
        if m.kind == "network":
            try:
                origin = resolve(m).origin
                status = f"available ({origin})"
            except WeightsUnavailable as exc:
                status = f"unavailable: {exc}"
            scale = f"×{m.native_scale}"
        else:
            status, scale = "available", "any"
        print(f"{m.name:28} {m.kind:19} {scale:4} {status}\n{'':28} {m.description}")
        for p in m.params:
            rng = "|".join(map(str, p.choices)) if p.choices else f"{p.min:g}…{p.max:g}"
            print(f"{'':30}--param {p.name}=  ({rng}; default {p.default}) {p.label}")
    from core.face import availability

    ok, why = availability()
    print(f"\nface restoration (--face): {'available' if ok else 'unavailable'}: {why}")
    return 0


def cmd_prepare(args) -> int:
    """Convert (or verify) every network's weights now, so the first enhancement does not wait for it."""
    from core.methods import networks
    from core.weights import WeightsUnavailable, resolve

    failed = 0
    for m in networks():
        try:
            info = resolve(m)
            print(f"{m.name}: {info.origin} ({info.path})")
        except WeightsUnavailable as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr)
    return 1 if failed else 0


def cmd_enhance(args) -> int:
    from tqdm import tqdm

    from core.engine import EnhanceError, enhance
    from core.imageio import ImageError, encode_png, read_image_file
    from core.methods import METHODS

    if args.method not in METHODS:
        print(f"error: unknown method {args.method!r}; known: {', '.join(METHODS.names())}", file=sys.stderr)
        return 2
    try:
        params = _parse_params(args.param)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in _inputs(args.inputs):
        try:
            image = read_image_file(path)
            # disable=None: no bar when stderr is not a terminal
            with tqdm(total=1, desc=path.name, unit="tile", leave=False, disable=True if args.quiet else None) as bar:

                def progress(done: int, total: int, _msg: str) -> None:
                    bar.total, bar.n = total, done
                    bar.refresh()

                result = enhance(image, args.method, outscale=args.outscale, tile=args.tile, face=args.face,
                                 face_strength=args.face_strength, params=params, progress=progress)
            png = encode_png(result.pixels)
            dest = out_dir / f"{path.stem}_{args.method}_x{result.stats.outscale:g}.png"
            dest.write_bytes(png)
        except (ImageError, EnhanceError) as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        except Exception as exc:  # one bad file must not stop the batch; no traceback for the user
            failed += 1
            print(f"error: {path}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        s = result.stats
        extra = f", then {s.resize}" if s.resize != "none" else ""
        notes = f" [{'; '.join(s.notes)}]" if s.notes else ""
        net = f"network ×{s.network_scale}{extra}" if s.network_scale else s.summary
        print(f"{path.name}: {s.input_size[0]}×{s.input_size[1]} → {s.output_size[0]}×{s.output_size[1]} "
              f"(×{s.pixel_ratio:.2f} pixels; {net}) in {s.elapsed_s:.2f} s, {s.tiles} tile(s), "
              f"face: {s.face} → {dest} ({len(png):,} bytes){notes}")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m core", description="SR Lab: super-resolution on the command line")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("methods", help="list every method, and whether it is available")
    p.set_defaults(func=cmd_methods)
    p = sub.add_parser("prepare", help="convert or verify the networks' weights (make does this)")
    p.set_defaults(func=cmd_prepare)
    p = sub.add_parser("enhance", help="upscale image files or folders into OUTDIR as PNG")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files and/or folders")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR")
    p.add_argument("--method", default="RealESRGAN_x4plus", help="see `python -m core methods`")
    p.add_argument("--outscale", type=float, default=None, help="1 to 8; default: the method's native scale")
    p.add_argument("--tile", type=int, default=0, help="tile size in input pixels; 0 = automatic")
    p.add_argument("--face", action="store_true", help="GFPGAN face restoration (needs its weights)")
    p.add_argument("--face-strength", type=float, default=0.5, help="0 to 1 (blend with the un-restored result)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a classical method's parameter, e.g. --param sigma_color=40 (repeatable)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_enhance)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
