"""The engine with real weights on real images: sizes, scale bookkeeping, tiling, pixel formats."""
import io
import weakref

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio

from core.io.imageio import load_image, read_image_file
from core.pipeline.engine import EnhanceError, enhance
from tests.conftest import shared_path, use_settings

FAST = "realesr-animevideov3"


def test_set5_baby_x4plus_is_512_and_stats_are_complete():
    image = read_image_file(shared_path("Set5", "LR_bicubic", "X4", "babyx4.png"))
    result = enhance(image, "RealESRGAN_x4plus")
    s = result.stats
    assert result.pixels.shape == (512, 512, 3) and result.pixels.dtype == np.uint8
    assert (s.input_size, s.output_size, s.network_scale, s.resize) == ((128, 128), (512, 512), 4, "none")
    assert s.pixel_ratio == 16 and s.input_file_bytes == image.file_bytes and s.elapsed_s > 0
    labels = dict(s.rows(output_png_bytes=123))
    assert labels["pixel ratio"].startswith("×16.00") and labels["output PNG"] == "123 bytes"


@pytest.mark.parametrize("outscale, size, resize", [(3.5, 448, "×0.875 Lanczos"), (8, 1024, "×2 Lanczos"),
                                                      (1, 128, "×0.25 Lanczos"), (4, 512, "none")])
def test_outscale_is_network_pass_then_lanczos_and_says_so(astronaut_lr, outscale, size, resize):
    result = enhance(astronaut_lr, FAST, outscale=outscale)
    assert result.pixels.shape == (size, size, 3)
    assert result.stats.network_scale == 4 and result.stats.resize.startswith(resize)


def test_lanczos_step_equals_opencv_on_the_network_output(astronaut_lr):
    native = enhance(astronaut_lr, FAST, backend="torch").pixels.astype(np.float32) / 255
    ours = enhance(astronaut_lr, FAST, outscale=8, backend="torch").pixels
    ref = np.clip(cv2.resize(native, (1024, 1024), interpolation=cv2.INTER_LANCZOS4), 0, 1)
    assert peak_signal_noise_ratio((ref * 255 + 0.5).astype(np.uint8), ours) > 45


@pytest.mark.parametrize("bad", [0.5, 8.5, float("nan")])
def test_outscale_out_of_range_is_refused(astronaut_lr, bad):
    with pytest.raises(EnhanceError, match="scale"):
        enhance(astronaut_lr, FAST, outscale=bad)


def test_matches_official_realesrganer_untiled(astronaut_lr):
    from realesrgan import RealESRGANer

    from core import methods
    from core.weights import resolve as weights

    spec = methods.get(FAST)
    official = RealESRGANer(scale=4, model_path=str(weights.resolve(spec).path), model=spec.build(), tile=0,
                            pre_pad=0, half=False, device="cpu")
    ref, _ = official.enhance(cv2.cvtColor(astronaut_lr, cv2.COLOR_RGB2BGR), outscale=4)
    ours = enhance(astronaut_lr, FAST, backend="torch").pixels
    assert peak_signal_noise_ratio(cv2.cvtColor(ref, cv2.COLOR_BGR2RGB), ours) > 60


@pytest.mark.parametrize("method", ["RealESRGAN_x4plus", "realesr-animevideov3"])
@pytest.mark.parametrize("backend", ["ncnn", "ncnn-bf16"])
def test_every_backend_is_within_40_db_of_the_torch_reference(astronaut, method, backend):
    lr = cv2.resize(astronaut[60:252, 160:352], (64, 64), interpolation=cv2.INTER_AREA)  # the face
    ref = enhance(lr, method, backend="torch").pixels
    out = enhance(lr, method, backend=backend)
    assert out.stats.backend.startswith(backend.replace("-bf16", " bf16"))
    assert peak_signal_noise_ratio(ref, out.pixels) >= 40


