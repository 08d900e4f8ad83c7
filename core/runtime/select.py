"""The one place a job's backend and tile are chosen: `choose()`, once per job, before it starts. The result
(a `Plan`) is recorded in the job's statistics and never re-derived by a page."""
from __future__ import annotations

from dataclasses import dataclass

from core import settings
from core.runtime import backends, calibrate, machine
from core.runtime.tiling import auto_tile, tile_grid, tiled_area


@dataclass(frozen=True, kw_only=True)
class Plan:
    """How a job will run, decided once before it starts and recorded in its statistics: the backend, the tile
    (0: the whole image in one pass), why, and this machine's expected seconds (None: not measured)."""
    backend: str = ""
    label: str = ""
    tile: int = 0
    tiles: int = 1
    why: str = ""
    expected_s: float | None = None


def resolve_choice(choice: str) -> str:
    choice = settings.current().backend if choice == "auto" else choice
    if choice not in backends.CHOICES:
        raise ValueError(f"unknown backend {choice!r}; choose one of {', '.join(backends.CHOICES)}")
    return choice


def expected_seconds(record: dict | None, name: str, height: int, width: int, tile: int) -> float | None:
    """Measured seconds per pixel × the pixels the tiles really run (overlaps included)."""
    if record is None or name not in record["measured"]:
        return None
    return record["measured"][name]["seconds_per_mpx"] * tiled_area(height, width, tile) / 1e6


def choose(spec, height: int, width: int, tile: int = 0, choice: str = "auto", on_step=None) -> Plan:
    """Backend and tile for running `spec` on a height×width input. "auto" uses this machine's measurements
    (measuring first if there are none: `on_step` shows it and may cancel it) and weighs what tiling costs
    each backend on this image; `tile` 0 is automatic, from each backend's memory per pixel."""
    choice = resolve_choice(choice)

    def tile_for(name: str) -> int:
        return tile or auto_tile(height, width, spec.memory_per_pixel(name), machine.tile_budget_mb(name))

    if choice != "auto":
        if choice not in backends.runnable(spec):
            raise ValueError(f"{spec.name} cannot run on {choice}; it runs on {', '.join(backends.runnable(spec))}")
        name, why, record = choice, f"{backends.LABELS[choice]}: chosen by hand", calibrate.measured(spec)
    elif not spec.measured_auto:
        name = backends.runnable(spec)[0]
        why, record = f"{backends.LABELS[name]}: the reference backend (this model is not measured)", None
    else:
        record = calibrate.record_for(spec, on_step)
        faithful = {n: m for n, m in record["measured"].items() if m["psnr_vs_fp32_db"] >= calibrate.MIN_PSNR_DB}
        # the contenders of the calibration: a backend that lost its probe round does not win on that one run
        contenders = [n for n, m in faithful.items() if calibrate.is_contender(m)] or list(faithful)
        cost = {n: expected_seconds(record, n, height, width, tile_for(n)) for n in contenders}
        name = min(cost, key=cost.get) if cost else record["backend"]
        times = ", ".join(f"{n} {m['seconds_per_mpx']:.3g} s/MP" + (
            "" if m["psnr_vs_fp32_db"] >= calibrate.MIN_PSNR_DB else " (too far from fp32)")
            for n, m in record["measured"].items())
        why = (f"{backends.LABELS[name]}: the fastest faithful one measured on this machine, tiling counted for "
               f"this image (measured: {times})") + ("; " + busy if (busy := calibrate.busy_note(record)) else "")
    used = tile_for(name)
    return Plan(backend=name, label=backends.LABELS[name], tile=used, tiles=len(tile_grid(height, width, used)),
                why=why, expected_s=expected_seconds(record, name, height, width, used))


def runner(spec, choice: str = "auto"):
    """The runner `choose()` would pick for a 128² input (CLI listings and tests)."""
    return backends.built(spec, choose(spec, 128, 128, choice=choice).backend)
