"""Clips through methods to files: each (clip, method) is one source of the batch loop (`ClipWork` in
core/pipeline/batch_loop.py; here or as a Ray task, core/serve/distributed.RayPool).

For each method: `<clip>__<method>.mp4` (H.264, the input's timestamps, its audio copied), `<clip>__<method>.csv`
(each frame's scores), `<clip>__<method>.json` (what was done and the clip's means) and, on request, the frames as
PNGs in `<clip>__<method>_frames/`. Resumable per output: they are made in a scratch folder and put in place by
the loop when the clip is done (each through a hidden `.part`, the JSON last), so a re-run skips every (clip,
method) whose JSON is there and redoes an interrupted one from its first frame (a clip is at most
SRLAB_VIDEO_MAX_FRAMES frames).

The Video page's `compare` runs in a folder of its own per session and request (`run_folder`): a cancelled run
keeps the methods it finished there and the same request again runs only what is left; a finished run removes
its folder (its result holds the bytes); of the folders left the newest KEPT_RUNS stay (`prune_runs`).
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path, PurePath
from typing import Callable

from core.io.output import file_stem, whole_file
from core.io.video import Clip, VideoError, Writer, open_clip, write_png
from core.quality.degrade import Degradation
from core.video import builtin
from core.video.degrade import degrade_clip
from core.video.degrade import describe as degradation_words
from core.video.measures import ClipScorer
from core.video.processing import ClipRun, process, what_ran

Progress = Callable[[str, str, int, int | None, float], None]  # clip, method, frames done, total, fps
OnStep = Callable[[float], None]  # inside a frame (or a video network's window): fraction of it; may raise to cancel


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
    degrade: Degradation | None = None  # the clip is the truth: its degraded copy is the input (core/video/degrade)


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
    """A clip's name in its outputs' names: the file's name without its suffix (core.io.output's rule)."""
    return "builtin-pan" if source == builtin.NAME else file_stem(Path(source).name)


def open_source(job: ClipJob) -> tuple[Clip, Clip | None]:
    """(the input clip, its reference or None). With `job.degrade` the source is the truth and the input its
    degraded copy."""
    if job.source == builtin.NAME:
        clip, ref = builtin.clip(job.builtin_frames), builtin.reference(job.builtin_frames)
    else:
        clip, ref = open_clip(job.source), None
    if job.degrade is not None:
        if job.source == builtin.NAME:
            clip = ref
        try:
            clip, ref = degrade_clip(clip, job.degrade)
        except ValueError as exc:
            raise VideoError(str(exc)) from None
    elif job.reference:
        ref = builtin.reference(job.builtin_frames) if job.reference == builtin.NAME else open_clip(job.reference)
    return clip, ref


def out_name(clip_stem: str, method: str) -> str:
    """The output that says (clip, method) is done: its JSON, written last (the batch loop's skip rule)."""
    return f"{clip_stem}__{method}.json"


@dataclass(frozen=True)
class ClipScores:
    run: dict                         # what ran: the method, frames, fps, how, notes, the clip, the reference
    summary: dict                     # the clip's means


@dataclass(frozen=True)
class ClipWork:
    """One clip through one method, as a unit of the batch loop (core/pipeline/batch_loop.py): its outputs are
    written into the loop's scratch folder, which the loop's sink then moves into place, the JSON last."""
    job: ClipJob                      # with its one method
    on_frame: Progress | None = field(default=None, compare=False)  # after each frame (in this process)
    reference_data: bytes | None = None  # the reference's bytes where the work runs elsewhere (`ship`)

    def ship(self) -> ClipWork:
        """For a Ray worker: the reference file travels as bytes (the cluster need not share this disk)."""
        ref = self.job.reference
        return replace(self, on_frame=None,
                       reference_data=Path(ref).read_bytes() if ref and ref != builtin.NAME else None)

    def __call__(self, data, name: str, out: str, scratch: Path, on_step: OnStep | None):
        job = self.job
        if isinstance(data, bytes) and job.source != builtin.NAME:  # shipped: opened from the scratch folder
            job = replace(job, source=str(_written(scratch / "in" / name, data)))
        if self.reference_data is not None:
            job = replace(job, reference=str(_written(scratch / "ref" / Path(job.reference).name,
                                                     self.reference_data)))
        return _one(job, job.methods[0], scratch, Path(out).stem, self.on_frame, on_step)


def _written(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _file(source: str):
    """A source clip's `read`: the file itself (its bytes only where a Ray pool ships them); builtin:pan is made
    where the work runs."""
    def read():
        if source == builtin.NAME:
            return b""
        Path(source).stat()  # OSError: the loop says it cannot read the file
        return Path(source)
    return read


def run_clips(jobs: list[ClipJob], out_dir: Path, *, pool=None, on_frame: Progress | None = None,
              on_step: OnStep | None = None) -> list[ClipDone]:
    """Every (clip, method) of `jobs` as one source of the batch loop into `out_dir`: one already done is skipped,
    a bad clip or a failing method is one line and the others go on. `pool`: in this process (default; `on_frame`
    after each frame, `on_step` between a network's layers inside one: either may raise to cancel) or
    core.serve.distributed.RayPool()."""
    from core.io.output import file_stem, told_apart
    from core.pipeline.batch_loop import FolderSink, InProcess, Source, run_batch

    # each clip's outputs named before anything runs, never two the same (a/x.mp4 and b/x.mp4: a-x-mp4, b-x-mp4)
    stems = told_apart([stem(job.source) if job.source == builtin.NAME else job.source for job in jobs], file_stem)
    sources, which = [], {}
    for job, clip_stem in zip(jobs, stems):
        for method in job.methods:
            name = out_name(clip_stem, method)
            sources.append(Source(PurePath(job.source), _file(job.source), name,
                                  ClipWork(replace(job, methods=(method,)), on_frame)))
            which[name] = (job.source, method)
    done = []
    for item in run_batch(sources, FolderSink(out_dir), pool=pool or InProcess(on_step)):
        source, method = which[item.out_name]
        video = out_dir / Path(item.out_name).with_suffix(".mp4") if item.output else None
        scores = item.stats or ClipScores({}, {})
        done.append(ClipDone(source, method, video, item.skipped, item.error, scores.run, scores.summary))
    return done


def _one(job: ClipJob, method: str, scratch: Path, base: str, on_progress: Progress | None,
         on_step: OnStep | None) -> tuple[dict[str, Path], ClipScores]:
    """`job`'s clip through `method` into `scratch`: its outputs by name, in the order they are to be put (the
    video, the frames, the table, the JSON last) and its scores."""
    clip, ref = open_source(job)
    outputs: dict[str, Path] = {}
    video, report, table = (scratch / f"{base}{suffix}" for suffix in (".mp4", ".json", ".csv"))
    frames_dir = scratch / f"{base}_frames" if job.frames else None
    if frames_dir:
        frames_dir.mkdir()
    scorer = ClipScorer()
    record = ClipRun(method)
    refs = ref.frames() if ref is not None else None
    rows = []
    start = time.perf_counter()
    writer = Writer(video, clip.info.time_base, clip.info.rate, audio_from=clip.path if clip.info.audio else None)
    with contextlib.closing(writer):
        for frame, out in process(clip, method, outscale=job.outscale, backend=job.backend, tile=job.tile,
                                  record=record, on_step=on_step):
            writer.write(out, frame.pts)
            if frames_dir:
                write_png(frames_dir / f"{frame.index:05d}.png", out)
            ref_frame = next(refs, None) if refs is not None else None
            rows.append(scorer.add(out, ref_frame.pixels if ref_frame is not None else None))
            if on_progress:
                on_progress(clip.info.name, method, record.frames, clip.info.frames,
                            record.frames / (time.perf_counter() - start))
    outputs[video.name] = video
    if frames_dir:
        outputs.update((f"{frames_dir.name}/{f.name}", f) for f in sorted(frames_dir.iterdir()))
    record.notes += writer.notes + scorer.notes
    if refs is not None and next(refs, None) is not None:
        record.notes.append("the reference has more frames than the clip: scored over the clip's frames")
    keys = sorted({k for r in rows for k in r}, key=lambda k: (k != "frame", k))
    with open(table, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    outputs[table.name] = table
    summary = scorer.summary()
    if job.degrade is not None:
        record.notes.append(f"input: the clip degraded frame by frame ({degradation_words(job.degrade)})")
    run = {**asdict(record), "fps": record.fps, "clip": clip.info.describe(),
           "reference": ref.info.name if ref is not None else None}
    report.write_text(json.dumps({"run": run, "summary": summary}, indent=1, default=str))
    outputs[report.name] = report  # last: it says the method is done
    return outputs, ClipScores(run, summary)


def side_by_side(videos: list[Path], dest: Path, check: Callable[[], None] | None = None) -> Path:
    """The outputs in one H.264 MP4, left to right in the order given (so they play in sync), frames paired in
    order, at the first one's timestamps; a shorter one stops the clip. Two frames of each held at a time.
    `check()` before each frame may raise to cancel."""
    import numpy as np

    clips = [open_clip(v) for v in videos]
    first = clips[0].info
    with whole_file(dest) as part, contextlib.closing(Writer(part, first.time_base, first.rate)) as writer:
        for frames in zip(*(c.frames() for c in clips)):
            if check:
                check()
            h = min(f.pixels.shape[0] for f in frames)
            writer.write(np.hstack([f.pixels[:h] for f in frames]), frames[0].pts)
    return dest


KEPT_RUNS = 20  # unfinished Video page runs the server keeps to resume (a class's worth); the oldest go first


def runs_root() -> Path:
    return Path(tempfile.gettempdir()) / "srlab-video"


def run_folder(owner: str, job: ClipJob, *uploads: bytes | None) -> Path:
    """The folder of `owner`'s (a session's) run of `job` on these uploads: the same for the same request with
    any methods, so a run of it again finds the methods a cancelled one finished."""
    what = repr((replace(job, methods=()), [hashlib.sha256(u).hexdigest() if u else None for u in uploads]))
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", owner)[:40]
    return runs_root() / f"{safe}-{hashlib.sha256(what.encode()).hexdigest()[:16]}"


def prune_runs(keep: int = KEPT_RUNS) -> None:
    folders = sorted((f for f in runs_root().glob("*") if f.is_dir()), key=lambda f: f.stat().st_mtime,
                     reverse=True)
    for old in folders[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def finished(job: ClipJob, folder: Path) -> list[str]:
    """The methods of `job` whose outputs a run in `folder` finished (a Resume skips them: the loop's skip rule)."""
    from core.pipeline.batch_loop import FolderSink

    return [m for m in job.methods if FolderSink(folder / "out").has(out_name(stem(job.source), m))]


def _saved(folder: Path, kind: str, given: tuple[str, bytes]) -> str:
    """An upload written into the run's folder (once): its path."""
    path = folder / kind / Path(given[0]).name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(given[1])
    return str(path)


def _encoded(clip: Clip, dest: Path, check: Callable[[], None]) -> bytes:
    """`clip` as H.264 (what the page decodes a frame of to show), written once per folder; `check()` before each
    frame may raise to cancel."""
    if not dest.exists():
        with whole_file(dest) as part, contextlib.closing(Writer(part, clip.info.time_base, clip.info.rate)) as w:
            for frame in clip.frames():
                check()
                w.write(frame.pixels, frame.pts)
    return dest.read_bytes()


class _Pace:
    """Time left from the frames/s measured so far: the running method's frames left at its own pace, the
    methods not started at this run's pace so far (frames run ÷ seconds), over the frames left in all."""

    def __init__(self, methods_left: int, count: int | None):
        self.methods_left, self.count = methods_left, count
        self.frames_run, self.start = 0, time.perf_counter()

    def left(self, done: int, fps: float) -> tuple[float | None, int | None]:
        if not self.count or fps <= 0:
            return None, None
        frames = self.frames_run + done
        pace = frames / max(time.perf_counter() - self.start, 1e-6)
        later = (self.methods_left - 1) * self.count
        return (self.count - done) / fps + later / pace, self.count - done + later

    def finished_one(self) -> None:
        self.frames_run += self.count or 0
        self.methods_left -= 1


@dataclass(frozen=True)
class ClipResult:
    """One method's run on the clip, as the Video page and its handout show it."""
    video: bytes                      # the H.264 MP4
    rows: list[dict]                  # each frame's scores
    how: str                          # what ran, for the details
    fps: float                        # its frames per second on this machine, decoding and scoring included
    summary: dict                     # the clip's means
    resumed: bool                     # read back from a run before Resume
    what: str                         # network output or resized, in plain words


@dataclass(frozen=True)
class ClipComparison:
    """The methods of one Video page request on one clip."""
    methods: dict[str, ClipResult]
    side_by_side: bytes               # the outputs in one clip, in sync
    input: bytes                      # the input as H.264
    reference: bytes | None           # the reference as H.264, where there is one
    reference_name: str | None
    clip: str                         # the clip described (size, frames, codec)
    scale: float


def compare(job: ClipJob, step: Callable[[float, str], None], upload: tuple[str, bytes] | None = None,
            reference: tuple[str, bytes] | None = None, folder: Path | None = None) -> ClipComparison:
    """What the Video page shows: each method of `job` on its clip (an upload `(name, bytes)` and an uploaded
    reference, written to the folder first), then the outputs side by side in one clip, and the input and the
    reference as H.264 (a frame of each is decoded to show). With a reference and no `job.outscale`, the scale is
    the reference's width ÷ the clip's. `step(fraction, message)` per frame may raise to cancel; its fraction is
    the time so far over the time so far plus the time left (`_Pace`). `folder`: where the outputs are kept, so a
    cancelled run keeps the methods it finished and the same call again runs only what is left (removed once
    done); None: a temporary folder."""
    if folder is None:
        with tempfile.TemporaryDirectory(prefix="srlab-video-") as tmp:
            return _compare(job, step, upload, reference, Path(tmp))
    folder.mkdir(parents=True, exist_ok=True)
    os.utime(folder)  # the newest: pruned last
    result = _compare(job, step, upload, reference, folder)
    shutil.rmtree(folder, ignore_errors=True)
    return result


def _compare(job: ClipJob, step, upload, reference, folder: Path) -> ClipComparison:
    if upload is not None:
        job = replace(job, source=_saved(folder, "in", upload))
    if reference is not None:
        job = replace(job, reference=_saved(folder, "ref", reference))
    clip, ref = open_source(job)
    if ref is not None and job.outscale is None:
        job = replace(job, outscale=ref.info.width / clip.info.width)
    out = folder / "out"
    kept = finished(job, folder)
    pace = _Pace(len(job.methods) - len(kept), clip.info.frames)
    start, results, videos = time.perf_counter(), {}, []
    for method in job.methods:
        at = {"frames": 0, "start": time.perf_counter()}

        def tell(m: str, done: float, count: int | None, fps: float, words: str) -> None:
            left, frames = pace.left(done, fps)
            elapsed = time.perf_counter() - start
            if left is None:
                step(0.0, words)
            else:
                frames = math.ceil(frames - 1e-9)
                step(min(0.99, elapsed / (elapsed + left)), f"{words}; {frames} frame{'s' * (frames != 1)} left in all")

        def progress(name, m, done, count, fps):  # after each frame
            at["frames"] = done
            tell(m, done, count, fps, f"{m}: frame {done}/{count or '?'}, {fps:.2f} fps")

        def within(fraction: float) -> None:  # between a network's layers: Cancel is honoured here, within 2 s,
            # and a slow first frame already has a pace for its time left
            done = at["frames"] + min(fraction, 0.999)
            fps = done / max(time.perf_counter() - at["start"], 1e-6)
            tell(method, done, clip.info.frames, fps,
                   f"{method}: frame {at['frames'] + 1}/{clip.info.frames or '?'} running, {fps:.2f} fps")

        done = run_clips([replace(job, methods=(method,))], out, on_frame=progress, on_step=within)[0]
        if done.error:
            raise ValueError(done.error)
        if not done.skipped:
            pace.finished_one()
        videos.append(done.video)
        report = json.loads(done.video.with_suffix(".json").read_text())
        with open(done.video.with_suffix(".csv"), newline="") as f:
            rows = [{k: float(v) if v else None for k, v in r.items()} for r in csv.DictReader(f)]
        results[method] = ClipResult(video=done.video.read_bytes(), rows=rows, how=report["run"]["how"],
                                     fps=report["run"]["fps"], summary=report["summary"], resumed=done.skipped,
                                     what=what_ran(method, job.outscale))
    step(0.99, "side by side")
    encoding = lambda: step(0.99, "side by side")  # noqa: E731  (Cancel honoured while the clips are encoded)
    both = side_by_side(videos, folder / "both.mp4", encoding)
    return ClipComparison(
        methods=results, side_by_side=both.read_bytes(), input=_encoded(clip, folder / "input.mp4", encoding),
        reference=_encoded(ref, folder / "reference.mp4", encoding) if ref is not None else None,
        reference_name=ref.info.name if ref is not None else None, clip=clip.info.describe(),
        scale=job.outscale or 4.0)