def test_auto_backend_is_measured_once_and_remembered(tmp_path, monkeypatch):
    from core import methods
    from core.runtime import backends, select

    use_settings(monkeypatch, weights_dir=tmp_path)
    monkeypatch.setattr(backends, "_built", weakref.WeakKeyDictionary())
    spec = methods.get(FAST)
    chosen = select.runner(spec, "auto")
    saved = (tmp_path / "backend_choice.json").read_text()
    assert chosen.name in backends.candidates(spec) and f'"backend": "{chosen.name}"' in saved
    assert '"psnr_vs_fp32_db"' in saved
    assert select.runner(spec, "auto") is chosen


def test_tiled_equals_untiled_on_a_real_image_at_40_db(astronaut, capsys, artifacts):
    lr = cv2.resize(astronaut, (128, 128), interpolation=cv2.INTER_AREA)
    seen = []
    whole = enhance(lr, "RealESRGAN_x4plus", tile=0, backend="torch")
    tiled = enhance(lr, "RealESRGAN_x4plus", tile=64, backend="torch", progress=lambda d, t, m: seen.append((d, t)))
    psnr = peak_signal_noise_ratio(whole.pixels, tiled.pixels)
    Image.fromarray(np.abs(whole.pixels.astype(int) - tiled.pixels).astype(np.uint8) * 10).save(
        artifacts / "tiled_vs_untiled_diff_x10.png")
    assert psnr >= 40, f"tiled vs untiled {psnr:.1f} dB"
    assert tiled.stats.tiles == 4 and seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert capsys.readouterr().out == ""  # no per-tile printing


def test_rgba_keeps_alpha(astronaut_lr):
    alpha = np.zeros((128, 128), np.uint8)
    alpha[32:96, 32:96] = 255
    out = enhance(np.dstack([astronaut_lr, alpha]), FAST).pixels
    assert out.shape == (512, 512, 4)
    assert out[..., 3][200:300, 200:300].min() == 255 and out[..., 3][:100, :100].max() == 0
    rgb_only = enhance(astronaut_lr, FAST).pixels
    assert peak_signal_noise_ratio(rgb_only, out[..., :3]) > 60  # colour is not disturbed by alpha


def test_grayscale_stays_grayscale(astronaut_lr):
    gray = cv2.cvtColor(astronaut_lr, cv2.COLOR_RGB2GRAY)
    out = enhance(gray, FAST).pixels
    assert out.shape == (512, 512) and out.dtype == np.uint8
    ref = cv2.cvtColor(enhance(np.dstack([gray] * 3), FAST).pixels, cv2.COLOR_RGB2GRAY)
    assert np.abs(out.astype(int) - ref).max() <= 1


