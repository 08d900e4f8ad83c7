"""Score methods over folders of images against true references (the bench CLI and the README tables)."""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from core.io.imageio import IMAGE_SUFFIXES, read_image_file
from core.pipeline.engine import Request
from core.quality.degrade import Degradation, make_pair
from core.quality.metrics import Metric, indicators
from core.quality.scoring import ImageRun, csv_number, entries, mean_over, score_and_keep


@dataclass
class ImageScore:
    method: str
    image: str
    values: dict[str, float]
    notes: list[str]


BUILTIN = ("astronaut", "cat", "coffee", "rocket", "camera", "text")  # scikit-image's photos: every clone has them


def builtin_folder(folder: Path) -> Path:
    """The built-in benchmark set written as PNGs into `folder`: scikit-image's photos (portrait, fur, smooth
    gradients, sky and metal, a gray classic, printed text), so a fresh clone can bench without any data."""
    from core.io.imageio import encode_png
    from core.io.samples import SAMPLES

    folder.mkdir(parents=True, exist_ok=True)
    for name in BUILTIN:
        (folder / f"{name}.png").write_bytes(encode_png(SAMPLES[name].original()))
    return folder


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


REFERENCE_ROW = "(reference)"  # no-reference measures of the HR images themselves, for scale


def run(hr_dir: Path, lr_dir: Path | None, scale: int, methods: list[str], degradation: Degradation, *,
        y_only: bool, crop_border: int, size_policy: str = "crop", metrics: list[str] | str | None = None,
        on_image: Callable[[ImageScore], None] | None = None, on_table: Callable[[ImageRun], None] | None = None,
        keep_outputs: Callable[[str], bool] = lambda name: False,
        ) -> tuple[list[Metric], list[dict], list[ImageScore]]:
    """(metrics reported, one summary row per method, one score per method and image). `on_table` gets each
    image's whole scoring (for a report), with the outputs kept where `keep_outputs(image name)`."""
    chosen = entries(metrics, has_reference=True)
    no_ref = [m.name for m in chosen if not m.full_reference]
    per_image: list[ImageScore] = []
    for name, lr, hr, how in pairs(hr_dir, lr_dir, scale, degradation):
        scored = score_and_keep(name, lr, hr, [Request.make(m, outscale=scale) for m in methods], how,
                                keep=keep_outputs(name), y_only=y_only, crop_border=crop_border,
                                size_policy=size_policy, metrics=[m.name for m in chosen])
        table = scored.scores
        if table.errors:
            raise ValueError(f"{name}: {table.errors[0]}")
        items = [ImageScore(r.method, name, r.values, [how, *table.notes]) for r in table.rows]
        if no_ref:
            nan = {m.name: math.nan for m in chosen}
            items.append(ImageScore(REFERENCE_ROW, name, {**nan, **indicators(hr, no_ref)}, [how]))
        for item in items:
            per_image.append(item)
            if on_image:
                on_image(item)
        if on_table:
            on_table(scored)
    summary = []
    for method in [*methods, *([REFERENCE_ROW] if no_ref else [])]:
        rows = [s for s in per_image if s.method == method]
        means = {m.name: mean_over(rows, m) for m in chosen}
        summary.append({"method": method, **means, "images": len(rows)})
    return chosen, summary, per_image


def write_summary(path: Path, metrics: list[Metric], summary: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["method", *[m.name for m in metrics], "images"])
        w.writeheader()
        for row in summary:
            w.writerow({k: csv_number(v) for k, v in row.items()})


def write_per_image(path: Path, metrics: list[Metric], per_image: list[ImageScore]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["method", "image", *[m.name for m in metrics], "notes"])
        for s in per_image:
            w.writerow([s.method, s.image, *[csv_number(s.values[m.name]) for m in metrics], "; ".join(s.notes)])
