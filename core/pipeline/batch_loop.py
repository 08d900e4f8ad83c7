"""The one batch loop: many sources, each with its unit of work (an image through a request, a clip through one
method: core/video/job.ClipWork), in this process or on a Ray cluster, with one error policy — a bad file is one
line and the others go on; Cancel stops the batch — one skip rule (a source whose done-mark, its last output, is
in the sink is skipped, so a re-run continues) and one way of writing (each output to a hidden `.part`, then
renamed: a file is absent or whole). The CLI's folders (`run_folder`, `python -m core video`), the Video page's
runs (a folder per session and request) and the app's Batch (core/serve/tasks/batch.py: results into a bounded
zip) are its sinks."""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Callable, Iterable, Protocol

from core.io.batch import ResultsFull, ResultsZip
from core.io.output import NameClash, whole_file
from core.pipeline.engine import Cancelled, Request

Input = bytes | Path    # a source's bytes, or the file itself (opened where the work runs; a Ray pool ships its bytes)
Output = bytes | Path   # an output's bytes, or a finished file in the work's scratch folder (moved into place)
Outcome = tuple[dict[str, Output] | None, Any]  # (outputs by name, the done-mark last; stats) or (None, the error)


class Work(Protocol):
    """One source's unit of work; picklable (a Ray task runs it). Raises on a bad input (`attempt` turns that into
    its one line); `name` is the source's, for messages; its outputs are named after `out_name`; `on_step(fraction)`
    inside it may raise Cancelled."""
    def __call__(self, data: Input, name: str, out_name: str, scratch: Path,
                 on_step: Callable[[float], None] | None) -> tuple[dict[str, Output], Any]: ...

    def ship(self) -> Work: ...  # itself as it travels to a Ray worker (its local files as bytes, no callbacks)


@dataclass
class FileDone:
    source: PurePath                  # the input: a file's path, or an uploaded file's or zip member's name
    output: str | None                # where its done-mark went (a path, or a name in the zip)
    error: str | None = None
    skipped: bool = False
    stats: Any = None                 # what the work reports: an image's engine Stats, a clip's ClipScores
    file_bytes: int = 0
    out_name: str = ""                # its source's done-mark: which source of the batch it is


@dataclass(frozen=True)
class Source:
    """One input: where it is from, itself when asked (OSError or an ImageError when it cannot be had), the name
    of its output that says it is done (written last), and what to do with it."""
    path: PurePath
    read: Callable[[], Input]
    out_name: str
    work: Work = field(compare=False)

    @property
    def name(self) -> str:
        return self.path.name


class Sink(Protocol):
    def has(self, name: str) -> bool: ...
    def where(self, name: str) -> str: ...
    def put(self, name: str, data: Output) -> str: ...  # where it went; ResultsFull when there is no room


class FolderSink:
    """Outputs as files in a folder: one already there is skipped (a re-run continues); each is written whole."""

    def __init__(self, folder: Path):
        self.folder = folder  # made by the first put: a refused run leaves nothing behind

    def has(self, name: str) -> bool:
        return (self.folder / name).exists()

    def where(self, name: str) -> str:
        return str(self.folder / name)

    def put(self, name: str, data: Output) -> str:
        with whole_file(self.folder / name) as part:
            if isinstance(data, Path):
                shutil.move(data, part)
            else:
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

    def put(self, name: str, data: Output) -> str:
        self.zipped.add(name, data.read_bytes() if isinstance(data, Path) else data)
        return name


def attempt(work: Work, data: Input, name: str, out_name: str, scratch: Path, on_step=None) -> Outcome:
    """The error policy of every batch, here or on a Ray worker: (outputs, stats), or (None, the error in one line,
    no traceback). Cancel is not an error: it stops."""
    from core.io.imageio import ImageError
    from core.io.video import VideoError

    try:
        return work(data, name, out_name, scratch, on_step)
    except Cancelled:
        raise
    except (ImageError, VideoError) as exc:  # their message names the file
        return None, str(exc)
    except ValueError as exc:  # EnhanceError, an unknown method or parameter
        return None, f"{name}: {exc}"
    except Exception as exc:  # one bad file must not stop the batch
        return None, f"{name}: {type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class ImageWork:
    """An image through `request`, encoded as `options` say (its statistics' notes gain what the encoding did)."""
    request: Request
    options: Any                      # core.io.output.OutputOptions
    own: Mapping | None = None        # a session's own models

    def __call__(self, data: Input, name: str, out_name: str, scratch: Path, on_step=None):
        from core.io.imageio import load_image
        from core.io.output import encode
        from core.pipeline.engine import run

        image = load_image(data.read_bytes() if isinstance(data, Path) else data, name)
        result = run(image, self.request, on_step=on_step, own=self.own)
        encoded, written = encode(result.pixels, self.options, image.metadata, result.stats.summary)
        result.stats.notes.extend(written)
        return {out_name: encoded}, result.stats

    def ship(self) -> ImageWork:
        return self


