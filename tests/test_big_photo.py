"""A 12-MP phone photo enhanced whole (issue 48, item 5): a network's ×native output is resized to the requested
size tile by tile, never held whole, and the result equals the whole output resized with cv2.resize (Lanczos is
linear: the sum of each tile's resized contribution is the resize of their sum). The output limit counts the
output only, and its hint names a scale that passes."""
import tracemalloc

import cv2
import numpy as np
import pytest

from core import methods
from core.pipeline import engine
from core.pipeline.engine import EnhanceError, Request
from core.runtime import tiling
from tests.conftest import use_settings

FAST = "realesr-animevideov3"
PHONE = (4032, 3024)  # width, height of a 12-MP phone photo


def _db(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1 / mse)


def _fake_network(x: np.ndarray) -> np.ndarray:
    """C×h×w → C×4h×4w, cheap, and unlike itself from tile to tile (it subtracts its window's mean), so the
    overlap bands really blend two different outputs; values go out of 0…1 as a GAN's do."""
    up = np.repeat(np.repeat(x, 4, axis=1), 4, axis=2)
    wave = np.sin(np.arange(up.shape[2], dtype=np.float32) * 0.7)[None, None, :] * 0.2
    return (1.4 * up - 0.5 * x.mean() + wave).astype(np.float32)


@pytest.mark.parametrize("shape", [(3, 37, 53), (1, 40, 31), (3, 23, 64)])
@pytest.mark.parametrize("scale", [2.5, 1.7, 1.0, 2.0, 3.3])
def test_the_resize_tile_by_tile_equals_the_whole_output_resized(shape, scale):
    image = np.random.default_rng(sum(shape)).random(shape, dtype=np.float32)
    c, h, w = shape
    size = engine.target_size(w, h, scale)
    whole = tiling.run_tiled(_fake_network, image, 4, 16)
    reference = cv2.resize(np.ascontiguousarray(whole.transpose(1, 2, 0)), size, interpolation=cv2.INTER_LANCZOS4)
    reference = reference[..., None] if reference.ndim == 2 else reference
    tiled = tiling.run_tiled(_fake_network, image, 4, 16, size=size)
    assert tiled.shape == (c, size[1], size[0])
    got = tiled.transpose(1, 2, 0)
    # measured: float32 rounding only (max 1e-6 on values of about 1; ≥ 125 dB)
    assert np.abs(got - reference).max() < 1e-5 and _db(got, reference) > 100


def test_a_single_tile_is_resized_exactly_too():
    image = np.random.default_rng(3).random((3, 21, 30), dtype=np.float32)
    whole = _fake_network(image)
    reference = cv2.resize(whole.transpose(1, 2, 0), (51, 36), interpolation=cv2.INTER_LANCZOS4)
    got = tiling.run_tiled(_fake_network, image, 4, 0, size=(51, 36)).transpose(1, 2, 0)
    assert np.abs(got - reference).max() < 1e-5


@pytest.fixture
def resize_by_tile(monkeypatch):
    """An output limit under the tiny test images' ×4 pass: the network resizes tile by tile there, as it does
    for a 12-MP photo under the default limit (SO_FAR_MAX_PIXELS, 16 MP)."""
    use_settings(monkeypatch, max_output_pixels=20_000)


@pytest.mark.parametrize("channels, scale", [(3, 2.5), (1, 1.7)])
def test_a_network_resized_tile_by_tile_equals_its_whole_output_resized(astronaut, monkeypatch, channels, scale):
    spec = methods.get(FAST)
    rgb = cv2.resize(astronaut, (96, 80), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    color = rgb if channels == 3 else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None]
    size = engine.target_size(96, 80, scale)
    plan = spec.plan(80, 96, tile=32, backend="torch")
    whole = spec.upscale(color, size, plan=plan)
    assert whole.resize.endswith(f"({96 * 4}×{80 * 4} → {size[0]}×{size[1]})")  # held whole: a small output
    use_settings(monkeypatch, max_output_pixels=20_000)
    tiled = spec.upscale(color, size, plan=plan)
    assert tiled.pixels.shape == whole.pixels.shape == (size[1], size[0], channels)
    assert _db(tiled.pixels, whole.pixels) >= 100, _db(tiled.pixels, whole.pixels)
    assert tiled.tiles == plan.tiles == 9 and tiled.network_scale == 4
    assert tiled.resize == f"×{size[0] / 384:.4g} Lanczos resize (384×320 → {size[0]}×{size[1]}), tile by tile"
    assert tiled.summary == f"{FAST} network ×4, then {tiled.resize}"


def test_the_native_output_is_never_held_whole(resize_by_tile):
    """tracemalloc sees numpy's allocations: the largest moment of a run that resizes tile by tile stays well
    under one ×native output (today's whole-then-resize path allocates it, and more)."""
    spec = methods.get(FAST)
    color = np.random.default_rng(5).random((64, 64, 3), dtype=np.float32)
    plan = spec.plan(64, 64, tile=8, backend="torch")  # 64 tiles of 16² inputs, overlaps included
    spec.upscale(color[:16, :16], (16, 16), plan=plan)  # the network loaded and warm before measuring
    native_bytes = 3 * (64 * 4) * (64 * 4) * 4
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        out = spec.upscale(color, (64, 64), plan=plan)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.pixels.shape == (64, 64, 3) and out.resize.endswith("tile by tile") and out.tiles == 64
    assert peak < native_bytes / 2, f"peak {peak / 1e3:.0f} kB against a ×4 output of {native_bytes / 1e3:.0f} kB"


# ---------------------------------------------------------------- the limit counts the output, and its hint works
@pytest.mark.parametrize("outscale", [2, 2.25])
def test_a_12_mp_photo_passes_the_check_at_x2_and_at_the_largest_scale_that_fits(outscale):
    scale, size, _ = engine.check(Request.make("RealESRGAN_x4plus", outscale=outscale), *PHONE)
    assert scale == outscale and size == (round(4032 * outscale), round(3024 * outscale))


def test_a_12_mp_photo_at_x4_is_refused_with_a_scale_that_then_passes():
    with pytest.raises(EnhanceError) as refused:
        engine.check(Request.make("RealESRGAN_x4plus", outscale=4), *PHONE)
    message = str(refused.value)
    assert "16128×12096 = 195 megapixels, over the output limit of 64 MP: choose a scale of at most ×2.25" in message
    hinted = float(message.split("at most ×")[1].split(" ")[0])
    _, (w, h), _ = engine.check(Request.make("RealESRGAN_x4plus", outscale=hinted), *PHONE)
    assert w * h <= 64_000_000


@pytest.mark.parametrize("width, height, limit", [(4032, 3024, 64_000_000), (400, 300, 1_000_000),
                                                   (1000, 1000, 4_000_000), (999, 1001, 4_000_000),
                                                   (3000, 2000, 6_000_000), (7, 5, 36), (6, 6, 57)])
def test_the_hinted_scale_always_fits_and_is_the_largest_quarter_that_does(monkeypatch, width, height, limit):
    use_settings(monkeypatch, max_output_pixels=limit)
    with pytest.raises(EnhanceError, match="choose a scale of at most") as refused:
        engine.check(Request.make("bicubic", outscale=8), width, height)
    hinted = float(str(refused.value).split("at most ×")[1].split(" ")[0])
    engine.check(Request.make("bicubic", outscale=hinted), width, height)
    with pytest.raises(EnhanceError):
        engine.check(Request.make("bicubic", outscale=hinted + 0.25), width, height)
