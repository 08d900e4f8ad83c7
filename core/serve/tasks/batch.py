"""The app's Batch as a job: the one batch loop (core/pipeline/batch_loop.py, the CLI's too) over uploaded files and zip
members, its results into a results.zip on disk (SRLAB_BATCH_OUTPUT_MB) with statistics.csv; the rows done so
far are noted, so they survive a page switch. Its result: a BatchResult (the ResultsZip, the rows)."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import NamedTuple

from core.io.batch import ResultsZip, blank_row, open_batch
from core.io.output import OutputOptions, result_names
from core.pipeline.batch_loop import FileDone, ImageWork, InProcess, Source, ZipSink, run_batch
from core.pipeline.engine import Request
from core.serve.tasks import Task


class BatchResult(NamedTuple):
    archive: ResultsZip   # results.zip on disk: the outputs and statistics.csv
    rows: list[dict]      # one per file, as statistics.csv has them


def row(item: FileDone, method: str, outscale: float) -> dict:
    """One line of statistics.csv and of the page's table: every column of core.io.batch.COLUMNS, in order."""
    values = blank_row(str(item.source), method, outscale)
    if item.stats:
        s = item.stats
        values.update({"input": f"{s.input_size[0]}x{s.input_size[1]}",
                       "output": f"{s.output_size[0]}x{s.output_size[1]}", "what was done": s.summary,
                       "backend": s.backend, "seconds": round(s.elapsed_s, 3)})
    values["error"] = item.error or ""
    return values


def batch(files: list[tuple[str, bytes]], method: str, outscale: float,
          own: Mapping | None = None) -> Task[BatchResult]:
    """Headers are read now (nothing decoded): over the budget, the batch is refused in one line at once (an
    ImageError). The job then decodes one image at a time."""
    members = open_batch(files)
    request = Request.make(method, outscale=outscale)
    names = result_names([m.name for m in members], method, f"x{outscale:g}", ".png")  # never two the same
    each = ImageWork(request, OutputOptions("png"), own)
    sources = [Source(PurePosixPath(m.name), m.read, name, each) for m, name in zip(members, names)]

    def work(ctx) -> BatchResult:
        zipped, rows = ResultsZip(), []

        def on_step(fraction: float) -> None:
            ctx.step((len(rows) + fraction) / len(sources), f"{len(rows)} of {len(sources)} images")

        def on_file(item: FileDone) -> None:
            rows.append(row(item, method, outscale))
            ctx.note(rows=list(rows))
            ctx.step(len(rows) / len(sources), f"{len(rows)} of {len(sources)} images")

        try:
            run_batch(sources, ZipSink(zipped), pool=InProcess(on_step), on_file=on_file)
        except BaseException:
            zipped.close()  # a cancelled batch leaves no file behind
            raise
        zipped.finish(rows)
        return BatchResult(zipped, rows)

    return Task("batch", f"Batch of {len(sources)} image(s)", work)
