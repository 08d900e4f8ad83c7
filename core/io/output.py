"""Writing a result file: PNG (8 or 16 bit, as the result), JPEG or WebP with a quality; the input's ICC profile,
resolution and EXIF carried over (orientation reset), and how the file was made written into it."""
from __future__ import annotations

import contextlib
import io
import os
import re
import struct
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

import numpy as np
from PIL import Image

from core.io.imageio import ImageError, Metadata, encode_png

FORMATS = ("png", "jpeg", "webp")
SUFFIXES = {"png": ".png", "jpeg": ".jpg", "webp": ".webp"}
MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
SOFTWARE = "SR Lab"
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]+')  # what Windows (or a zip tool) cannot hold in a file name


def result_name(source: str, method: str, tag: str, suffix: str) -> str:
    """A result's file name, the same in every download, zip entry and CLI output: `photo_SPAN_x4_x4.png`. The
    source's suffix is dropped; what a file name cannot hold (`<`, `>`, `:` as in `user:…`, slashes, control
    characters) becomes `_`; leading dots and spaces go, so no name is hidden or empty."""
    name = _UNSAFE.sub("_", f"{file_stem(source)}_{method}_{tag}").strip(" .") or "result"
    return name + suffix


class NameClash(ImageError):
    """Two inputs whose outputs cannot be given different names (the same file given twice)."""


def file_stem(source: str) -> str:
    """A file's name without its suffix (`photo.png` → `photo`; `.hidden` stays)."""
    return source.rsplit(".", 1)[0] if "." in source.lstrip(".") else source


def _told_apart(source: PurePath, level: int) -> str:
    """`source`'s name at a level of detail: 0 `photo.png`; 1 `photo-png` (its extension kept); 2 and on
    `folder-photo-png`, one more parent folder per level."""
    if level == 0:
        return source.name
    folders = _folders(source)
    return "-".join([*folders[len(folders) - (level - 1):], source.name.replace(".", "-")])


def _folders(source: PurePath) -> tuple[str, ...]:
    parts = source.parent.parts
    return parts[1:] if source.anchor else parts


def result_names(sources: Sequence[str | PurePath], method: str, tag: str, suffix: str) -> list[str]:
    """Every output's name of one run (`told_apart` with result_name)."""
    return told_apart(sources, lambda name: result_name(name, method, tag, suffix))


def told_apart(sources: Sequence[str | PurePath], name_of: Callable[[str], str]) -> list[str]:
    """Every output's name of one run, decided before anything runs, never two the same (one would overwrite
    the other): name_of(source's name) as a rule; outputs that would share one keep their source's
    extension (`small-png_…`, `small-jpg_…`), then as many parent folders as tell them apart (`a-x-png_…`,
    `b-x-png_…`), so a re-run of the same inputs gets the same names (and skips what is done). NameClash when
    two cannot be told apart (the same file twice)."""
    paths = [PurePath(s) for s in sources]
    levels = [0] * len(paths)
    most = [1 + len(_folders(p)) for p in paths]
    while True:
        names = [name_of(_told_apart(p, lv)) for p, lv in zip(paths, levels)]
        groups: dict[str, list[int]] = {}
        for i, name in enumerate(names):
            groups.setdefault(name, []).append(i)
        clashes = [g for g in groups.values() if len(g) > 1]
        if not clashes:
            return names
        for group in clashes:
            if all(levels[i] >= most[i] for i in group):
                first, second = (paths[i] for i in group[:2])
                raise NameClash(f"{first} is given twice: give each file once" if first == second else
                                f"{first} and {second} cannot be given different output names: rename one")
            for i in group:
                levels[i] = min(levels[i] + 1, most[i])


@dataclass(frozen=True)
class OutputOptions:
    format: str = "png"
    quality: int = 95           # JPEG and WebP; WebP at 100 is lossless
    bit_depth: int | None = None  # PNG: None keeps the result's (16-bit in, 16-bit out); 8 reduces

    def check(self) -> None:
        if self.format not in FORMATS:
            raise ImageError(f"output format {self.format!r}: choose one of {', '.join(FORMATS)}")
        if not 1 <= self.quality <= 100:
            raise ImageError(f"quality {self.quality}: choose 1 to 100")


