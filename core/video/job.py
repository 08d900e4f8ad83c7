"""One clip through one or more methods to files, here or as one Ray task (core/serve/distributed.py).

For each method: `<clip>__<method>.mp4` (H.264, the input's timestamps, its audio copied), `<clip>__<method>.csv`
(each frame's scores), `<clip>__<method>.json` (what was done and the clip's means) and, on request, the frames as
PNGs in `<clip>__<method>_frames/`. Resumable per output: the video and the JSON are written to hidden `.part`
files and renamed when the clip is done, so a re-run skips every (clip, method) whose JSON is there and redoes an
interrupted one from its first frame (a clip is at most SRLAB_VIDEO_MAX_FRAMES frames).
"""
from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from core.io.video import Clip, VideoError, Writer, open_clip, write_png
from core.video import builtin
from core.video.measures import ClipScorer
from core.video.processing import ClipRun, process

Progress = Callable[[str, str, int, int | None, float], None]  # clip, method, frames done, total, fps


@dataclass(frozen=True)
class ClipJob:
    source: str                       # a file, or builtin:pan
    methods: tuple[str, ...]
    outscale: float | None = None
    backend: str = "auto"
    tile: int = 0
    reference: str | None = None      # a reference clip (the built-in pan brings its own)
    frames: bool = False              # also the frames as PNGs
    builtin_frames: int = builtin.FRAMES


@dataclass
class ClipDone:
    source: str
    method: str
    video: Path | None = None
    skipped: bool = False
    error: str | None = None
    run: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)


def stem(source: str) -> str:
    return "builtin-pan" if source == builtin.NAME else Path(source).stem


def open_source(job: ClipJob) -> tuple[Clip, Clip | None]:
    if job.source == builtin.NAME:
        clip, ref = builtin.clip(job.builtin_frames), builtin.reference(job.builtin_frames)
    else:
        clip, ref = open_clip(job.source), None
    if job.reference:
        ref = builtin.reference(job.builtin_frames) if job.reference == builtin.NAME else open_clip(job.reference)
    return clip, ref


def run_clip(job: ClipJob, out_dir: Path, on_progress: Progress | None = None) -> list[ClipDone]:
    """Every method of `job` on its clip; a bad clip or a failing method is reported and the others go on."""
    out_dir.mkdir(parents=True, exist_ok=True)
    done: list[ClipDone] = []
    for method in job.methods:
        base = out_dir / f"{stem(job.source)}__{method}"
        video, report = base.with_suffix(".mp4"), base.with_suffix(".json")
        if video.exists() and report.exists():
            done.append(ClipDone(job.source, method, video, skipped=True))
            continue
        try:
            done.append(_one(job, method, base, on_progress))
        except VideoError as exc:
            done.append(ClipDone(job.source, method, error=str(exc)))
        except ValueError as exc:  # EnhanceError, an unknown method or parameter
            done.append(ClipDone(job.source, method, error=f"{stem(job.source)}: {exc}"))
    return done


def _one(job: ClipJob, method: str, base: Path, on_progress: Progress | None) -> ClipDone:
    clip, ref = open_source(job)
    video, report, table = base.with_suffix(".mp4"), base.with_suffix(".json"), base.with_suffix(".csv")
    part = video.with_name(f".{video.name}.part")
    frames_dir = base.with_name(base.name + "_frames") if job.frames else None
    if frames_dir:
        frames_dir.mkdir(exist_ok=True)
    writer = Writer(part, clip.info.time_base, clip.info.rate, audio_from=clip.path if clip.info.audio else None)
    scorer = ClipScorer()
    record = ClipRun(method)
    refs = ref.frames() if ref is not None else None
    rows = []
    start = time.perf_counter()
    try:
        for frame, out in process(clip, method, outscale=job.outscale, backend=job.backend, tile=job.tile,
                                  record=record):
            writer.write(out, frame.pts)
            if frames_dir:
                write_png(frames_dir / f"{frame.index:05d}.png", out)
            ref_frame = next(refs, None) if refs is not None else None
            rows.append(scorer.add(out, ref_frame.pixels if ref_frame is not None else None))
            if on_progress:
                on_progress(clip.info.name, method, record.frames, clip.info.frames,
                            record.frames / (time.perf_counter() - start))
        writer.close()
    except BaseException:
        writer.close()
        part.unlink(missing_ok=True)
        raise
    record.notes += writer.notes + scorer.notes
    if refs is not None and next(refs, None) is not None:
        record.notes.append("the reference has more frames than the clip: scored over the clip's frames")
    keys = sorted({k for r in rows for k in r}, key=lambda k: (k != "frame", k))
    with open(table, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    summary = scorer.summary()
    run = {**asdict(record), "fps": record.fps, "clip": clip.info.describe(),
           "reference": ref.info.name if ref is not None else None}
    tmp = report.with_name(f".{report.name}.part")
    tmp.write_text(json.dumps({"run": run, "summary": summary}, indent=1, default=str))
    os.replace(part, video)
    os.replace(tmp, report)
    return ClipDone(job.source, method, video, run=run, summary=summary)


def side_by_side(videos: list[Path], dest: Path) -> Path:
    """The outputs in one H.264 MP4, left to right in the order given (so they play in sync), frames paired in
    order, at the first one's timestamps; a shorter one stops the clip. Two frames of each held at a time."""
    import numpy as np

    clips = [open_clip(v) for v in videos]
    first = clips[0].info
    writer = Writer(dest, first.time_base, first.rate)
    try:
        for frames in zip(*(c.frames() for c in clips)):
            h = min(f.pixels.shape[0] for f in frames)
            writer.write(np.hstack([f.pixels[:h] for f in frames]), frames[0].pts)
    finally:
        writer.close()
    return dest


def compare(job: ClipJob, step: Callable[[float, str], None], upload: tuple[str, bytes] | None = None) -> dict:
    """What the Video page shows: each method of `job` on its clip (an upload, `(name, bytes)`, written to the
    temporary folder first), then the outputs side by side in one clip. `step(fraction, message)` per frame may
    raise to cancel. Returns bytes and rows; the folder is removed."""
    import tempfile
    from dataclasses import replace

    with tempfile.TemporaryDirectory(prefix="srlab-video-") as tmp:
        tmp = Path(tmp)
        if upload is not None:
            (tmp / "in").mkdir()
            (tmp / "in" / upload[0]).write_bytes(upload[1])
            job = replace(job, source=str(tmp / "in" / upload[0]))
        results, n = {}, len(job.methods)
        for i, method in enumerate(job.methods):
            def progress(clip, m, done, count, fps, i=i):
                step((i + done / (count or done + 1)) / n, f"{m}: frame {done}/{count or '?'}, {fps:.2f} fps")

            done = run_clip(replace(job, methods=(method,)), tmp / "out", progress)[0]
            if done.error:
                raise ValueError(done.error)
            with open(done.video.with_suffix(".csv"), newline="") as f:
                rows = [{k: float(v) if v else None for k, v in r.items()} for r in csv.DictReader(f)]
            results[method] = dict(video=done.video.read_bytes(), rows=rows, how=done.run["how"],
                                   fps=done.run["fps"], summary=done.summary)
        step(1.0, "side by side")
        both = side_by_side([tmp / "out" / f"{stem(job.source)}__{m}.mp4" for m in results], tmp / "both.mp4")
        return {"methods": results, "side_by_side": both.read_bytes()}
