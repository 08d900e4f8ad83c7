"""A Video page job (core/video/job.compare): each chosen method on the clip, frame by frame or over the sequence,
then the outputs side by side in one clip; progress per frame with the time left from the frames/s measured so
far. It runs in its session's folder for the request (core/video/job.run_folder): a cancelled run keeps the
methods it finished and the same task again (the page's Resume) runs only what is left; old folders are pruned
(KEPT_RUNS). The CLI runs the same clips (core/video/job.py)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from core.serve.tasks import Task

if TYPE_CHECKING:
    from core.video.job import ClipComparison


def video(clip_job, upload: tuple[str, bytes] | None = None, reference: tuple[str, bytes] | None = None,
          folder: Path | None = None, expected_s: float | None = None) -> Task[ClipComparison]:
    """`clip_job`: a core.video.job.ClipJob; `upload`: (name, bytes) of an uploaded clip, or None (the built-in, or
    a clip already in `folder`); `reference`: an uploaded reference clip; `folder`: where the run keeps its
    outputs (None: a temporary folder, nothing kept on Cancel); `expected_s`: this machine's estimate of the run
    (the page's, from its measurements), so the time left shows from the first second. Its label names the clip:
    "Video: clip.mp4 · bicubic · BasicVSR_REDS4"."""
    from core.video import builtin
    from core.video.job import compare, prune_runs

    prune_runs()
    clip = upload[0] if upload else "built-in pan" if clip_job.source == builtin.NAME else Path(clip_job.source).name
    return Task("video", f"Video: {' · '.join((clip, *clip_job.methods))}",
                lambda ctx: compare(clip_job, ctx.step, upload, reference, folder),
                key=("video", clip_job, hash(upload[1]) if upload else None,
                     hash(reference[1]) if reference else None, str(folder)), expected_s=expected_s)