def encode(pixels: np.ndarray, options: OutputOptions | None = None, metadata: Metadata | None = None,
           made_by: str = "", png: bytes | None = None) -> tuple[bytes, list[str]]:
    """File bytes and notes on what the format changed (alpha flattened, bits reduced). `png`: encode_png(pixels)
    when the caller has it already (a job made it), so a PNG only gets its metadata here."""
    options, metadata = options or OutputOptions(), metadata or Metadata()
    options.check()
    notes: list[str] = []
    if options.format == "png":
        if options.bit_depth == 8 and pixels.dtype == np.uint16:
            pixels, png = _to_8_bit(pixels, notes), None
        return _png_with_metadata(png or encode_png(pixels), metadata, made_by), notes
    if pixels.dtype == np.uint16:
        pixels = _to_8_bit(pixels, notes)
    im = Image.fromarray(pixels)
    if options.format == "jpeg" and im.mode in ("LA", "RGBA"):
        background = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, im.convert("RGBA")).convert("RGB")
        notes.append("JPEG has no transparency: flattened onto white")
    exif = Image.Exif()
    if metadata.exif:
        exif.load(metadata.exif)
    exif[0x0131] = SOFTWARE
    if made_by:
        exif[0x010E] = made_by.replace("×", "x").encode("ascii", "replace").decode()  # ASCII only
    kw = dict(exif=exif.tobytes())
    if metadata.icc_profile:
        kw["icc_profile"] = metadata.icc_profile
    if metadata.dpi and options.format == "jpeg":
        kw["dpi"] = tuple(round(d) for d in metadata.dpi)
    buf = io.BytesIO()
    if options.format == "jpeg":
        im.save(buf, "JPEG", quality=options.quality, **kw)
    else:
        im.save(buf, "WEBP", quality=options.quality, lossless=options.quality == 100, method=4, **kw)
    return buf.getvalue(), notes


def _to_8_bit(pixels: np.ndarray, notes: list[str]) -> np.ndarray:
    notes.append("16-bit result written as 8-bit")
    return ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


# Pillow cannot write 16-bit colour PNGs and OpenCV writes no metadata, so the metadata chunks are added to
# OpenCV's file here (PNG spec: ancillary chunks between IHDR and IDAT).
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_with_metadata(png: bytes, metadata: Metadata, made_by: str) -> bytes:
    chunks = [_chunk(b"iTXt", b"Software\0\0\0\0\0" + SOFTWARE.encode())]
    if made_by:
        chunks.append(_chunk(b"iTXt", b"Description\0\0\0\0\0" + made_by.encode()))
    if metadata.icc_profile:
        chunks.append(_chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(metadata.icc_profile)))
    if metadata.dpi:
        per_metre = [round(d / 0.0254) for d in metadata.dpi]
        chunks.append(_chunk(b"pHYs", struct.pack(">IIB", *per_metre, 1)))
    if metadata.exif:
        exif = metadata.exif[6:] if metadata.exif.startswith(b"Exif\0\0") else metadata.exif
        chunks.append(_chunk(b"eXIf", exif))
    ihdr_end = 8 + 8 + 13 + 4  # signature, IHDR length+type, IHDR data, CRC
    return png[:ihdr_end] + b"".join(chunks) + png[ihdr_end:]


@contextlib.contextmanager
def whole_file(dest: Path, per_process: bool = False) -> Iterator[Path]:
    """The path to write `dest` through: a hidden `.part` beside it, renamed over `dest` when the block ends and
    removed when it raises, so `dest` is absent or whole (a re-run that finds it skips it). `per_process`: a part
    of this process's own, where two processes may write the same file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.name}.{os.getpid()}.part" if per_process else f".{dest.name}.part")
    try:
        yield part
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
