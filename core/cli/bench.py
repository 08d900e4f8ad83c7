"""`python -m core bench`: score methods over folders of images against true references (the figures in
docs/figures.md), or over the built-in photos on any clone."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from core.cli.common import add_degradation, degradation, fail
from core.methods import SCALES
from core.quality.scoring import entries


def add(sub) -> None:
    p = sub.add_parser("bench", help="score methods on folders of images against true references")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--hr", metavar="DIR", help="clean reference images")
    source.add_argument("--builtin", action="store_true", help="the built-in set: scikit-image's photos "
                        "(astronaut, cat, coffee, rocket, camera, text), on every fresh clone")
    p.add_argument("--lr", metavar="DIR", help="given LR images, paired by name (babyx4.png ↔ baby.png); "
                                               "without it the LR is made from HR with the degradation options")
    p.add_argument("--scale", type=int, required=True, choices=SCALES)
    p.add_argument("--methods", required=True, help="comma-separated, e.g. bicubic,RealESRGAN_x4plus")
    p.add_argument("--y-channel", action="store_true", help="PSNR/SSIM on the BT.601 Y channel (default: RGB)")
    p.add_argument("--crop-border", type=int, default=None, metavar="N", help="default: the scale")
    p.add_argument("--metrics", metavar="NAMES", help="comma-separated metric names, or 'all'; no-reference ones "
                   "(niqe, piqe, …) also get a '(reference)' row. Default: " + ",".join(
                       m.name for m in entries(None, has_reference=True)) + ". See `python -m core metrics`")
    p.add_argument("--csv", metavar="OUT", help="one row per method: method, each metric, images")
    p.add_argument("--per-image-csv", metavar="OUT", help="one row per method and image")
    p.add_argument("--report", metavar="OUT.html", help="a self-contained HTML handout (offline, prints on A4): "
                   "the methods with their weights' sha256, the summary, per-image tables, example crops, spectra")
    p.add_argument("--report-examples", type=int, default=2, metavar="N",
                   help="images whose crops and spectra the report shows (default 2; their outputs are kept)")
    p.add_argument("-q", "--quiet", action="store_true")
    add_degradation(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from core.methods import METHODS
    from core.quality import bench
    from core.quality.metrics import METRICS

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        return fail(f"unknown method(s) {', '.join(unknown)}; known: {', '.join(METHODS.names())}")
    metrics = None if args.metrics is None else "all" if args.metrics == "all" else [
        m.strip() for m in args.metrics.split(",") if m.strip()]
    if isinstance(metrics, list) and (wrong := [m for m in metrics if m not in METRICS]):
        return fail(f"unknown metric(s) {', '.join(wrong)}; known: {', '.join(METRICS.names())}")
    crop = args.scale if args.crop_border is None else args.crop_border
    scale = int(args.scale)
    chosen = entries(metrics, has_reference=True)

    def show(item) -> None:
        vals = "  ".join(f"{m.label} {m.format(item.values[m.name])}" for m in chosen)
        print(f"  {item.image:24} {item.method:28} {vals}", file=sys.stderr)

    runs, kept = [], []

    def keep(name: str) -> bool:
        if len(kept) < args.report_examples:
            kept.append(name)
        return name in kept

    try:
        with tempfile.TemporaryDirectory(prefix="srlab-builtin-") as tmp:
            hr = bench.builtin_folder(Path(tmp)) if args.builtin else Path(args.hr)
            chosen, summary, per_image = bench.run(
                hr, Path(args.lr) if args.lr else None, scale, methods, degradation(args, scale),
                y_only=args.y_channel, crop_border=crop, metrics=metrics, on_image=None if args.quiet else show,
                on_table=runs.append if args.report else None, keep_outputs=keep if args.report else lambda _: False)
    except ValueError as exc:
        return fail(str(exc))
    rgb_only = ", ".join(m.label for m in chosen if m.rgb_only)
    how = (f"{'Y (BT.601)' if args.y_channel else 'RGB'}, border crop {crop} px"
           f"{', ' + rgb_only + ' on RGB' if rgb_only and args.y_channel else ''}; "
           f"LR: {'given (' + args.lr + ')' if args.lr else 'made from HR'}")
    widths = [max(len(m.heading), 8) for m in chosen]
    name_width = max(32, *(len(r["method"]) + 1 for r in summary))
    print(how)
    print(f"{'method':{name_width}} " + " ".join(f"{m.heading:>{w}}" for m, w in zip(chosen, widths)) + " images")
    for r in summary:
        print(f"{r['method']:{name_width}} " + " ".join(f"{m.format(r[m.name]):>{w}}" for m, w in zip(chosen, widths))
              + f" {r['images']}")
    if args.csv:
        bench.write_summary(Path(args.csv), chosen, summary)
    if args.per_image_csv:
        bench.write_per_image(Path(args.per_image_csv), chosen, per_image)
    if args.report:
        from core.quality import report

        source = "the built-in photos" if args.builtin else args.hr
        page = report.bench_html(runs, chosen, summary, how=f"{source}: {how}", scale=scale, per_image=per_image,
                                 title=f"SR Lab bench ×{scale}: {', '.join(methods)}")
        path = report.write(args.report, page)
        print(f"report: {path} ({path.stat().st_size:,} bytes)", file=sys.stderr)
    return 0
