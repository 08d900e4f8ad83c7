"""Many images at once: files and zip archives in, a zip of results with a CSV of statistics out.

Zips are read with bounds (files, bytes once unpacked) so an archive bomb is refused, not unpacked; names are
reduced to their base name, so nothing can be written outside the archive we make.
"""
from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from core.io.imageio import IMAGE_SUFFIXES, ImageError, LoadedImage, load_image

MAX_FILES = 200
MAX_UNPACKED_BYTES = 1_000_000_000


@dataclass
class BatchItem:
    name: str
    image: LoadedImage | None
    error: str = ""


def read_batch(files: list[tuple[str, bytes]]) -> list[BatchItem]:
    """Every image in `files` (name, bytes), zips expanded; a file that cannot be used carries its error."""
    items: list[BatchItem] = []
    for name, data in files:
        if name.lower().endswith(".zip"):
            items += _read_zip(name, data)
        else:
            items.append(_load(name, data))
        if len(items) > MAX_FILES:
            raise ImageError(f"more than {MAX_FILES} images in one batch: split it (the CLI takes folders)")
    seen: dict[str, int] = {}
    for item in items:  # photo.png from two folders of a zip: photo.png and photo_2.png
        seen[item.name] = seen.get(item.name, 0) + 1
        if seen[item.name] > 1:
            stem, dot, suffix = item.name.rpartition(".")
            item.name = f"{stem}_{seen[item.name]}{dot}{suffix}" if dot else f"{item.name}_{seen[item.name]}"
    return items


def _load(name: str, data: bytes) -> BatchItem:
    try:
        return BatchItem(name, load_image(data, name))
    except ImageError as exc:
        return BatchItem(name, None, str(exc))


def _read_zip(name: str, data: bytes) -> list[BatchItem]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return [BatchItem(name, None, f"{name} is not a readable zip archive")]
    members = [m for m in archive.infolist() if not m.is_dir()
               and PurePosixPath(m.filename).suffix.lower() in IMAGE_SUFFIXES
               and not PurePosixPath(m.filename).name.startswith(".")]
    if len(members) > MAX_FILES:
        raise ImageError(f"{name} holds {len(members)} images, over the {MAX_FILES} of one batch")
    if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
        raise ImageError(f"{name} would unpack to over {MAX_UNPACKED_BYTES // 1_000_000} MB: refused")
    return [_load(PurePosixPath(m.filename).name, archive.read(m)) for m in members]


def results_zip(outputs: list[tuple[str, bytes]], rows: list[dict]) -> bytes:
    """A zip of (file name, encoded image) plus statistics.csv with one row per input."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:  # images are compressed already
        for name, data in outputs:
            z.writestr(name, data)
        table = io.StringIO()
        fields = list(dict.fromkeys(k for row in rows for k in row))
        writer = csv.DictWriter(table, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
        z.writestr("statistics.csv", table.getvalue())
    return buf.getvalue()
