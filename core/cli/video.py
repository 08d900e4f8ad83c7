"""`python -m core video IN... -o OUT --method M [--method M2] [--reference REF] [--frames] [--ray ADDRESS]`: clips
through image methods (each frame alone) and video networks (the sequence); builtin:pan is the built-in clip
with its true reference. Resumable: finished (clip, method) outputs are skipped (core/video/job.py)."""
from __future__ import annotations

import sys
from pathlib import Path

from core.cli.common import fail, pool


def add(sub) -> None:
    p = sub.add_parser("video", help="clips through methods: H.264 MP4 out, per-frame scores and flicker",
                       description="A re-run skips every (clip, method) whose .mp4 and .json are there; an "
                                   "interrupted one starts again from its first frame.")
    p.add_argument("inputs", nargs="+", metavar="IN", help="clips (MP4/WebM/MOV/MKV/GIF/APNG/WebP) or builtin:pan")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("-m", "--method", action="append", required=True,
                   help="a video network (BasicVSR_REDS4, BasicVSR_Vimeo90K_BI, BasicVSR_Vimeo90K_BD) or any "
                        "image method, run on each frame alone; repeat for several")
    p.add_argument("-s", "--outscale", type=float, default=None, help="default: the method's native scale (4)")
    p.add_argument("--reference", action="append", default=[], metavar="REF",
                   help="a reference clip per input, in order (builtin:pan has its own)")
    p.add_argument("--frames", action="store_true", help="also write every output frame as a PNG")
    p.add_argument("--backend", default="auto")
    p.add_argument("-t", "--tile", type=int, default=0)
    p.add_argument("--builtin-frames", type=int, default=32, help="frames of builtin:pan (default 32)")
    p.add_argument("--ray", metavar="ADDRESS", help="one clip per task on a Ray cluster: host:port of its head, or "
                                                    "'local' to start one here")
    p.add_argument("--ray-in-flight", type=int, default=4, metavar="N", help="at most N clips on the cluster at once")
    p.set_defaults(func=run)


def _progress(clip: str, method: str, done: int, total: int | None, fps: float) -> None:
    # a video network's frames come in bursts, a window at a time: after the first frame of the first window its
    # pace counts that whole window for one frame (BasicVSR: "~6259 s left"); its first burst says the pace
    from core.methods import as_sequence, for_clips

    sequence = as_sequence(for_clips(method))
    paced = sequence is None or done >= sequence.window - 2 * sequence.overlap
    left = f", ~{(total - done) / fps:.0f} s left" if total and fps and paced else ""
    print(f"\r{clip} · {method}: frame {done}/{total or '?'} ({fps:.2f} fps{left})", end="", file=sys.stderr,
          flush=True)


def run(args) -> int:
    from core.io.output import NameClash
    from core.video.job import ClipJob, run_clips

    if args.reference and len(args.reference) != len(args.inputs):
        return fail(f"give one --reference per input ({len(args.inputs)}), or none")
    refs = args.reference or [None] * len(args.inputs)
    jobs = [ClipJob(source=src, methods=tuple(args.method), outscale=args.outscale, backend=args.backend,
                    tile=args.tile, reference=ref, frames=args.frames, builtin_frames=args.builtin_frames)
            for src, ref in zip(args.inputs, refs)]
    try:
        where = pool(args)
    except RuntimeError as exc:  # RayUnavailable
        return fail(str(exc))
    try:
        results = run_clips(jobs, Path(args.output), pool=where, on_frame=_progress)
    except NameClash as exc:  # the same clip twice: refused before anything runs
        return fail(str(exc))
    failed = 0
    for r in results:
        if r.error:
            failed += 1
            print(f"\nerror: {r.error}", file=sys.stderr)
        elif r.skipped:
            print(f"\n{r.source} · {r.method}: already done ({r.video.name}), skipped")
        else:
            means = ", ".join(f"{k} {v:.4g}" for k, v in r.summary.items())
            print(f"\n{r.source} · {r.method}: {r.run['frames']} frames at {r.run['fps']:.2f} fps → {r.video.name}"
                  f"\n  {r.run['how']}\n  {means}")
    return 1 if failed else 0
