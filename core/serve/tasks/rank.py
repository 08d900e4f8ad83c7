"""A ranking job (Which model?): every network on a crop within a time budget, fastest first
(core.quality.ranking.try_networks)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from core.io.imageio import image_key
from core.serve.tasks import Task

if TYPE_CHECKING:
    from core.quality.ranking import Ranking


def ranking(crop: np.ndarray, scale: int, names: list[str], reference: np.ndarray | None, budget_s: float,
            measure: str, full_size: tuple[int, int]) -> Task[Ranking]:
    from core.quality.ranking import try_networks

    def work(ctx):
        ctx.expect(budget_s)
        return try_networks(crop, scale, names, reference=reference, budget_s=budget_s, measure=measure,
                            full_size=full_size, on_step=ctx.step)

    return Task("ranking", f"Trying {len(names)} networks", work,
                key=("ranking", image_key(crop), scale, tuple(names), budget_s, measure,
                     None if reference is None else image_key(reference)), expected_s=budget_s)
