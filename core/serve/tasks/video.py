"""A Video page job (core/video/job.compare): each chosen method on the clip, frame by frame or over the sequence,
then the outputs side by side in one clip; progress per frame. The CLI runs the same clips (core/video/job.py)."""
from __future__ import annotations

from core.serve.tasks import Task


def video(clip_job, upload: tuple[str, bytes] | None = None) -> Task:
    """`clip_job`: a core.video.job.ClipJob; `upload`: (name, bytes) of an uploaded clip, or None (the built-in)."""
    from core.video.job import compare

    return Task("video", f"Video: {' · '.join(clip_job.methods)}", lambda ctx: compare(clip_job, ctx.step, upload),
                key=("video", clip_job, hash(upload[1]) if upload else None))
