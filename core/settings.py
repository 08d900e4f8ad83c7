"""Every setting SR Lab reads from the environment, read once into one object (the README's table lists them).

Modules call `current()` when they need a value (never copy one at import), so `configure()` reaches them all.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a whole number") from None


@dataclass(frozen=True)
class Settings:
    max_input_pixels: int       # decoded input size, checked from the header before decoding
    max_output_pixels: int      # output size (a larger ×native pass is resized tile by tile, never held)
    tile_memory_mb: int         # memory of one network pass (0: a share of what the machine has free)
    job_slots: int              # jobs the app runs at once; the rest wait in a FIFO queue
    job_nice: int               # OS priority of the job workers (0…19): page runs come before the jobs
    gone_after_s: int           # a session unseen this long (its tab closed) has its jobs cancelled
    results_cache_mb: int       # finished results kept for all sessions of the app
    batch_max_megapixels: int   # decoded pixels of one batch, summed from the headers before decoding
    batch_output_mb: int        # results.zip of one batch, written to a temporary file as results come
    session_mb: int             # what one session holds (image, uploads, own models, results not yet cached)
    backend: str                # "auto" or a backend name (core/backends.py CHOICES)
    weights_dir: Path           # converted and user-supplied weights, backend calibration
    ray_address: str            # "" = run jobs in-process; else a Ray cluster address or "local"
    timing_log: str             # "" = off; else a JSON-lines file of server-side timings (bench/load_test.py)
    # Training (core/train): bounds for one run, sized for a laptop; a run is cut to the time and refused
    # when its estimated memory is over the cap
    train_max_seconds: float    # wall-clock budget of one training run (setup, steps, validation)
    train_max_mb: int           # estimated memory of one training run
    # Clips (core/io/video.py): checked from the container's header where it says, and again as frames come
    video_max_frames: int       # frames of one clip
    video_max_seconds: float    # duration of one clip
    video_max_frame_pixels: int  # pixels of one decoded frame

    @classmethod
    def from_environment(cls) -> "Settings":
        env = os.environ.get
        return cls(
            max_input_pixels=_int("SRLAB_MAX_INPUT_PIXELS", 16_000_000),
            max_output_pixels=_int("SRLAB_MAX_OUTPUT_PIXELS", 64_000_000),  # 8000×8000: ~0.8 GB as float
            tile_memory_mb=_int("SRLAB_TILE_MEMORY_MB", 0),
            job_slots=max(1, _int("SRLAB_JOB_SLOTS", 1)),  # inference already uses every core
            job_nice=min(19, max(0, _int("SRLAB_JOB_NICE", 10))),
            gone_after_s=max(1, _int("SRLAB_GONE_AFTER_S", 60)),
            results_cache_mb=_int("SRLAB_RESULTS_CACHE_MB", 1500),
            # 20 phone photos of 12 MP (240 MP) and a quarter more; decoding is one image at a time, so this
            # bounds the work and output of one click, not its memory (that is one image's, ≤ max_input_pixels)
            batch_max_megapixels=_int("SRLAB_BATCH_MAX_MEGAPIXELS", 300),
            batch_output_mb=_int("SRLAB_BATCH_OUTPUT_MB", 1000),
            session_mb=_int("SRLAB_SESSION_MB", 1500),
            backend=env("SRLAB_BACKEND", "auto"),
            weights_dir=Path(env("SRLAB_WEIGHTS_DIR", str(_ROOT / "weights"))),
            ray_address=env("SRLAB_RAY_ADDRESS", ""),
            timing_log=env("SRLAB_TIMING_LOG", ""),
            train_max_seconds=_int("SRLAB_TRAIN_MAX_SECONDS", 900),
            train_max_mb=_int("SRLAB_TRAIN_MAX_MB", 3000),
            video_max_frames=_int("SRLAB_VIDEO_MAX_FRAMES", 3000),   # 2 min at 25 fps
            video_max_seconds=_int("SRLAB_VIDEO_MAX_SECONDS", 300),
            video_max_frame_pixels=_int("SRLAB_VIDEO_MAX_FRAME_PIXELS", 1920 * 1080),
        )


_settings = Settings.from_environment()


def current() -> Settings:
    return _settings


def configure(**changes) -> Settings:
    """Replace settings for this process (tests, benches); returns the previous ones to restore."""
    global _settings
    previous = _settings
    _settings = dataclasses.replace(_settings, **changes)
    return previous


def restore(previous: Settings) -> None:
    global _settings
    _settings = previous
