"""The handout of a Video page run: one self-contained HTML file with the clip and what each method did, a few
frames of every result beside the reference and the input (decoded from the run's H.264 MP4s), the per-frame curves
and the clip's means. Built from the blocks of the image handouts (core/quality/report.py)."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import cv2
import pandas as pd

from core.io.video import frame_at
from core.quality import charts
from core.quality.report import _Page, data_uri, sentence
from core.runtime import machine
from core.video.job import ClipComparison


def video_html(result: ClipComparison, *, name: str, headings: Mapping[str, str], frames: Sequence[int] | None = None,
               font_size: int = charts.FONT) -> str:
    """The handout of a Video page run (`headings`: each measure's column title):
    the clip and what each method did, a few frames of every result beside the reference and the input (decoded
    from the run's H.264 MP4s), the per-frame curves and the clip's means."""
    page = _Page()
    methods = result.methods
    count = min(len(r.rows) for r in methods.values())
    page.add("what", lines=[f"Clip: {result.clip}.",
                            f"Reference: {result.reference_name or 'none (no-reference measures only)'}."] +
             [f"{m}: {r.what}: {sentence(r.how)} {r.fps:.2f} frames/s on {machine.describe()}."
              for m, r in methods.items()])
    for i in sorted(set(frames if frames is not None else (0, count // 2, count - 1))):
        i = min(max(0, i), count - 1)
        images = [(f"{m} ({r.what})", frame_at(r.video, i)) for m, r in methods.items()]
        h, w = images[0][1].shape[:2]
        if result.reference is not None:
            images.append(("reference (the truth)", frame_at(result.reference, i)))
        src = frame_at(result.input, i)
        images.append((f"input, nearest-neighbour ×{result.scale:g}",
                       cv2.resize(src, (w, h), interpolation=cv2.INTER_NEAREST)))
        page.add("crops", level=2, heading=f"Frame {i} of 0–{count - 1}", crops=[
            (label, data_uri(px[:h, :w], 360)) for label, px in images],
                 where="Decoded from the H.264 MP4s (CRF 17); the scores were measured before encoding.")
    table = pd.concat([pd.DataFrame(r.rows).assign(method=m) for m, r in methods.items()])
    shown = [c for c in ("psnr_db", "flicker", "ssim", "lpips", "change", "sharpness") if c in table]
    page.add_charts("Per frame", [(charts.frame_curve(table, c, headings.get(c, c), font_size=font_size),
                                   headings.get(c, c)) for c in shown[:4]])
    columns = list(dict.fromkeys(k for r in methods.values() for k in r.summary))
    page.add("table", level=2, heading="Means over the clip", caveat="", first=30, notes=[],
             table={"headings": [headings.get(c, c) for c in columns],
                    "rows": [(m, [(f"{r.summary.get(c, math.nan):.4g}", False) for c in columns])
                             for m, r in methods.items()]})
    return page.html(f"SR Lab video: {name}", f"{len(methods)} method(s), {count} frames.")
