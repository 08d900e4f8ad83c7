"""`python -m core ...`: the same engine as the app, for files and folders."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.colour import COLOUR_FIXES
from core.degrade import DOWNSCALE_METHODS
from core.engine import ALPHA_MODES, FIT_MODES
from core.imageio import IMAGE_SUFFIXES
from core.methods import BACKEND_CHOICES, SCALES
from core.output import FORMATS
from core.scoring import entries as metric_entries


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


def cmd_metrics(args) -> int:
    from core.metrics import METRICS
    for full in (True, False):
        print("Full reference (scored against the true image):" if full else
              "\nNo reference (describe one image; they cannot say which restore is right):")
        for m in METRICS:
            if m.full_reference == full:
                print(f"  {m.name:12} {m.heading:14} {'default' if m.default else 'opt-in ':8} {m.about}")
    return 0


def cmd_methods(args) -> int:
    from core import backends
    from core.methods import METHODS
    from core.weights import WeightsUnavailable

    groups: dict[str, list] = {}
    width = max(len(name) for name in METHODS.names()) + 1
    networks = sum(m.kind == "network" for m in METHODS)
    print(f"{networks} networks and {len(METHODS.names()) - networks} classical methods, by family\n")
    for m in METHODS:
        groups.setdefault(getattr(m, "family", None) or f"classical: {m.kind}", []).append(m)
    for group, members in groups.items():
        print(f"== {group}")
        for m in members:
            if m.kind == "network":
                try:
                    status = f"available ({m.weights().origin})"
                except WeightsUnavailable as exc:
                    status = f"unavailable: {exc}"
                scale = f"×{m.native_scale}"
            else:
                status, scale = "available", "any"
            print(f"{m.name:{width}} {m.kind:19} {scale:4} {status}\n{'':{width}} {m.description}\n"
                  f"{'':{width}} {m.source}")
            for p in m.params:
                rng = "|".join(map(str, p.choices)) if p.choices else f"{p.min:g}…{p.max:g}"
                print(f"{'':{width + 2}}--param {p.name}=  ({rng}; default {p.default}) {p.label}")
            if args.backends and m.kind == "network":
                runner = backends.get(m, args.backend)  # "auto" measures once per machine
                print(f"{'':{width + 2}}backend: {backends.explain(m, runner.name, args.backend)}")
    from core.face import availability

    ok, why = availability()
    print(f"\nface restoration (--face): {'available' if ok else 'unavailable'}: {why}")
    if args.backends:
        machine = backends.machine()
        print(f"CPU: {machine['cpu']}, {machine['cores']} cores, flags: {' '.join(machine['flags']) or 'none'}")
    return 0


def cmd_fetch(args) -> int:
    """Download pinned, verified weights that no package registry ships (only when asked)."""
    from tqdm import tqdm

    from core.fetch import MANIFEST, FetchError, fetch, missing

    if args.group not in MANIFEST:
        print(f"error: nothing called {args.group!r} to fetch; known: {', '.join(MANIFEST)}", file=sys.stderr)
        return 2
    todo = missing(args.group)
    for f in MANIFEST[args.group]:
        size = f"{f.size / 1e6:.0f} MB" if f.size else "size not published"
        print(f"{f.name}: {f.about}, {f.licence}, {size}, {'to fetch' if f in todo else 'present'} ({f.url})")
    if args.list or not todo:
        return 0
    with tqdm(unit="B", unit_scale=True, disable=True if args.quiet else None) as bar:
        def on_bytes(done: int, total: int | None, _speed: float) -> None:
            bar.total, bar.n = total, done
            bar.refresh()
        try:
            paths = fetch(args.group, on_bytes=on_bytes)
        except FetchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    print(f"verified (sha256) and in place: {', '.join(str(p) for p in paths)}")
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

    from core.engine import EnhanceError, Request, run
    from core.imageio import ImageError, read_image_file
    from core.methods import METHODS
    from core.output import SUFFIXES, OutputOptions, encode

    if args.model_path:
        from core.user_models import UserModelError, load_user_model_file

        try:
            spec = load_user_model_file(args.model_path)
        except UserModelError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        args.method = spec.name
        print(f"{Path(args.model_path).name}: detected {spec.detected} (spandrel); runs on torch fp32")
    if args.method not in METHODS:
        print(f"error: unknown method {args.method!r}; known: {', '.join(METHODS.names())}", file=sys.stderr)
        return 2
    try:
        params = _parse_params(args.param)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        fit = _parse_fit(args.fit)
        options = OutputOptions(args.format, args.quality, 8 if args.eight_bit else None)
        options.check()
    except (ValueError, ImageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    request = Request.make(args.method, outscale=args.outscale, tile=args.tile, face=args.face,
                           face_strength=args.face_strength, params=params, backend=args.backend, alpha=args.alpha,
                           fit=fit, fit_mode=args.fit_mode, colour_fix=args.colour_fix)
    size = f"{fit[0]}x{fit[1]}" if fit else f"x{request.scale():g}"

    def out_name(path: Path) -> str:
        return f"{path.stem}_{args.method.replace(':', '_')}_{size}{SUFFIXES[options.format]}"

    if args.ray:
        return _enhance_on_ray(args, _inputs(args.inputs), out_dir, request, options, out_name)
    failed = 0
    for path in _inputs(args.inputs):
        try:
            image = read_image_file(path)
            # disable=None: no bar when stderr is not a terminal
            with tqdm(total=1, desc=path.name, unit="tile", leave=False, disable=True if args.quiet else None) as bar:

                def progress(done: int, total: int, _msg: str) -> None:
                    bar.total, bar.n = total, done
                    bar.refresh()

                result = run(image, request, progress)
            data, written = encode(result.pixels, options, image.metadata, result.stats.summary)
            dest = out_dir / out_name(path)
            dest.write_bytes(data)
            result.stats.notes.extend(written)
        except (ImageError, EnhanceError, ValueError) as exc:
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
              f"(×{s.pixel_ratio:.2f} pixels; {net}) in {s.elapsed_s:.2f} s on {s.backend}, {s.tiles} tile(s), "
              f"face: {s.face} → {dest} ({len(data):,} bytes){notes}")
    return 1 if failed else 0


def _enhance_on_ray(args, files: list[Path], out_dir: Path, request, options, out_name) -> int:
    """A folder as Ray tasks: bounded in flight, each output written when done, existing outputs skipped."""
    from tqdm import tqdm

    from core import distributed

    try:
        distributed.connect(args.ray)
    except distributed.RayUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = 0
    with tqdm(total=len(files), unit="file", disable=True if args.quiet else None) as bar:
        def on_file(item) -> None:
            nonlocal failed
            bar.update(1)
            if item.error:
                failed += 1
                print(f"error: {item.error}", file=sys.stderr)
            else:
                print(f"{item.source.name}: {'already done, skipped' if item.skipped else 'done'} → {item.output}")
        distributed.run_folder(files, out_dir, request, options, out_name, max_in_flight=args.ray_in_flight,
                               on_file=on_file)
    return 1 if failed else 0


def _parse_fit(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--fit {text!r}: write WIDTHxHEIGHT, e.g. 1920x1080") from None
    return w, h


def _add_degradation(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("degradation (blur → downscale → noise → JPEG; each optional)")
    g.add_argument("--downscale", default="bicubic", choices=DOWNSCALE_METHODS,
                   help="bicubic = Pillow, antialiased like MATLAB imresize")
    g.add_argument("--blur", type=float, default=0.0, metavar="SIGMA", help="Gaussian blur σ in HR pixels")
    g.add_argument("--noise", type=float, default=0.0, metavar="SIGMA", help="Gaussian noise σ on 0–255")
    g.add_argument("--jpeg", type=int, default=0, metavar="Q", help="JPEG quality 1–100 (0 = off)")
    g.add_argument("--seed", type=int, default=0)


def _degradation(args, scale: int):
    from core.degrade import Degradation

    return Degradation(scale=scale, downscale=args.downscale, blur_sigma=args.blur, noise_sigma=args.noise,
                       jpeg_quality=args.jpeg, seed=args.seed)


def cmd_degrade(args) -> int:
    """Make test pairs: OUTDIR/lr/NAME and OUTDIR/hr/NAME for every input image."""
    from core.degrade import make_pair
    from core.imageio import ImageError, encode_png, read_image_file

    out = Path(args.output)
    (out / "lr").mkdir(parents=True, exist_ok=True)
    (out / "hr").mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in _inputs(args.inputs):
        try:
            pair = make_pair(read_image_file(path).pixels, _degradation(args, args.scale))
        except (ImageError, ValueError) as exc:
            failed += 1
            print(f"error: {path.name}: {exc}", file=sys.stderr)
            continue
        (out / "lr" / f"{path.stem}.png").write_bytes(encode_png(pair.lr))
        (out / "hr" / f"{path.stem}.png").write_bytes(encode_png(pair.hr))
        print(f"{path.name}: {pair.pipeline()}")
    return 1 if failed else 0


def cmd_bench(args) -> int:
    from core import bench
    from core.methods import METHODS
    from core.metrics import METRICS

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        print(f"error: unknown method(s) {', '.join(unknown)}; known: {', '.join(METHODS.names())}",
              file=sys.stderr)
        return 2
    metrics = None if args.metrics is None else "all" if args.metrics == "all" else [
        m.strip() for m in args.metrics.split(",") if m.strip()]
    if isinstance(metrics, list) and (wrong := [m for m in metrics if m not in METRICS]):
        print(f"error: unknown metric(s) {', '.join(wrong)}; known: {', '.join(METRICS.names())}", file=sys.stderr)
        return 2
    crop = args.scale if args.crop_border is None else args.crop_border
    scale = int(args.scale)

    def show(item) -> None:
        vals = "  ".join(f"{m.label} {m.format(item.values[m.name])}" for m in chosen)
        print(f"  {item.image:24} {item.method:28} {vals}", file=sys.stderr)

    import tempfile

    chosen = bench.entries(metrics, has_reference=True)
    try:
        with tempfile.TemporaryDirectory(prefix="srlab-builtin-") as tmp:
            hr = bench.builtin_folder(Path(tmp)) if args.builtin else Path(args.hr)
            chosen, summary, per_image = bench.run(
                hr, Path(args.lr) if args.lr else None, scale, methods, _degradation(args, scale),
                y_only=args.y_channel, crop_border=crop, metrics=metrics, on_image=None if args.quiet else show)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rgb_only = ", ".join(m.label for m in chosen if m.rgb_only)
    how = (f"{'Y (BT.601)' if args.y_channel else 'RGB'}, border crop {crop} px"
           f"{', ' + rgb_only + ' on RGB' if rgb_only and args.y_channel else ''}; "
           f"LR: {'given (' + args.lr + ')' if args.lr else 'made from HR'}")
    widths = [max(len(m.heading), 8) for m in chosen]
    print(how)
    print(f"{'method':32} " + " ".join(f"{m.heading:>{w}}" for m, w in zip(chosen, widths)) + " images")
    for r in summary:
        print(f"{r['method']:32} " + " ".join(f"{m.format(r[m.name]):>{w}}" for m, w in zip(chosen, widths))
              + f" {r['images']}")
    if args.csv:
        bench.write_summary(Path(args.csv), chosen, summary)
    if args.per_image_csv:
        bench.write_per_image(Path(args.per_image_csv), chosen, per_image)
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m core", description="SR Lab: super-resolution on the command line")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("methods", help="list every method, and whether it is available")
    p.add_argument("--backends", action="store_true",
                   help="also say which CPU backend runs each network here, and why (measures once per machine)")
    p.add_argument("--backend", default="auto", choices=BACKEND_CHOICES, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_methods)
    p = sub.add_parser("fetch", help="download pinned, verified weights no package ships (face: GFPGAN, facexlib)")
    p.add_argument("group", help="what to fetch: face")
    p.add_argument("--list", action="store_true", help="say what would be fetched, from where, how big")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_fetch)
    p = sub.add_parser("metrics", help="list every metric: direction, unit, what it measures")
    p.set_defaults(func=cmd_metrics)
    p = sub.add_parser("prepare", help="convert or verify the networks' weights (make does this)")
    p.set_defaults(func=cmd_prepare)
    p = sub.add_parser("enhance", help="upscale image files or folders into OUTDIR as PNG")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files and/or folders")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR")
    p.add_argument("--method", default="RealESRGAN_x4plus", help="see `python -m core methods`")
    p.add_argument("--model-path", metavar="FILE", help="your own model (.pth/.safetensors; architecture detected "
                                                        "by spandrel, loaded without running code) instead of --method")
    p.add_argument("--outscale", type=float, default=None, help="1 to 8; default: the method's native scale")
    p.add_argument("--tile", type=int, default=0, help="tile size in input pixels; 0 = automatic")
    p.add_argument("--face", action="store_true", help="GFPGAN face restoration (needs its weights)")
    p.add_argument("--face-strength", type=float, default=0.5, help="0 to 1 (blend with the un-restored result)")
    p.add_argument("--backend", default="auto", choices=BACKEND_CHOICES,
                   help="how networks run on the CPU; auto: the fastest faithful one, measured once per machine")
    p.add_argument("--alpha", default="resize", choices=ALPHA_MODES,
                   help="transparency: resize it (bilinear) or run it through the method (sharper edges)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a classical method's parameter, e.g. --param sigma_color=40 (repeatable)")
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
    p.set_defaults(func=cmd_enhance)

    p = sub.add_parser("degrade", help="make test pairs (clean reference + degraded input) from clean images")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="writes OUTDIR/lr and OUTDIR/hr")
    p.add_argument("--scale", type=int, default=4, choices=[1, *SCALES])
    _add_degradation(p)
    p.set_defaults(func=cmd_degrade)

    p = sub.add_parser("bench", help="score methods on folders of images against true references")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--hr", metavar="DIR", help="clean reference images")
    source.add_argument("--builtin", action="store_true", help="the built-in set: scikit-image's photos "
                        "(astronaut, cat, coffee, rocket, camera, text), on every fresh clone")
    p.add_argument("--lr", metavar="DIR", help="given LR images, paired by name (babyx4.png ↔ baby.png); "
                                               "without it the LR is made from HR with the degradation options")
    p.add_argument("--scale", type=int, required=True, choices=SCALES)
    p.add_argument("--methods", required=True, help="comma-separated, e.g. bicubic,RealESRGAN_x4plus")
    p.add_argument("--y-channel", action="store_true", help="PSNR/SSIM on the BT.601 Y channel (else RGB)")
    p.add_argument("--crop-border", type=int, default=None, metavar="N", help="default: the scale")
    p.add_argument("--metrics", metavar="NAMES", help="comma-separated metric names, or 'all'; no-reference ones "
                   "(niqe, piqe, …) also get a '(reference)' row. Default: " + ",".join(
                       m.name for m in metric_entries(None, has_reference=True)) + ". See `python -m core metrics`")
    p.add_argument("--csv", metavar="OUT", help="one row per method: method, each metric, images")
    p.add_argument("--per-image-csv", metavar="OUT", help="one row per method and image")
    p.add_argument("-q", "--quiet", action="store_true")
    _add_degradation(p)
    p.set_defaults(func=cmd_bench)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
