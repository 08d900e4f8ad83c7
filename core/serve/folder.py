"""A folder of images through one request, in this process or on a Ray cluster — one loop for both: outputs
already there are skipped (a re-run continues), each output is written when its file is done (to a hidden
`.part` file, then renamed: a file is absent or whole), a bad file is reported and the others go on."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from core.pipeline.engine import Request, Stats


@dataclass
class FileDone:
    source: Path
    output: Path | None
    error: str | None = None
    skipped: bool = False
    stats: Stats | None = None
    file_bytes: int = 0


def _enhance_file(data: bytes, name: str, request: Request, options, own: Mapping | None = None, on_step=None):
    """(encoded output, statistics) or (None, the error): a bad file is reported, the batch goes on. Runs in
    this process or on a Ray worker (its name is the worker's title there)."""
    from core.io.imageio import ImageError, load_image
    from core.io.output import encode
    from core.pipeline.engine import EnhanceError, run

    try:
        image = load_image(data, name)
        result = run(image, request, on_step=on_step, own=own)
        encoded, written = encode(result.pixels, options, image.metadata, result.stats.summary)
    except ImageError as exc:  # its message names the file
        return None, str(exc)
    except (EnhanceError, ValueError) as exc:
        return None, f"{name}: {exc}"
    except Exception as exc:  # one bad file must not stop the batch; no traceback for the user
        return None, f"{name}: {type(exc).__name__}: {exc}"
    result.stats.notes.extend(written)
    return encoded, result.stats


class InProcess:
    """Runs each file here, one at a time (`on_step` sees its progress)."""
    max_in_flight = 1

    def __init__(self, on_step=None):
        self.on_step = on_step

    def submit(self, data: bytes, name: str, request: Request, options, own) -> "_Ticket":
        return _Ticket(_enhance_file(data, name, request, options, own, self.on_step))

    def wait_one(self, pending):
        return next(iter(pending))

    def get(self, ticket: "_Ticket"):
        return ticket.result


class _Ticket:
    """A file done in this process (hashed by identity, like a Ray object reference)."""

    def __init__(self, result):
        self.result = result


def run_folder(files: Iterable[Path], out_dir: Path, request: Request, options, out_name: Callable[[Path], str], *,
               pool=None, own: Mapping | None = None, on_file: Callable[[FileDone], None] | None = None
               ) -> list[FileDone]:
    """Every file through `request`, at most `pool.max_in_flight` at once (the driver reads a file only when a
    place frees up). `pool`: InProcess() by default, or core.serve.distributed.RayPool()."""
    pool = pool or InProcess()
    out_dir.mkdir(parents=True, exist_ok=True)
    pending: dict = {}
    done: list[FileDone] = []

    def finish(item: FileDone) -> None:
        done.append(item)
        if on_file:
            on_file(item)

    def collect(ticket) -> None:
        src, dest = pending.pop(ticket)
        try:
            encoded, stats = pool.get(ticket)
        except Exception as exc:  # a task that failed on every retry (e.g. its workers kept dying)
            finish(FileDone(src, None, f"{src.name}: {str(exc).splitlines()[0]}"))
            return
        if encoded is None:
            finish(FileDone(src, None, stats))
            return
        tmp = dest.with_name(f".{dest.name}.part")
        tmp.write_bytes(encoded)
        os.replace(tmp, dest)
        finish(FileDone(src, dest, stats=stats, file_bytes=len(encoded)))

    for src in files:
        dest = out_dir / out_name(src)
        if dest.exists():
            finish(FileDone(src, dest, skipped=True))
            continue
        while len(pending) >= pool.max_in_flight:
            collect(pool.wait_one(pending))
        try:
            data = src.read_bytes()
        except OSError as exc:
            finish(FileDone(src, None, f"{src}: cannot read the file ({exc.strerror})"))
            continue
        pending[pool.submit(data, src.name, request, options, own)] = (src, dest)
    while pending:
        collect(pool.wait_one(pending))
    return done
