"""Every way SR Lab turns an image into a larger one, behind one contract (core/methods/contract.py): the
built-in networks (core/methods/catalog/, one module per family) and the classical methods
(core/methods/classical.py), joined in one registry. A user's own model (core/methods/user.py) belongs to the
session that loaded it and is never in the registry: `lookup` finds it among that session's models.
Video networks (they consume a sequence, core/methods/sequence.py) are in their own registry, VIDEO_METHODS:
`for_clips` finds a method for a clip in either.
"""
from __future__ import annotations

from collections.abc import Mapping

from core.methods.catalog import NETWORKS
from core.methods.catalog.basicvsr import VIDEO_NETWORKS
from core.methods.classical import CLASSICAL
from core.methods.contract import Method, SequenceMethod
from core.methods.network import NetworkMethod
from core.registry import Registry, UnknownName

METHODS: Registry = Registry("method")
for _method in [*NETWORKS, *CLASSICAL]:
    METHODS.register(_method)

VIDEO_METHODS: Registry = Registry("video method")
for _method in VIDEO_NETWORKS:
    VIDEO_METHODS.register(_method)

SCALES = (2, 3, 4, 8)  # the scale buttons; any scale from 1 to 8 is allowed


def get(name: str) -> Method:
    return METHODS.get(name)


def lookup(name: str, own: Mapping[str, Method] | None = None) -> Method:
    """A built-in method, or one of `own` (a session's user models, by name)."""
    if own and name in own:
        return own[name]
    try:
        return METHODS.get(name)
    except UnknownName:
        if name.startswith("user:"):
            raise UnknownName(f"{name} is a model another session (or an earlier one) loaded; load the file "
                              "again") from None
        raise


def networks() -> list[NetworkMethod]:
    """The built-in networks."""
    return list(NETWORKS)


def is_network(method: Method) -> bool:
    """A network runs at its native scale (then a resize); a classical method resizes to any scale in one step."""
    return method.native_scale is not None


def select(*, network: bool | None = None, scale: int | None = None, family: str | None = None) -> list[Method]:
    """The built-in methods a page or command lists, chosen by what they declare (as timm's
    `list_models(filter)`): `network` True for the networks, False for the classical methods, None for both; a
    network's native `scale`; its `family`. In the registry's order."""
    return [m for m in METHODS if (network is None or is_network(m) == network)
            and (scale is None or m.native_scale == scale) and (family is None or m.family == family)]


def as_sequence(method: Method) -> SequenceMethod | None:
    """The method as a SequenceMethod when it consumes the whole sequence (a video network), else None (it runs on
    each frame alone)."""
    return method if method.consumes == "sequence" else None  # type: ignore[return-value]


def for_clips(name: str, own: Mapping[str, Method] | None = None) -> Method:
    """A method for a clip: a video network, or any image method (run on each frame alone)."""
    if name in VIDEO_METHODS:
        return VIDEO_METHODS.get(name)
    try:
        return lookup(name, own)
    except UnknownName:
        raise UnknownName(f"unknown method {name!r} for a clip; video networks: {', '.join(VIDEO_METHODS.names())}; "
                          "or any image method (python -m core methods)") from None
