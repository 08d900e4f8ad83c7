"""A scoring job: a set of requests run on one input (each from the shared results when already made) and scored
against a true reference by core.quality.scoring; its result is the Scores table."""
from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from core.io.imageio import LoadedImage
from core.pipeline.engine import Request
from core.serve.tasks import Task

if TYPE_CHECKING:
    from core.quality.scoring import Scores
from core.serve.tasks.enhance import run_one


def scoring(label: str, lr: np.ndarray, reference: np.ndarray | None, requests: list[Request], *, key: Hashable,
            own: Mapping | None = None, **score_options) -> Task[Scores]:
    from core.quality.scoring import score_methods

    def work(ctx):
        done = [0]

        def runner(request: Request, image: LoadedImage):
            result, _ = run_one(ctx, request, image, own, done[0] / len(requests), 1 / len(requests))
            done[0] += 1
            return result

        return score_methods(lr, reference, requests, runner=runner, **score_options)

    return Task("scoring", label, work, key=("scoring", key))
