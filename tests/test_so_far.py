"""A watched long run shows its result as its tiles land (issue 38, "first pixels in seconds"): the tile chosen for
it, the picture so far by value, and the engine's result untouched by watching it."""
import numpy as np
import pytest

from core.methods import get
from core.pipeline.engine import Request, execute, prepare
from core.runtime import select
from core.runtime.tiling import OVERLAP, UNFINISHED_DIM, run_tiled, so_far, tile_grid, tiled_area


def _record(seconds_per_mpx: float) -> dict:
    return {"measured": {"torch": {"seconds_per_mpx": seconds_per_mpx}}}


@pytest.mark.parametrize("seconds_per_mpx", [31.0, 78.0, 320.0])
def test_a_long_watched_run_is_tiled_so_its_first_tile_lands_within_the_promise(seconds_per_mpx):
    record = _record(seconds_per_mpx)
    whole = select.expected_seconds(record, "torch", 512, 512, 0)
    assert whole > select.FIRST_PIXELS_S  # x4plus on a 512² photo: 8 s (Zen 4, bf16) to 84 s (fp32 on Zen 3)
    tile = select.live_tile(record, "torch", 512, 512, 0)
    assert tile % 8 == 0 and select.MIN_LIVE_TILE <= tile < 512
    (ys, xs) = tile_grid(512, 512, tile)[0]
    first_window = (ys[1] + OVERLAP) * (xs[1] + OVERLAP)  # the corner tile, with its two inner overlaps
    first_s = seconds_per_mpx * first_window / 1e6
    if tile > select.MIN_LIVE_TILE:  # (at the floor the overlaps would cost more than a later first tile)
        assert first_s <= select.FIRST_PIXELS_S
    assert tiled_area(512, 512, tile) / 512 ** 2 < 1.45  # what the overlaps cost, bounded


def test_a_short_or_unmeasured_run_keeps_its_memory_tile():
    assert select.live_tile(_record(31.0), "torch", 128, 128, 0) == 0  # 0.5 s: one pass
    assert select.live_tile(None, "torch", 512, 512, 0) == 0            # nothing measured: nothing promised
    assert select.live_tile(_record(320.0), "torch", 512, 512, 96) == 96  # memory's smaller tile stands


def test_the_picture_so_far_is_the_finished_tiles_and_the_dimmed_stand_in_elsewhere():
    rng = np.random.default_rng(0)
    image = rng.random((3, 40, 60), np.float32)
    final = np.repeat(np.repeat(image, 2, axis=1), 2, axis=2)  # a "network": nearest ×2, exact in any tile
    stand_in = np.full((80, 120, 3), 200, np.uint8)
    seen = []
    out = run_tiled(lambda x: np.repeat(np.repeat(x, 2, axis=1), 2, axis=2), image, 2, 20, 4,
                    on_tile=lambda o, w: seen.append((so_far(o, w, stand_in), w.copy())))
    assert np.allclose(out, final)
    assert len(seen) == len(tile_grid(40, 60, 20)) - 1  # after every tile but the last (that is the result)
    expected = (final.transpose(1, 2, 0) * 255 + 0.5).astype(np.uint8)
    shares = []
    for (picture, share), weights in seen:
        drawn = weights > 0
        assert np.array_equal(picture[drawn], expected[drawn])  # renormalised: exact where any tile is done
        assert (picture[~drawn] == int(200 * UNFINISHED_DIM)).all()
        shares.append(share)
    assert shares == sorted(shares) and 0 < shares[0] < shares[-1] < 1


def test_watching_a_tiled_network_run_changes_nothing_in_its_result(astronaut_lr):
    request = Request.make("realesr-animevideov3", tile=64, backend="torch")
    prepared = prepare(astronaut_lr, request, live=True)  # a tile given by hand stands
    assert prepared.plan.tiles == 4
    parts = []
    watched = execute(prepared, on_partial=lambda picture, stand_in, share: parts.append((picture, stand_in, share)))
    plain = execute(prepare(astronaut_lr, request))
    assert np.array_equal(watched.pixels, plain.pixels)
    assert [round(s, 2) for *_, s in parts] == sorted(round(s, 2) for *_, s in parts) and len(parts) == 3
    picture, stand_in, _ = parts[-1]
    assert picture.shape == stand_in.shape == (512, 512, 3) and picture.dtype == np.uint8
    # the first tile's core (top-left 64² input, 256² output, less its fade band) is the network's result already
    core = slice(0, (64 - OVERLAP) * 4)
    assert np.abs(parts[0][0][core, core].astype(int) - watched.pixels[core, core].astype(int)).max() <= 1


def test_a_live_plan_says_why_it_is_tiled(monkeypatch):
    spec = get("RealESRGAN_x4plus")
    record = {"backend": "torch", "sha256": spec.sha256, "why": "",
              "measured": {n: {"seconds_per_mpx": 60.0, "psnr_vs_fp32_db": 99.0, "contender": True, "seconds": {}}
                           for n in ("torch",)}}
    monkeypatch.setattr(select.calibrate, "record_for", lambda *_: record)
    monkeypatch.setattr(select.backends, "runnable", lambda _spec: ["torch"])
    live = select.choose(spec, 512, 512, live=True)
    still = select.choose(spec, 512, 512)
    assert live.tiles > 1 and live.tile < 512
    assert "so the first part of the result shows within about 5 s" in live.why
    assert "so the first part" not in still.why and still.tiles == 1


@pytest.mark.parametrize("draws_so_far", [False, True])
def test_a_landed_tile_reruns_only_a_page_that_draws_the_result_so_far(monkeypatch, draws_so_far):
    """Baselines (and the lesson) watch enhance jobs but draw no result so far: a tile that landed reran the whole
    page on every tick (twice a second for a tiled run's minutes), redrawing all its pictures for nothing."""
    import streamlit as st

    from core.serve.jobs import Job, State
    from core.serve.tasks.enhance import SoFar
    from ui import jobs as ui_jobs

    job = Job("j1", "RealESRGAN_x4plus", "enhance", None, state=State.RUNNING)
    job.data["so_far"] = SoFar(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8), 0.25, 1, 4)
    reruns = []

    class Rerun(Exception):
        pass

    def rerun(**kwargs):
        reruns.append(kwargs)
        raise Rerun

    state = {"panel_live": True}
    monkeypatch.setattr(ui_jobs, "get", lambda _id: job)
    monkeypatch.setattr(ui_jobs, "_unfinished", lambda: [job])
    monkeypatch.setattr(st, "session_state", state)
    monkeypatch.setattr(st, "rerun", rerun)
    monkeypatch.setattr(st, "progress", lambda *a, **k: None)
    monkeypatch.setattr(st, "button", lambda *a, **k: False)
    try:
        ui_jobs._draw_progress(("j1",), "base", running=True, draws_so_far=draws_so_far)
    except Rerun:
        pass
    assert reruns == ([{"scope": "app"}] if draws_so_far else [])
    state["so_far_drawn"] = {"j1": 1}  # Enhance drew tile 1: no rerun until the next one lands
    reruns.clear()
    ui_jobs._draw_progress(("j1",), "enh", running=True, draws_so_far=draws_so_far)
    assert reruns == []
