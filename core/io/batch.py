"""Many images at once: files and zip archives in, a zip of results with a CSV of statistics out.

Memory is spent on decoded pixels, so a batch is read in two passes: `open_batch` reads every member's header
(no decoding) and refuses a batch whose pixels add up to more than SRLAB_BATCH_MAX_MEGAPIXELS; then each member
is decoded only when `load()` is called, one at a time, and released by the caller before the next. Zips are
also read with bounds (files, bytes once unpacked) so an archive bomb is refused, not unpacked; names are reduced
to their base name, so nothing can be written outside the archive we make. `ResultsZip` writes the results to a
temporary file as they come, up to SRLAB_BATCH_OUTPUT_MB.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import BinaryIO

from core import settings
from core.io.imageio import IMAGE_SUFFIXES, ImageError, ImageHeader, LoadedImage, load_image, read_header

# statistics.csv's columns, in this order for every batch (a failed image leaves its cells empty, not missing)
COLUMNS = ("file", "method", "scale", "input", "output", "what was done", "backend", "seconds", "error")
MAX_FILES = 200
MAX_UNPACKED_BYTES = 1_000_000_000
CLI_HINT = "`python -m core enhance DIR -o OUT`"
# What reading a damaged, encrypted or oddly compressed zip member raises.
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, zlib.error)


@dataclass
class BatchMember:
    """One image of a batch: its header read, its pixels decoded only by `load()`. A member whose header was
    refused (unreadable, over SRLAB_MAX_INPUT_PIXELS) carries the reason in `error` and is skipped."""
    name: str
    header: ImageHeader | None
    error: str = ""
    _read: Callable[[], bytes] = field(default=lambda: b"", repr=False)

    def read(self) -> bytes:
        """This member's file; ImageError (one line) when it cannot be had."""
        if self.error:
            raise ImageError(self.error)
        try:
            return self._read()
        except _ZIP_ERRORS as exc:
            raise ImageError(f"{self.name}: cannot be read from its zip archive ({exc})") from None

    def load(self) -> LoadedImage:
        """Decode this member now; ImageError (one line) when it cannot be used."""
        return load_image(self.read(), self.name)


@dataclass
class Batch:
    """The members of a batch in upload order, names unique; iterating decodes nothing."""
    members: list[BatchMember]

    def __iter__(self) -> Iterator[BatchMember]:
        return iter(self.members)

    def __len__(self) -> int:
        return len(self.members)

    @property
    def megapixels(self) -> float:
        """Decoded pixels of the members that will be decoded (not the skipped ones), in millions."""
        return sum(m.header.pixels for m in self.members if m.header) / 1e6


def open_batch(files: Iterable[tuple[str, bytes]], max_megapixels: float | None = None) -> Batch:
    """Every image in `files` (name, bytes), zips expanded, sized from the headers; ImageError (one line) when
    the batch has too many files, a zip would unpack to too much, or the pixels are over the batch's budget."""
    limit = settings.current().batch_max_megapixels if max_megapixels is None else max_megapixels
    members: list[BatchMember] = []
    for name, data in files:
        if name.lower().endswith(".zip"):
            members += _zip_members(name, data)
        else:
            members.append(_member(name, lambda data=data: data))
        if len(members) > MAX_FILES:
            raise ImageError(f"more than {MAX_FILES} images in one batch: split it (the CLI takes folders)")
    _make_names_unique(members)
    batch = Batch(members)
    if batch.megapixels > limit:
        raise ImageError(
            f"this batch holds {batch.megapixels:,.0f} megapixels of images once decoded; the limit is {limit:,g} MP "
            f"(SRLAB_BATCH_MAX_MEGAPIXELS): split it, or use {CLI_HINT}")
    return batch


def _member(name: str, read: Callable[[], bytes], open_stream: Callable[[], BinaryIO] | None = None) -> BatchMember:
    try:
        if open_stream is None:
            header = read_header(read(), name)
        else:
            with open_stream() as stream:  # a zip member: only the header's bytes are inflated
                header = read_header(stream, name)
    except ImageError as exc:
        return BatchMember(name, None, str(exc))
    return BatchMember(name, header, _read=read)


