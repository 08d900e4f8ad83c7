"""`python -m core enhance`: image files and folders through one request, in this process or on a Ray cluster
(the same folder loop: outputs already there are skipped, each written whole, a bad file reported)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from core.cli.common import fail, inputs, parse_params, pool
from core.io.output import FORMATS, NameClash, result_name, result_names
from core.methods import METHODS
from core.pipeline.colour import COLOUR_FIXES
from core.pipeline.engine import ALPHA_MODES, FIT_MODES
from core.runtime.backends import CHOICES


def add(sub) -> None:
    p = sub.add_parser("enhance", help="upscale image files or folders into OUTDIR")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files and/or folders")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR")
    p.add_argument("--method", default="RealESRGAN_x4plus", help="see `python -m core methods`")
    p.add_argument("--model-path", metavar="FILE", help="your own model (.pth/.safetensors; architecture detected "
                                                        "by spandrel, loaded without running code) instead of --method")
    p.add_argument("--outscale", type=float, default=None, help="1 to 8; default: the method's native scale")
    p.add_argument("--tile", type=int, default=0, help="tile size in input pixels; 0 = automatic")
    p.add_argument("--face", action="store_true", help="GFPGAN face restoration (needs its weights)")
    p.add_argument("--face-strength", type=float, default=0.5, help="0 to 1 (blend with the un-restored result)")
    p.add_argument("--backend", default="auto", choices=CHOICES,
                   help="how networks run on the CPU; auto: the fastest faithful one, measured once per machine")
    p.add_argument("--alpha", default="resize", choices=ALPHA_MODES,
                   help="transparency: resize it (bilinear) or run it through the method (sharper edges)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a method's own parameter, e.g. --param sigma_color=40 or SRMD's --param noise=5 "
                        "(repeatable; `python -m core methods` lists them)")
    p.add_argument("--fit", metavar="WxH", help="fit this size instead of a scale (network pass, then an exact "
                                                 "resize); see --fit-mode")
    p.add_argument("--fit-mode", default="keep", choices=FIT_MODES,
                   help="keep: inside the box, aspect kept; crop: fill the box, the centre cut out")
    p.add_argument("--colour-fix", default="off", choices=COLOUR_FIXES,
                   help="put the input's colours back (a GAN's tint or brightness shift): per-channel mean/std, or "
                        "the input's low frequencies under the output's detail")
    p.add_argument("--format", default="png", choices=FORMATS, help="png keeps 16 bits and alpha; jpeg/webp: 8-bit")
    p.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality 1–100 (WebP 100 = lossless)")
    p.add_argument("--8-bit", dest="eight_bit", action="store_true", help="PNG: write a 16-bit result as 8-bit")
    p.add_argument("--ray", metavar="ADDRESS", help="run the files as tasks on a Ray cluster: host:port of its head, "
                                                    "or 'local' to start one here (see README)")
    p.add_argument("--ray-in-flight", type=int, default=4, metavar="N", help="at most N files on the cluster at once")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _parse_fit(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--fit {text!r}: write WIDTHxHEIGHT, e.g. 1920x1080") from None
    return w, h


def run(args) -> int:
    from tqdm import tqdm

    from core.io.imageio import ImageError
    from core.io.output import SUFFIXES, OutputOptions
    from core.pipeline.batch_loop import run_folder
    from core.pipeline.engine import Request

    own = {}
    if args.model_path:
        from core.methods.user import UserModelError, load_user_model_file

        try:
            spec = load_user_model_file(args.model_path)
        except UserModelError as exc:
            return fail(str(exc))
        own, args.method = {spec.name: spec}, spec.name
        print(f"{Path(args.model_path).name}: detected {spec.detected} (spandrel); runs on torch fp32")
    if args.method not in METHODS and args.method not in own:
        return fail(f"unknown method {args.method!r}; known: {', '.join(METHODS.names())}")
    try:
        params = parse_params(args.param)
        fit = _parse_fit(args.fit)
        options = OutputOptions(args.format, args.quality, 8 if args.eight_bit else None)
        options.check()
    except (ValueError, ImageError) as exc:
        return fail(str(exc))
    request = Request.make(args.method, outscale=args.outscale, tile=args.tile, face=args.face,
                           face_strength=args.face_strength, params=params, backend=args.backend, alpha=args.alpha,
                           fit=fit, fit_mode=args.fit_mode, colour_fix=args.colour_fix)
    size = f"{fit[0]}x{fit[1]}" if fit else f"x{request.scale(own.get(args.method)):g}"
    files, suffix = inputs(args.inputs), SUFFIXES[options.format]
    try:  # every output's name before anything runs: none may overwrite another
        names = result_names([Path(os.path.abspath(f)) for f in files], args.method, size, suffix)
    except NameClash as exc:
        return fail(str(exc))
    apart = [n for f, n in zip(files, names) if n != result_name(f.name, args.method, size, suffix)]
    if apart:
        print(f"{len(apart)} inputs would share an output name: theirs keep the source's extension, then its folder "
              f"({', '.join(apart[:3])}{', …' if len(apart) > 3 else ''})")
    out_name = dict(zip(files, names)).__getitem__

    failed = 0
    # disable=None: no bar when stderr is not a terminal
    with tqdm(total=1.0, unit="file", leave=False, disable=True if args.quiet else None,
              bar_format="{l_bar}{bar}| {elapsed}") as bar:
        def on_step(fraction: float) -> None:
            bar.n = fraction
            bar.refresh()

        def on_file(item) -> None:
            nonlocal failed
            bar.n = 0
            if item.error:
                failed += 1
                print(f"error: {item.error}", file=sys.stderr)
            elif item.skipped:
                print(f"{item.source.name}: already done, skipped → {item.output}")
            else:
                print(f"{item.source.name}: done → {item.output}: {_line(item.stats, item.file_bytes)}")

        try:
            where = pool(args, on_step)
        except RuntimeError as exc:  # RayUnavailable
            return fail(str(exc))
        run_folder(files, Path(args.output), request, options, out_name, pool=where, own=own, on_file=on_file)
    return 1 if failed else 0


def _line(s, file_bytes: int) -> str:
    notes = f" [{'; '.join(s.notes)}]" if s.notes else ""
    return (f"{s.input_size[0]}×{s.input_size[1]} → {s.output_size[0]}×{s.output_size[1]} (×{s.pixel_ratio:.2f} "
            f"pixels; {s.how()}) in {s.elapsed_s:.2f} s on {s.backend}, {s.tiles} tile(s), face: {s.face} "
            f"({file_bytes:,} bytes){notes}")