class InProcess:
    """Runs each source here, one at a time, in a scratch folder of its own (`on_step` sees its progress and may
    raise Cancelled)."""
    max_in_flight = 1

    def __init__(self, on_step=None):
        self.on_step = on_step

    def submit(self, source: Source) -> "_Ticket":
        scratch = tempfile.TemporaryDirectory(prefix="srlab-work-")
        try:
            outcome = attempt(source.work, source.read(), source.name, source.out_name, Path(scratch.name),
                              self.on_step)
            return _Ticket(outcome, scratch)
        except BaseException:
            scratch.cleanup()
            raise

    def wait_one(self, pending):
        return next(iter(pending))

    def get(self, ticket: "_Ticket") -> Outcome:
        return ticket.outcome

    def release(self, ticket: "_Ticket") -> None:
        ticket.scratch.cleanup()


class _Ticket:
    """A source done in this process (hashed by identity, like a Ray object reference)."""

    def __init__(self, outcome: Outcome, scratch: tempfile.TemporaryDirectory):
        self.outcome, self.scratch = outcome, scratch


def run_batch(sources: Iterable[Source], sink: Sink, *, pool=None,
              on_file: Callable[[FileDone], None] | None = None) -> list[FileDone]:
    """Every source through its work, at most `pool.max_in_flight` at once (a source is read only when a place
    frees up). `pool`: InProcess() by default, or core.serve.distributed.RayPool(). Once the sink is full, the
    sources not yet written are reported as not done. Two sources with one output name: NameClash (an ImageError)
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

    def finish(source: Source, output: str | None = None, error: str | None = None, **more) -> None:
        item = FileDone(source.path, output, error, out_name=source.out_name, **more)
        done.append(item)
        if on_file:
            on_file(item)

    def put(source: Source, outputs: dict[str, Output], stats) -> None:
        nonlocal full
        if full:
            finish(source, None, f"{source.name}: not done, {full}")
            return
        written = 0
        try:
            for name, data in outputs.items():  # in order: the done-mark last
                written += data.stat().st_size if isinstance(data, Path) else len(data)
                where = sink.put(name, data)
        except ResultsFull as exc:
            full = "results.zip was full"
            finish(source, None, str(exc))
        else:
            finish(source, where, stats=stats, file_bytes=written)

    def collect(ticket) -> None:
        source = pending.pop(ticket)
        try:
            try:
                outputs, stats = pool.get(ticket)
            except Cancelled:
                raise
            except Exception as exc:  # a task that failed on every retry (e.g. its workers kept dying)
                finish(source, None, f"{source.name}: {str(exc).splitlines()[0]}")
                return
            if outputs is None:
                finish(source, None, stats)
            else:
                put(source, outputs, stats)
        finally:
            pool.release(ticket)

    for source in sources:
        if sink.has(source.out_name):
            finish(source, sink.where(source.out_name), skipped=True)
            continue
        if full:
            finish(source, None, f"{source.name}: not done, {full}")
            continue
        while len(pending) >= pool.max_in_flight:
            collect(pool.wait_one(pending))
        try:
            ticket = pool.submit(source)
        except OSError as exc:
            finish(source, None, f"{source.path}: cannot read the file ({exc.strerror})")
            continue
        except ValueError as exc:  # ImageError: a refused header, a broken zip member (its message names it)
            finish(source, None, str(exc))
            continue
        pending[ticket] = source
    while pending:
        collect(pool.wait_one(pending))
    return done


def run_folder(files: Iterable[Path], out_dir: Path, request: Request, options, out_name: Callable[[Path], str], *,
               pool=None, own: Mapping | None = None, on_file: Callable[[FileDone], None] | None = None
               ) -> list[FileDone]:
    """A folder's files through `request` into `out_dir` (the CLI): `run_batch` on files and a FolderSink.
    `out_name`: each file's output name, all decided before the run (core.io.output.result_names)."""
    work = ImageWork(request, options, own)
    sources = [Source(path, path.read_bytes, out_name(path), work) for path in files]
    return run_batch(sources, FolderSink(out_dir), pool=pool, on_file=on_file)
