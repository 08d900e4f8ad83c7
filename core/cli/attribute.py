"""`python -m core attribute`: which input pixels each method used to draw one window of its output (local
attribution maps, core/quality/attribution.py). Writes OUT/<method>_map.png (the map over the input region, ×4,
window outlined), OUT/<method>_map16.png (the normalised map itself, 16-bit gray, one pixel per input pixel) and
OUT/attribution.json (the figures: DI, reach, seconds, completeness, the sentences)."""
from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from core.cli.common import fail
from core.quality.attribution import (
    DEFAULT_CONTEXT,
    DEFAULT_SIGMA,
    DEFAULT_STEPS,
    LAM_STEPS,
    REFINE_BUDGET_S,
    REFINE_GAP,
)


def add(sub) -> None:
    p = sub.add_parser("attribute", help="attribution maps: which input pixels made one window of the output")
    p.add_argument("input", metavar="IMG")
    p.add_argument("--window", required=True, metavar="X,Y,SIZE",
                   help="the window in output pixels (of the whole image at --scale): left, top, side")
    p.add_argument("--methods", default="bicubic,realesr-animevideov3,RealESRGAN_x4plus",
                   help="comma-separated, up to 4; each needs a torch forward (`python -m core methods`)")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR")
    p.add_argument("--scale", type=int, default=4)
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                   help=f"path steps of the first pass (default {DEFAULT_STEPS}; doubled while a map misses over "
                        f"{REFINE_GAP * 100:.0f} % of what the method did, within {REFINE_BUDGET_S:g} s a method; "
                        f"LAM's own: {LAM_STEPS})")
    p.add_argument("--no-refine", dest="refine", action="store_false", help="exactly --steps path steps")
    p.add_argument("--blur", type=float, default=DEFAULT_SIGMA, metavar="SIGMA",
                   help=f"σ of the blurred start of the path (default {DEFAULT_SIGMA}, LAM's; up to 10)")
    p.add_argument("--region", type=int, default=DEFAULT_CONTEXT, metavar="SIDE",
                   help=f"side of the input region the map covers, centred on the window (default {DEFAULT_CONTEXT})")
    p.add_argument("--model-path", metavar="FILE", help="also your own model (.pth/.safetensors, via spandrel)")
    p.set_defaults(func=run)


def _window(text: str) -> tuple[int, int, int]:
    try:
        x, y, size = (int(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--window {text!r}: write X,Y,SIZE in output pixels, e.g. 400,300,16") from None
    return x, y, size


class _Progress:
    """Progress on stderr: a bar on a terminal, and a plain line as each method starts and ends (with its
    seconds), so a piped run shows how far it is too."""

    def __init__(self, count: int, steps: int):
        from tqdm import tqdm

        self.count, self.steps, self.index, self.current, self.started = count, steps, 0, "", 0.0
        # disable=None: no bar when stderr is not a terminal
        self.bar = tqdm(total=1.0, leave=False, disable=None, file=sys.stderr, bar_format="{desc} {bar}| {elapsed}")

    def _say(self, line: str) -> None:
        self.bar.write(line, file=sys.stderr)

    def _end(self) -> None:
        if self.current:
            self._say(f"{self.current}: done in {time.perf_counter() - self.started:.1f} s")
            self.current = ""

    def step(self, fraction: float, message: str | None = None) -> None:
        head = (message or "").split(":")[0]
        if head and head != self.current:
            self._end()
            self.index += 1
            self.current, self.started = head, time.perf_counter()
            self._say(f"{head}: started ({self.index} of {self.count} methods, {self.steps} path steps first)")
            self.bar.set_description_str(head, refresh=False)
        self.bar.n = fraction
        self.bar.refresh()

    def close(self, finished: bool) -> None:
        if finished:
            self._end()
        self.bar.close()


def run(args) -> int:
    from core.io.imageio import ImageError, encode_png, read_image_file
    from core.methods.contract import NotAttributable
    from core.quality.attribution import AttributionError, AttributionRequest, attribute, heat_overlay, sentences
    from core.registry import UnknownName

    try:
        window = _window(args.window)
        image = read_image_file(args.input)
        own, names = {}, [n.strip() for n in args.methods.split(",") if n.strip()]
        if args.model_path:
            from core.methods.user import UserModelError, load_user_model_file

            try:
                spec = load_user_model_file(args.model_path)
            except UserModelError as exc:
                return fail(str(exc))
            own, names = {spec.name: spec}, [*names, spec.name]
        request = AttributionRequest(tuple(names), window=window, scale=args.scale, steps=args.steps,
                                     sigma=args.blur, context=args.region, refine=args.refine)
        progress = _Progress(len(names), request.steps)
        try:
            result = attribute(request, image.pixels, own=own, ctx=progress)
        except BaseException:
            progress.close(finished=False)
            raise
        progress.close(finished=True)
    except (ImageError, AttributionError, NotAttributable, UnknownName, ValueError) as exc:
        return fail(str(exc).splitlines()[0])
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    import numpy as np

    for m in result.maps:
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", m.method)
        (out / f"{stem}_map.png").write_bytes(encode_png(heat_overlay(result.crop, m.map, result.window,
                                                                      request.scale)))
        (out / f"{stem}_map16.png").write_bytes(encode_png(np.round(m.map * 65535).astype(np.uint16)))
    figures = {"input": str(args.input), **result.figures()}
    (out / "attribution.json").write_text(json.dumps(figures, indent=1, ensure_ascii=False))
    for line in sentences(result).values():
        print(line)
    print(f"wrote {len(result.maps) * 2} maps and attribution.json to {out}")
    return 0
