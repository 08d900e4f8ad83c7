"""The method registry: every way SR Lab turns an image into a larger one, all behind one interface
(`upscale()`, core/interface.py). Networks are entries in core/networks.py, classical methods in
core/classical.py; this module only joins them and holds the option lists the CLI and the pages share.
"""
from __future__ import annotations

from core.backends import CHOICES as BACKEND_CHOICES  # noqa: F401  (re-exported for the CLI and pages)
from core.classical import CLASSICAL
from core.networks import NETWORKS, NetworkMethod
from core.registry import Registry

METHODS: Registry = Registry("method")
for _method in [*NETWORKS, *CLASSICAL]:
    METHODS.register(_method)

SCALES = (2, 3, 4, 8)  # the scale buttons; any scale from 1 to 8 is allowed


def get(name: str):
    return METHODS.get(name)


def networks() -> list[NetworkMethod]:
    """The built-in networks (a user's own models join METHODS when loaded, not this list)."""
    return list(NETWORKS)
