"""The one place a job's backend and tile are chosen: `choose()`, once per job, before it starts. The result
(a `Plan`) is recorded in the job's statistics and never re-derived by a page."""
from __future__ import annotations

from dataclasses import dataclass

from core import settings
from core.runtime import backends, calibrate, machine
from core.runtime.backends import RunnableNetwork
from core.runtime.tiling import OVERLAP, auto_tile, tile_grid, tiled_area


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
    fallback: str = ""  # on a GPU: the CPU backend that takes over if the device fails (backends.for_job)


def resolve_choice(choice: str) -> str:
    choice = settings.current().backend if choice == "auto" else choice
    if choice not in backends.CHOICES:
        raise ValueError(f"unknown backend {choice!r}; choose one of {', '.join(backends.CHOICES)}")
    return choice


def cpu_fallback(spec: RunnableNetwork, record: dict | None) -> str:
    """The CPU backend that takes a GPU's job over: the fastest faithful one this machine measured, else ncnn fp32
    (the same graph as the Vulkan backend's), else the first the network runs on."""
    cpu = [n for n in backends.runnable(spec) if not backends.on_gpu(n)]
    if record:
        faithful = [n for n in cpu if n in record["measured"]
                    and record["measured"][n]["psnr_vs_fp32_db"] >= calibrate.MIN_PSNR_DB]
        if faithful:
            return min(faithful, key=lambda n: record["measured"][n]["seconds_per_mpx"])
    return "ncnn" if "ncnn" in cpu else cpu[0]


def _refused(m: dict) -> str:
    """How far a measured backend's output was from fp32's, where the gate refused it ("" where it passed)."""
    if m.get("failed"):
        return f" (failed: {m['failed']})"
    missed = calibrate.MIN_PSNR_DB - m["psnr_vs_fp32_db"]
    return "" if missed <= 0 else (f" (refused: {m['psnr_vs_fp32_db']:g} dB from fp32, {missed:.1f} dB under the "
                                   f"{calibrate.MIN_PSNR_DB:g} dB gate)")


def expected_seconds(record: dict | None, name: str, height: int, width: int, tile: int) -> float | None:
    """Measured seconds per pixel × the pixels the tiles really run (overlaps included)."""
    if record is None or name not in record["measured"]:
        return None
    return record["measured"][name]["seconds_per_mpx"] * tiled_area(height, width, tile) / 1e6


FIRST_PIXELS_S = 5.0     # a watched run expected to take longer is tiled so that its first tile lands within this
MIN_LIVE_TILE = 128      # below this the overlaps cost too much (+41 % of pixels at 128, +10 % at 256)


def live_tile(record: dict | None, name: str, height: int, width: int, memory_tile: int) -> int:
    """The tile of a watched run: `memory_tile` unless the run is expected to take over FIRST_PIXELS_S; then the
    largest tile (a multiple of 8, at least MIN_LIVE_TILE, at most the memory's) whose first tile, overlaps
    included, is expected within FIRST_PIXELS_S."""
    whole = expected_seconds(record, name, height, width, memory_tile)
    if whole is None or whole <= FIRST_PIXELS_S:
        return memory_tile
    per_mpx = record["measured"][name]["seconds_per_mpx"]
    side = int((FIRST_PIXELS_S / per_mpx * 1e6) ** 0.5) - OVERLAP  # a corner tile has overlap on two sides
    tile = max(MIN_LIVE_TILE, side // 8 * 8)
    if tile >= max(height, width):
        return memory_tile
    return min(tile, memory_tile) if memory_tile else tile


def choose(spec: RunnableNetwork, height: int, width: int, tile: int = 0, choice: str = "auto", on_step=None,
           live: bool = False) -> Plan:
    """Backend and tile for running `spec` on a height×width input. "auto" uses this machine's measurements
    (measuring first if there are none: `on_step` shows it and may cancel it) and weighs what tiling costs
    each backend on this image; `tile` 0 is automatic, from each backend's memory per pixel, and, when `live`
    (someone watches the result come), small enough that the first tile lands within FIRST_PIXELS_S."""
    asked = choice = resolve_choice(choice)
    record, missing = None, ""

    def memory_tile_for(name: str) -> int:
        return auto_tile(height, width, spec.memory_per_pixel(backends.memory_key(name)), machine.tile_budget_mb(name))

    def tile_for(name: str) -> int:
        if tile:
            return tile
        memory_tile = memory_tile_for(name)
        return live_tile(record, name, height, width, memory_tile) if live else memory_tile

    if choice != "auto" and not backends.can_run(spec, choice) and backends.parse(choice)[0].runs(spec):
        # a GPU asked for by hand that is not here: never a dead end, the CPU runs it and the plan says why
        missing, choice = f"{asked} was asked for, but {backends.missing_device(asked)}", "auto"
    if choice != "auto":
        if not backends.can_run(spec, choice):
            raise ValueError(f"{spec.name} cannot run on {choice}; it runs on {', '.join(backends.runnable(spec))}")
        name, why, record = choice, f"{backends.label(choice)}: chosen by hand", calibrate.measured(spec)
    elif not spec.measured_auto:
        name = backends.runnable(spec)[0]
        why, record = f"{backends.label(name)}: the reference backend (this model is not measured)", None
    else:
        record = calibrate.record_for(spec, on_step)
        faithful = {n: m for n, m in record["measured"].items() if m["psnr_vs_fp32_db"] >= calibrate.MIN_PSNR_DB}
        # the contenders of the calibration: a backend that lost its probe round does not win on that one run
        contenders = [n for n, m in faithful.items() if calibrate.is_contender(m)] or list(faithful)
        cost = {n: expected_seconds(record, n, height, width, tile_for(n)) for n in contenders}
        name = min(cost, key=cost.get) if cost else record["backend"]
        times = ", ".join(f"{n} {m['seconds_per_mpx']:.3g} s/MP{_refused(m)}" for n, m in record["measured"].items())
        why = (f"{backends.label(name)}: the fastest faithful one measured on this machine, tiling counted for "
               f"this image (measured: {times})") + ("; " + busy if (busy := calibrate.busy_note(record)) else "")
    if missing:
        why = f"{missing}; {why}"
    elif asked == "auto" and not backends.on_gpu(name) and backends.BACKENDS.get("vulkan").runs(spec):
        # why the Vulkan device was not used (a software GPU, none, no loader), said where it could have run this
        why += f"; the CPU ran it: {note}" if (note := machine.vulkan_note()) else ""
    fallback = cpu_fallback(spec, record) if backends.on_gpu(name) else ""
    used = tile_for(name)
    tiles = len(tile_grid(height, width, used))
    if live and not tile and tiles > 1 and expected_seconds(record, name, height, width, 0):
        memory_tile = memory_tile_for(name)
        if used != memory_tile:
            extra = expected_seconds(record, name, height, width, used) / expected_seconds(
                record, name, height, width, memory_tile) - 1
            why += (f"; tiles of {used} px so the first part of the result shows within about {FIRST_PIXELS_S:g} s "
                    f"(the overlaps add about {extra:.0%} to the time)")
    return Plan(backend=name, label=backends.label(name), tile=used, tiles=tiles, why=why, fallback=fallback,
                expected_s=expected_seconds(record, name, height, width, used))


def runner(spec: RunnableNetwork, choice: str = "auto"):
    """The runner `choose()` would pick for a 128² input (CLI listings and tests)."""
    return backends.built(spec, choose(spec, 128, 128, choice=choice).backend)
