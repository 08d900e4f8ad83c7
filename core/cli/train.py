"""`python -m core train`: train or fine-tune a network on the CPU (core/train), print its progress, write the
model (.safetensors) and its card (.json) to a folder."""
from __future__ import annotations

import json
from pathlib import Path

from core.cli.common import fail, inputs


def add(sub) -> None:
    from core.train.presets import PRESETS

    lines = "\n".join(f"  {p.name}: {p.title} — {p.teaches}" for p in PRESETS.values())
    p = sub.add_parser("train", help="train or fine-tune a network on the CPU, with a live validation",
                       description=f"presets:\n{lines}", formatter_class=_raw())
    p.add_argument("--preset", choices=list(PRESETS), help="what to train and how (see above)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--images", nargs="+", metavar="PATH", help="clean image files and/or folders to learn from")
    src.add_argument("--builtin", action="store_true", help="the built-in sample photos (scikit-image)")
    p.add_argument("-o", "--output", metavar="OUTDIR", help="writes OUTDIR/NAME.safetensors, OUTDIR/NAME.json and "
                                                            "the checkpoint OUTDIR/checkpoint/")
    p.add_argument("--resume", metavar="CKPT", help="continue the run saved in this checkpoint folder (same images)")
    p.add_argument("--seconds", type=float, help="time budget of the whole run (default: the preset's)")
    p.add_argument("--steps", type=int, help="stop after this many steps (or the length, whichever comes first); "
                   "without it the first run fixes a step count from this machine's pace and records it, so the "
                   "same seed and settings make the same model (docs/training.md)")
    p.add_argument("--seed", type=int, help="data split, crops, noise and initial weights (default 0)")
    p.add_argument("--loss", action="append", default=[], metavar="NAME=WEIGHT",
                   help="replace the preset's losses (repeatable): l1, mse, perceptual, gan")
    p.add_argument("--unfreeze-blocks", type=int, metavar="N", help="RealESRGAN_x4plus: train its last N RRDB "
                                                                     "blocks too")
    p.add_argument("--every", type=int, metavar="N", help="print a progress line every N steps (default: at each "
                                                          "validation)")
    p.set_defaults(func=run)


def _raw():
    import argparse
    return argparse.RawDescriptionHelpFormatter


def run(args) -> int:
    from core.io.imageio import ImageError, read_image_file
    from core.train.config import TrainConfig, TrainError
    from core.train.data import builtin_images
    from core.train.engine import length_line, train
    from core.train.presets import config as preset_config
    from core.train.save import read_run

    try:
        if args.resume:
            config, folder = TrainConfig.from_dict(read_run(args.resume)["config"]), Path(args.resume)
        elif args.preset:
            config, folder = preset_config(args.preset), (Path(args.output) / "checkpoint" if args.output else None)
        else:
            return fail("give --preset NAME (or --resume CKPT)")
        config = config.replace(**_overrides(args))
        if not (args.builtin or args.images):
            return fail("give --images PATH... or --builtin")
        images = builtin_images() if args.builtin else [read_image_file(f) for f in inputs(args.images)]
    except (TrainError, ImageError, ValueError) as exc:
        return fail(str(exc))
    out = Path(args.output) if args.output else (folder.parent if folder else None)
    if out is None:
        return fail("give -o OUTDIR")
    every = args.every or config.validate_every
    print(length_line(config, read_run(args.resume) if args.resume else None), flush=True)
    try:
        result = train(images, config, lambda e: _print(e, every), checkpoint_dir=folder, resume=bool(args.resume))
    except TrainError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        if folder and (folder / "state.pt").exists():
            print(f"interrupted: continue with --resume {folder}")
        raise
    print(f"{result.card['steps']} steps in {result.card['seconds']['total']:.0f} s, setup included", flush=True)
    model, card = result.save(out)
    print(json.dumps(result.card, indent=2, ensure_ascii=False))
    print(f"wrote {model} and {card} (load it like any model: `python -m core enhance --model-path {model} ...`)")
    return 0


def _overrides(args) -> dict:
    changes = {k: v for k, v in (("seconds", args.seconds), ("max_steps", args.steps), ("seed", args.seed),
                                 ("unfreeze_blocks", args.unfreeze_blocks)) if v is not None}
    if args.loss:
        losses = {}
        for pair in args.loss:
            name, sep, weight = pair.partition("=")
            try:
                losses[name.strip()] = float(weight) if sep else 1.0
            except ValueError:
                raise ValueError(f"--loss wants NAME=WEIGHT, got {pair!r}") from None
        changes["losses"] = losses
    return changes


def _print(event, every: int) -> None:
    if event.phase == "step" and event.step % every and event.validation is None:
        return
    if event.phase in ("setup", "ready"):
        print(event.message, flush=True)
        if event.info:
            i = event.info
            print(f"data: train on {', '.join(i.data['train'])}; validate on {', '.join(i.data['validation'])} "
                  f"({i.data['held_out']}); degradation: {' → '.join(i.degradation) or 'none'}; losses: {i.losses}; "
                  f"budget {i.seconds:g} s" + "".join(f"; {n}" for n in i.notes), flush=True)
    elif event.phase == "step":
        print(f"step {event.step:>5}  loss {event.loss:.4f}  {event.steps_per_s:.2f} steps/s  "
              f"{event.elapsed_s:.0f} s, {event.time_left_s:.0f} s left", flush=True)
    if event.validation is not None and event.phase != "done":  # "done" says its scores in its message
        v, b = event.validation, event.baselines or {}
        base = lambda key, f: f" ({key} {getattr(b[key], f):.{2 if f == 'psnr' else 3}f})" if key in b else ""  # noqa
        print(f"  validation: PSNR {v.psnr:.2f} dB{base('bicubic', 'psnr')}{base('start', 'psnr')}  SSIM "
              f"{v.ssim:.3f}  LPIPS {v.lpips:.3f}{base('bicubic', 'lpips')}{base('start', 'lpips')}", flush=True)
    if event.phase == "done":
        print(event.message, flush=True)
