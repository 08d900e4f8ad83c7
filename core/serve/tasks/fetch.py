"""A weights fetch as a job (bytes, speed and time left in its message): core.weights.fetch, pinned and verified."""
from __future__ import annotations

from pathlib import Path

from core.serve.tasks import Task


def fetch(group: str) -> Task[list[Path]]:
    from core.weights.fetch import FetchError
    from core.weights.fetch import fetch as download

    def work(ctx):
        def on_bytes(done: int, total: int | None, speed: float) -> None:
            left = f", about {(total - done) / speed:.0f} s left" if total and speed > 0 else ""
            of = f" of {total / 1e6:.0f} MB" if total else ""
            ctx.step(done / total if total else 0.0, f"{done / 1e6:.0f} MB{of}, {speed / 1e6:.1f} MB/s{left}")

        try:
            return download(group, on_bytes=on_bytes)
        except FetchError as exc:
            raise RuntimeError(f"the weights could not be fetched: {exc}") from None

    return Task("fetch", "Fetching the face weights", work, key=("fetch", group))
