"""An attribution job (core/quality/attribution.py, Local Attribution Maps): each method's map over the region,
progress per path step, Cancel between layers; its result is the Attribution."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from core.serve.tasks import Task

if TYPE_CHECKING:
    from core.quality.attribution import Attribution


def attribution(request, pixels: np.ndarray, own: Mapping | None = None) -> Task[Attribution]:
    """`request`: a core.quality.attribution.AttributionRequest, checked by the caller (one line at once)."""
    from core.quality.attribution import attribute

    own = dict(own or {})
    return Task("attribution", f"Maps of {len(request.methods)} method(s)",
                lambda ctx: attribute(request, pixels, own, ctx), key=("attribution", request, tuple(sorted(own))))
