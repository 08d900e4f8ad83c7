"""A training run as a job (core/train): its live data (loss, validation history beside the baselines, the
validation crop now, the run's facts) noted for the watching page; a cancelled run keeps its checkpoint to resume,
a finished one removes it. The disk stays bounded: of the cancelled runs' checkpoints the newest
KEPT_CHECKPOINTS stay."""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from core import settings
from core.serve.tasks import Task

if TYPE_CHECKING:
    from core.train.engine import TrainResult

KEPT_CHECKPOINTS = 20  # cancelled runs the server keeps to resume (a class's worth); the oldest go first
LOSSES_KEPT = 4000     # a long run's live loss curve keeps its latest steps


def checkpoint_dir(owner: str, preset: str) -> Path:
    """Where `owner`'s (a session's) run of `preset` keeps its checkpoint, so a cancelled run can resume."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", f"{owner}-{preset}")
    return settings.current().weights_dir / "training" / safe


def prune_checkpoints(keep: int = KEPT_CHECKPOINTS) -> None:
    root = settings.current().weights_dir / "training"
    folders = sorted((f for f in root.glob("*") if f.is_dir()), key=lambda f: f.stat().st_mtime, reverse=True)
    for old in folders[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def training(images, config, folder: Path, resume: bool = False) -> Task[TrainResult]:
    """`images` and `config` as core.train.engine.train takes them (checked by core/train/checks.py first)."""
    prune_checkpoints()

    def work(ctx):
        live = {"losses": [], "history": [], "baselines": {}, "preview": None, "info": None}

        def on_event(event) -> None:
            if event.loss is not None:
                live["losses"].append((event.step, event.loss))
                live["losses"] = live["losses"][-LOSSES_KEPT:]
            if event.info is not None:
                live["info"] = event.info
            if event.baselines:
                live["baselines"] = {k: v.as_dict() for k, v in event.baselines.items()}
            if event.past is not None:  # resumed: the curves so far, from the checkpoint (its last point measured now)
                live["history"] = list(event.past["history"])
                live["losses"] = list(enumerate(event.past["losses"], 1))[-LOSSES_KEPT:]
            if event.validation is not None:
                live["history"].append({"step": event.step, **event.validation.as_dict()})
            if event.preview is not None:
                live["preview"] = event.preview
            live["run_elapsed_s"] = event.elapsed_s  # the whole run's, before a resume too
            ctx.note(**live)
            own = ctx.elapsed_s  # this job's part of the run: its own pace gives the time left
            ctx.step(min(0.99, own / (own + event.time_left_s)) if own + event.time_left_s > 0 else 0.0,
                     event.message)

        from core.train.engine import train  # torch: imported by the job, not by the page that draws

        result = train(images, config, on_event, checkpoint_dir=folder, resume=resume)
        shutil.rmtree(folder, ignore_errors=True)  # done: nothing to resume (the model lives in the session)
        return result

    return Task("training", f"Training: {config.preset or config.base}", work,
                expected_s=None if resume else config.seconds)  # resumed: less is left; its own pace says