def _zip_members(name: str, data: bytes) -> list[BatchMember]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return [BatchMember(name, None, f"{name} is not a readable zip archive")]
    infos = [m for m in archive.infolist() if not m.is_dir()
             and PurePosixPath(m.filename).suffix.lower() in IMAGE_SUFFIXES
             and not PurePosixPath(m.filename).name.startswith(".")]
    if len(infos) > MAX_FILES:
        raise ImageError(f"{name} holds {len(infos)} images, over the {MAX_FILES} of one batch")
    if sum(m.file_size for m in infos) > MAX_UNPACKED_BYTES:
        raise ImageError(f"{name} would unpack to over {MAX_UNPACKED_BYTES // 1_000_000} MB: refused")
    members = []
    for info in infos:
        base = PurePosixPath(info.filename).name
        try:
            members.append(_member(base, lambda info=info: archive.read(info), lambda info=info: archive.open(info)))
        except _ZIP_ERRORS as exc:
            members.append(BatchMember(base, None, f"{base}: cannot be read from {name} ({exc})"))
    return members


def _make_names_unique(members: list[BatchMember]) -> None:
    taken = {m.name for m in members}
    seen: set[str] = set()
    # photo.png from two folders of a zip: photo.png and photo_2.png (photo_3.png if a member is named photo_2.png)
    for member in members:
        if member.name in seen:
            stem, dot, suffix = member.name.rpartition(".")
            n = 2
            while (name := f"{stem}_{n}{dot}{suffix}" if dot else f"{member.name}_{n}") in taken:
                n += 1
            member.name = name
            taken.add(name)
        seen.add(member.name)


def blank_row(file: str, method: str, scale: float) -> dict:
    """One input's row of statistics.csv before it is done: every column, in order, the unknown ones empty."""
    return dict.fromkeys(COLUMNS, "") | {"file": file, "method": method, "scale": scale}


class ResultsFull(ImageError):
    """The next result would take results.zip over SRLAB_BATCH_OUTPUT_MB."""


class ResultsZip:
    """results.zip written as results come: each one appended to a zip in a temporary file (deleted when
    closed), so only one result is in memory at a time. `add` raises ResultsFull before the file would pass
    `max_bytes`; what was added stays, and `finish` still makes a valid zip of it. Thread-safe."""

    def __init__(self, max_bytes: int | None = None):
        self.max_bytes = settings.current().batch_output_mb * 1_000_000 if max_bytes is None else max_bytes
        self.done = 0
        self._lock = threading.Lock()
        self._file = tempfile.TemporaryFile(prefix="srlab-results-", suffix=".zip")
        self._zip = zipfile.ZipFile(self._file, "w", compression=zipfile.ZIP_STORED)  # images are compressed

    @property
    def nbytes(self) -> int:
        """Bytes of the file so far (until `finish`, without the central directory)."""
        with self._lock:
            return self._file.seek(0, os.SEEK_END)

    def add(self, name: str, data: bytes) -> None:
        # A stored entry costs its data plus two headers holding the name (local, then central directory).
        entry = len(data) + 2 * len(name.encode()) + 128
        with self._lock:
            if self._file.tell() + entry > self.max_bytes:
                raise ResultsFull(
                    f"results.zip would pass {self.max_bytes / 1e6:,.0f} MB (SRLAB_BATCH_OUTPUT_MB) with {name}: "
                    f"{self.done} images done and kept in it; for the rest use {CLI_HINT}, which has no such bound")
            self._zip.writestr(name, data)
            self.done += 1

    def finish(self, rows: list[dict]) -> None:
        """Append statistics.csv (one row per input; a few kB past `max_bytes` at most) and close the zip."""
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=COLUMNS, restval="")
        writer.writeheader()
        writer.writerows(rows)
        with self._lock:
            self._zip.writestr("statistics.csv", table.getvalue())
            self._zip.close()

    def read(self) -> bytes:
        """The finished zip's bytes: the one whole copy in memory, for a download. Give Streamlit's
        download_button `results.read` itself (a callable runs only on click; bytes or a file object would be
        read on every rerun, and it takes no BufferedRandom such as this temporary file)."""
        with self._lock:
            self._file.seek(0)
            return self._file.read()

    def close(self) -> None:
        """Delete the temporary file (also done when this object is garbage-collected)."""
        with self._lock:
            self._zip.close()
            self._file.close()

    def __enter__(self) -> "ResultsZip":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
