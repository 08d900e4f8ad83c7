"""A name → object registry (after BasicSR's `basicsr/utils/registry.py`)."""
from __future__ import annotations

from typing import Generic, Iterator, TypeVar

T = TypeVar("T")


class UnknownName(KeyError):
    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class Registry(Generic[T]):
    def __init__(self, what: str):
        self._what = what
        self._items: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    def alias(self, name: str, target: str) -> None:
        """Another accepted spelling (e.g. "psnr" for "psnr_db"); never listed."""
        self._aliases[name] = target

    def register(self, item: T, name: str | None = None) -> T:
        key = name or getattr(item, "name")
        if key in self._items:
            raise ValueError(f"{self._what} {key!r} is already registered")
        self._items[key] = item
        return item

    def get(self, name: str) -> T:
        try:
            return self._items[self._aliases.get(name, name)]
        except KeyError:
            known = ", ".join(self._items) or "none"
            raise UnknownName(f"unknown {self._what} {name!r}; known: {known}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items or name in self._aliases

    def __iter__(self) -> Iterator[T]:
        return iter(self._items.values())

    def names(self) -> list[str]:
        return list(self._items)
