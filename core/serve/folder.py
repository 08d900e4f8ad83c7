"""The one batch loop: many images through one request, in this process or on a Ray cluster, with one error
policy — a bad file is one line and the others go on; Cancel stops the batch. The CLI's folders
(`run_folder`: outputs already there are skipped, so a re-run continues; each written to a hidden `.part` file,
then renamed: a file is absent or whole) and the app's Batch (core/serve/tasks/batch.py: results into a bounded
zip) are two sinks of the same loop."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Callable, Iterable, Protocol

from core.io.batch import ResultsFull, ResultsZip
from core.io.output import NameClash, whole_file
from core.pipeline.engine import Cancelled, Request, Stats


@dataclass
class FileDone:
    source: PurePath                  # the input: a file's path, or an uploaded file's or zip member's name
    output: str | None                # where its result went (a path, or a name in the zip)
    error: str | None = None
    skipped: bool = False
    stats: Stats | None = None
    file_bytes: int = 0


@dataclass(frozen=True)
class Source:
    """One input: where it is from, its bytes when asked (ImageError or OSError when they cannot be had), and
    the name of its output."""
    path: PurePath
    read: Callable[[], bytes]
    out_name: str

    @property
    def name(self) -> str:
        return self.path.name


class Sink(Protocol):
    def has(self, name: str) -> bool: ...
    def where(self, name: str) -> str: ...
    def put(self, name: str, data: bytes) -> str: ...  # where it went; ResultsFull when there is no room


class FolderSink:
    """Outputs as files in a folder: one already there is skipped (a re-run continues); each is written whole."""

    def __init__(self, folder: Path):
        self.folder = folder  # made by the first put: a refused run leaves nothing behind

    def has(self, name: str) -> bool:
        return (self.folder / name).exists()

    def where(self, name: str) -> str:
        return str(self.folder / name)

    def put(self, name: str, data: bytes) -> str:
        with whole_file(self.folder / name) as part:
            part.write_bytes(data)
        return str(self.folder / name)


class ZipSink:
    """Outputs into a results.zip (core.io.batch.ResultsZip, bounded by SRLAB_BATCH_OUTPUT_MB)."""

    def __init__(self, zipped: ResultsZip):
        self.zipped = zipped

    def has(self, name: str) -> bool:
        return False

    def where(self, name: str) -> str:
        return name

    def put(self, name: str, data: bytes) -> str:
        self.zipped.add(name, data)
        return name


def _enhance_file(data: bytes, name: str, request: Request, options, own: Mapping | None = None, on_step=None):
    """(encoded output, statistics) or (None, the error in one line): the error policy of every batch. Runs in
    this process or on a Ray worker (its name is the worker's title there). Cancel is not an error: it stops."""
    from core.io.imageio import ImageError, load_image
    from core.io.output import encode
    from core.pipeline.engine import EnhanceError, run

    try:
        image = load_image(data, name)
        result = run(image, request, on_step=on_step, own=own)
        encoded, written = encode(result.pixels, options, image.metadata, result.stats.summary)
    except Cancelled:
        raise
    except ImageError as exc:  # its message names the file
        return None, str(exc)
    except (EnhanceError, ValueError) as exc:
        return None, f"{name}: {exc}"
    except Exception as exc:  # one bad file must not stop the batch; no traceback for the user
        return None, f"{name}: {type(exc).__name__}: {exc}"
    result.stats.notes.extend(written)
    return encoded, result.stats


class InProcess:
    """Runs each file here, one at a time (`on_step` sees its progress and may raise Cancelled)."""
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


def run_batch(sources: Iterable[Source], sink: Sink, request: Request, options, *, pool=None,
              own: Mapping | None = None, on_file: Callable[[FileDone], None] | None = None) -> list[FileDone]:
    """Every source through `request`, at most `pool.max_in_flight` at once (a source is read only when a place
    frees up). `pool`: InProcess() by default, or core.serve.distributed.RayPool(). Once the sink is full, the
    files not yet written are reported as not done. Two sources with one output name: NameClash (an ImageError)
    before anything runs (core.io.output.result_names gives each its own)."""
    sources = list(sources)  # cheap: a source is read only when its turn comes
    seen: dict[str, Source] = {}
    for source in sources:  # one output must never overwrite another: refused before anything runs
        if source.out_name in seen:
            raise NameClash(f"{seen[source.out_name].path} and {source.path} would both be written to "
                            f"{source.out_name}")
        seen[source.out_name] = source
    pool = pool or InProcess()
    pending: dict = {}
    done: list[FileDone] = []
    full = ""

    def finish(item: FileDone) -> None:
        done.append(item)
        if on_file:
            on_file(item)

    def collect(ticket) -> None:
        nonlocal full
        source = pending.pop(ticket)
        try:
            encoded, stats = pool.get(ticket)
        except Cancelled:
            raise
        except Exception as exc:  # a task that failed on every retry (e.g. its workers kept dying)
            finish(FileDone(source.path, None, f"{source.name}: {str(exc).splitlines()[0]}"))
            return
        if encoded is None:
            finish(FileDone(source.path, None, stats))
        elif full:
            finish(FileDone(source.path, None, f"{source.name}: not done, {full}"))
        else:
            try:
                where = sink.put(source.out_name, encoded)
            except ResultsFull as exc:
                full = "results.zip was full"
                finish(FileDone(source.path, None, str(exc)))
            else:
                finish(FileDone(source.path, where, stats=stats, file_bytes=len(encoded)))

    for source in sources:
        if sink.has(source.out_name):
            finish(FileDone(source.path, sink.where(source.out_name), skipped=True))
            continue
        if full:
            finish(FileDone(source.path, None, f"{source.name}: not done, {full}"))
            continue
        while len(pending) >= pool.max_in_flight:
            collect(pool.wait_one(pending))
        try:
            data = source.read()
        except OSError as exc:
            finish(FileDone(source.path, None, f"{source.path}: cannot read the file ({exc.strerror})"))
            continue
        except ValueError as exc:  # ImageError: a refused header, a broken zip member (its message names it)
            finish(FileDone(source.path, None, str(exc)))
            continue
        pending[pool.submit(data, source.name, request, options, own)] = source
    while pending:
        collect(pool.wait_one(pending))
    return done


def run_folder(files: Iterable[Path], out_dir: Path, request: Request, options, out_name: Callable[[Path], str], *,
               pool=None, own: Mapping | None = None, on_file: Callable[[FileDone], None] | None = None
               ) -> list[FileDone]:
    """A folder's files through `request` into `out_dir` (the CLI): `run_batch` on files and a FolderSink.
    `out_name`: each file's output name, all decided before the run (core.io.output.result_names)."""
    sources = [Source(path, path.read_bytes, out_name(path)) for path in files]
    return run_batch(sources, FolderSink(out_dir), request, options, pool=pool, own=own, on_file=on_file)