def test_sixteen_bit_stays_sixteen_bit_and_keeps_precision(astronaut_lr, tmp_path):
    deep = astronaut_lr.astype(np.uint16) * 257 + 100  # values that are not multiples of 257
    ok, png = cv2.imencode(".png", cv2.cvtColor(deep, cv2.COLOR_RGB2BGR))
    loaded = load_image(png.tobytes(), "deep.png")
    assert loaded.pixels.dtype == np.uint16 and np.array_equal(loaded.pixels, deep)
    out = enhance(loaded, FAST).pixels
    assert out.dtype == np.uint16 and out.shape == (512, 512, 3)
    assert len(np.unique(out[..., 0] % 257)) > 100  # real 16-bit values, not 8-bit ones scaled up
    ref8 = enhance(astronaut_lr, FAST).pixels
    assert peak_signal_noise_ratio(ref8, (out // 257).astype(np.uint8)) > 40


def test_very_dark_16_bit_is_not_mistaken_for_8_bit(astronaut_lr):
    dark = astronaut_lr.astype(np.uint16)  # max 255: RealESRGANer's `max > 256` test would call this 8-bit
    out = enhance(dark, FAST).pixels
    assert out.dtype == np.uint16 and out.max() < 1024  # read as 8-bit, it would come out ~257× brighter


def test_exif_rotated_jpeg_is_upright(astronaut_lr):
    im = Image.fromarray(astronaut_lr[:, :96])  # 96 wide × 128 high
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90° clockwise to display
    buf = io.BytesIO()
    im.transpose(Image.Transpose.ROTATE_90).save(buf, "JPEG", exif=exif.tobytes(), quality=95)
    loaded = load_image(buf.getvalue(), "rotated.jpg")
    assert (loaded.width, loaded.height) == (96, 128) and "EXIF orientation applied" in loaded.notes
    assert peak_signal_noise_ratio(astronaut_lr[:, :96], loaded.pixels) > 30
    assert enhance(loaded, FAST).pixels.shape == (512, 384, 3)


def test_cancel_from_progress_stops_the_job(astronaut_lr):
    class Cancelled(Exception):
        pass

    def cancel(done, total, msg):
        raise Cancelled

    with pytest.raises(Cancelled):
        enhance(astronaut_lr, FAST, tile=64, progress=cancel)


def test_output_limit_says_which_limit_and_what_to_do(monkeypatch):

    use_settings(monkeypatch, max_output_pixels=1_000_000)
    img = np.zeros((300, 400, 3), np.uint8)
    with pytest.raises(EnhanceError, match=r"1600×1200 = 2 megapixels, over the output limit of 1 MP: "
                                           r"choose a scale of at most ×2.75"):
        enhance(img, "bicubic", outscale=4)
    assert enhance(img, "bicubic", outscale=2.75).pixels.shape == (825, 1100, 3)


def test_a_network_pass_over_the_limit_is_resized_tile_by_tile_when_the_output_fits(monkeypatch):
    # the limit counts what is held: the output. A ×4 pass larger than it is resized to the output tile by tile
    # (tests/test_big_photo.py: equal to the whole pass resized), so ×2 runs; ×4 itself is over the limit.
    use_settings(monkeypatch, max_output_pixels=100_000)
    img = np.zeros((100, 120, 3), np.uint8)  # ×4 pass: 480×400 = 192,000 pixels
    result = enhance(img, FAST, outscale=2, tile=48)
    assert result.pixels.shape == (200, 240, 3) and result.stats.tiles == 9
    assert result.stats.resize == "×0.5 Lanczos resize (480×400 → 240×200), tile by tile"
    with pytest.raises(EnhanceError, match=r"output would be 480×400 = .* over the output limit .*: "
                                           r"choose a scale of at most ×2.75 "):
        enhance(img, FAST, outscale=4)


def test_alpha_through_the_network_has_a_sharper_edge_than_bilinear(astronaut):
    # an RGBA illustration: a photo cut out by a star-shaped mask with hard edges, drawn at 4× and shrunk
    truth = np.zeros((384, 384), np.uint8)
    angles = np.linspace(0, 2 * np.pi, 11)[:-1]
    radii = np.where(np.arange(10) % 2, 80, 170)
    star = np.stack([192 + radii * np.cos(angles), 192 + radii * np.sin(angles)], 1).astype(np.int32)
    cv2.fillPoly(truth, [star], 255)
    rgba = np.dstack([astronaut[64:448, 64:448], truth])
    small = cv2.resize(rgba, (96, 96), interpolation=cv2.INTER_AREA)
    resized = enhance(small, FAST, outscale=4).pixels[..., 3].astype(np.float32)
    through = enhance(small, FAST, outscale=4, alpha="network")
    assert "alpha channel run through the method" in " ".join(through.stats.notes)
    sharp = through.pixels[..., 3].astype(np.float32)

    def edge_width(a):  # pixels in transition between transparent and opaque: fewer is sharper
        return int(((a > 25) & (a < 230)).sum())

    assert edge_width(sharp) < 0.8 * edge_width(resized)
    assert np.abs(sharp - truth).mean() < np.abs(resized - truth).mean()  # and closer to the full-size mask
