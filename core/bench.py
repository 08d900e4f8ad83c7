"""Score methods over folders of images against true references (the bench CLI and the README tables)."""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from core.degrade import Degradation, make_pair
from core.engine import enhance
from core.imageio import IMAGE_SUFFIXES, read_image_file
from core.metrics import FULL_REFERENCE, score

SUMMARY_FIELDS = ["method", "psnr_db", "ssim", "lpips", "mse", "images"]


@dataclass
class ImageScore:
    method: str
    image: str
    values: dict[str, float]
    notes: list[str]


def pairs(hr_dir: Path, lr_dir: Path | None, scale: int, degradation: Degradation):
    """(name, LR pixels, HR pixels, how the pair was made) for every HR image, sorted by name."""
    hr_files = sorted(f for f in Path(hr_dir).iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
    if not hr_files:
        raise ValueError(f"no images in {hr_dir}")
    if lr_dir is None:
        for f in hr_files:
            pair = make_pair(read_image_file(f).pixels, degradation)
            yield f.name, pair.lr, pair.hr, pair.pipeline()
        return
    lr_by_name = {}
    for f in Path(lr_dir).iterdir():
        if f.suffix.lower() in IMAGE_SUFFIXES:  # babyx4.png pairs with baby.png
            lr_by_name[re.sub(rf"x{scale}$", "", f.stem)] = f
    for f in hr_files:
        lr = lr_by_name.get(f.stem)
        if lr is None:
            raise ValueError(f"no LR image for {f.name} in {lr_dir} (expected {f.stem}x{scale}{f.suffix} or "
                             f"{f.name})")
        yield f.name, read_image_file(lr).pixels, read_image_file(f).pixels, f"given LR {lr.name}"


def run(hr_dir: Path, lr_dir: Path | None, scale: int, methods: list[str], degradation: Degradation, *,
        y_only: bool, crop_border: int, size_policy: str = "crop",
        on_image: Callable[[ImageScore], None] | None = None) -> tuple[list[dict], list[ImageScore]]:
    per_image: list[ImageScore] = []
    for name, lr, hr, how in pairs(hr_dir, lr_dir, scale, degradation):
        for method in methods:
            out = enhance(lr, method, outscale=scale).pixels
            values, notes = score(out, hr, y_only=y_only, crop_border=crop_border, size_policy=size_policy)
            item = ImageScore(method, name, values, [how, *notes])
            per_image.append(item)
            if on_image:
                on_image(item)
    summary = []
    for method in methods:
        rows = [s for s in per_image if s.method == method]
        means = {m.name: math.fsum(r.values[m.name] for r in rows) / len(rows) for m in FULL_REFERENCE}
        summary.append({"method": method, **means, "images": len(rows)})
    return summary, per_image


def write_summary(path: Path, summary: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=SUMMARY_FIELDS)
        w.writeheader()
        for row in summary:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})


def write_per_image(path: Path, per_image: list[ImageScore]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["method", "image", *[m.name for m in FULL_REFERENCE], "notes"])
        for s in per_image:
            w.writerow([s.method, s.image, *[f"{s.values[m.name]:.6g}" for m in FULL_REFERENCE], "; ".join(s.notes)])
