"""What several commands share: reading inputs, `--param`, and the degradation options."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.io.imageio import IMAGE_SUFFIXES
from core.quality.degrade import DOWNSCALE_METHODS, Degradation


def fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def pool(args, on_step=None):
    """Where a batch runs: on the Ray cluster `--ray` names (core.serve.distributed.RayPool; RayUnavailable when it
    cannot be reached), else in this process (`on_step` sees each source's progress)."""
    if not args.ray:
        from core.pipeline.batch_loop import InProcess

        return InProcess(on_step)
    from core.serve import distributed

    distributed.connect(args.ray)
    return distributed.RayPool(args.ray_in_flight)


def inputs(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(p)  # a missing file is reported by the loader, with the others still processed
    return files


def parse_params(pairs: list[str]) -> dict:
    """`--param d=9 --param mode=hard` → {"d": "9", "mode": "hard"}; the method converts and checks."""
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--param wants NAME=VALUE, got {pair!r}")
        params[key.strip()] = value.strip()
    return params


def add_degradation(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("degradation (blur → downscale → noise → JPEG; each optional)")
    g.add_argument("--downscale", default="bicubic", choices=DOWNSCALE_METHODS,
                   help="bicubic = Pillow, antialiased like MATLAB imresize")
    g.add_argument("--blur", type=float, default=0.0, metavar="SIGMA", help="Gaussian blur σ in HR pixels")
    g.add_argument("--noise", type=float, default=0.0, metavar="SIGMA", help="Gaussian noise σ on 0–255")
    g.add_argument("--jpeg", type=int, default=0, metavar="Q", help="JPEG quality 1–100 (0 = off)")
    g.add_argument("--seed", type=int, default=0)


def degradation(args, scale: int) -> Degradation:
    return Degradation(scale=scale, downscale=args.downscale, blur_sigma=args.blur, noise_sigma=args.noise,
                       jpeg_quality=args.jpeg, seed=args.seed)
