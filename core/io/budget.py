"""What one session of the app holds in server memory (its image, its uploads, its own models, results not yet in
the shared cache), accounted by name against SRLAB_SESSION_MB, so one session cannot take the server down."""
from __future__ import annotations

import threading
from dataclasses import dataclass

from core import settings
from core.io.imageio import ImageError


class SessionFull(ImageError):
    """An item that does not fit in the session's bound, even after evicting what may be evicted."""


@dataclass(frozen=True)
class _Item:
    nbytes: int
    evictable: bool


def _mb(nbytes: int) -> str:
    return f"{nbytes / 1e6:,.{0 if nbytes >= 10e6 else 1}f} MB"


class SessionBudget:
    """Bytes held by one session, by item name, against `limit_bytes` (default SRLAB_SESSION_MB). Thread-safe:
    a session's background jobs and its page may add and remove at the same time."""

    def __init__(self, limit_bytes: int | None = None):
        self.limit_bytes = settings.current().session_mb * 1_000_000 if limit_bytes is None else limit_bytes
        self._items: dict[str, _Item] = {}  # oldest first
        self._lock = threading.Lock()

    def add(self, name: str, nbytes: int, *, evictable: bool = False) -> list[str]:
        """Account `nbytes` under `name` (replacing what `name` held). When it does not fit, the oldest evictable
        items go first: their names are returned, for the caller to drop. When even that is not enough, nothing
        changes and SessionFull says what the session holds and what to remove."""
        if nbytes > self.limit_bytes:
            raise SessionFull(f"{name} ({_mb(nbytes)}) is over the {_mb(self.limit_bytes)} one session may hold "
                              "(SRLAB_SESSION_MB)")
        with self._lock:
            held = {k: v for k, v in self._items.items() if k != name}
            holding = total = sum(item.nbytes for item in held.values())
            evicted = []
            for old, item in held.items():
                if total + nbytes <= self.limit_bytes:
                    break
                if item.evictable:
                    evicted.append(old)
                    total -= item.nbytes
            if total + nbytes > self.limit_bytes:
                kept = sorted((k for k in held if not held[k].evictable), key=lambda k: -held[k].nbytes)[:3]
                raise SessionFull(
                    f"{name} ({_mb(nbytes)}) does not fit: this session holds {_mb(holding)}; the limit is "
                    f"{_mb(self.limit_bytes)} (SRLAB_SESSION_MB): remove "
                    + " or ".join(f"{k} ({_mb(held[k].nbytes)})" for k in kept) + " first")
            for old in evicted:
                del self._items[old]
            self._items.pop(name, None)
            self._items[name] = _Item(nbytes, evictable)  # newest last
            return evicted

    def remove(self, name: str) -> None:
        """Forget `name` (nothing happens when it is not held)."""
        with self._lock:
            self._items.pop(name, None)

    @property
    def total(self) -> int:
        """Bytes held now."""
        with self._lock:
            return sum(item.nbytes for item in self._items.values())

    def __contains__(self, name: str) -> bool:
        with self._lock:
            return name in self._items
