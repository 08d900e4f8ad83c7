"""Output files: format and quality, 16 bits kept, ICC/DPI/EXIF carried over, how it was made written in; fit
to a width × height."""
import io
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from core.io.imageio import ImageError, Metadata, encode_png, load_image
from core.io.output import OutputOptions, encode
from core.pipeline.engine import EnhanceError, enhance
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def camera_jpeg(astronaut) -> bytes:
    """A photo as a camera writes it: sRGB profile, 300 dpi, EXIF maker and orientation 6 (rotated)."""
    exif = Image.Exif()
    exif[0x0112], exif[0x010F] = 6, "Canon"
    buf = io.BytesIO()
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(astronaut[:60, :90]).save(buf, "JPEG", quality=95, icc_profile=profile, dpi=(300, 300),
                                              exif=exif.tobytes())
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_metadata_is_carried_and_the_file_says_how_it_was_made(camera_jpeg, fmt):
    image = load_image(camera_jpeg, "camera.jpg")
    assert image.width == 60 and image.metadata.dpi == (300, 300)  # upright after orientation 6
    result = enhance(image, "bicubic", outscale=2)
    data, notes = encode(result.pixels, OutputOptions(fmt, 90), image.metadata, result.stats.summary)
    out = Image.open(io.BytesIO(data))
    out.load()
    assert out.format == {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[fmt] and out.size == (120, 180)
    assert out.info["icc_profile"] == image.metadata.icc_profile
    exif = out.getexif()
    assert exif[0x010F] == "Canon" and exif.get(0x0112, 1) == 1  # orientation reset: pixels already upright
    if fmt == "png":
        assert out.info["Software"] == "SR Lab" and out.info["Description"] == result.stats.summary
        assert out.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    else:
        assert exif[0x0131] == "SR Lab" and exif[0x010E].startswith("bicubic x2")
    if fmt == "jpeg":
        assert out.info["dpi"] == (300, 300)
    assert notes == []


def test_sixteen_bits_stay_sixteen_in_png_and_are_said_when_reduced():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 65536, (24, 32, 3)).astype(np.uint16)
    data, notes = encode(pixels, OutputOptions("png"), Metadata(), "test")
    back = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and np.array_equal(back[..., ::-1], pixels) and notes == []
    assert Image.open(io.BytesIO(data)).info["Software"] == "SR Lab"  # chunks valid to a strict reader
    assert encode(pixels, OutputOptions("png"), Metadata(), "test", png=encode_png(pixels))[0] == data  # a job's PNG
    data, notes = encode(pixels, OutputOptions("png", bit_depth=8), Metadata(), png=encode_png(pixels))
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED).dtype == np.uint8
    assert notes == ["16-bit result written as 8-bit"]
    _, notes = encode(pixels, OutputOptions("jpeg"), Metadata())
    assert notes == ["16-bit result written as 8-bit"]


def test_jpeg_flattens_transparency_and_says_so_webp_keeps_it():
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., 3] = 0
    data, notes = encode(rgba, OutputOptions("jpeg"))
    assert np.asarray(Image.open(io.BytesIO(data))).min() > 240 and "flattened onto white" in notes[0]
    data, _ = encode(rgba, OutputOptions("webp", 100))
    assert Image.open(io.BytesIO(data)).mode == "RGBA"
    with pytest.raises(ImageError, match="choose one of png, jpeg, webp"):
        encode(rgba, OutputOptions("gif"))


def test_fit_keeps_aspect_or_fills_and_crops(astronaut):
    img = astronaut[:100, :150]
    kept = enhance(img, "bicubic", fit=(600, 600))
    assert kept.pixels.shape[:2] == (400, 600) and kept.stats.outscale == 4
    filled = enhance(img, "bicubic", fit=(600, 600), fit_mode="crop")
    assert filled.pixels.shape[:2] == (600, 600) and filled.stats.output_size == (600, 600)
    assert "then the centre cut" in filled.stats.notes[-1]
    full = enhance(img, "bicubic", outscale=6).pixels  # the same pass, then the centre 600 of 900 columns
    assert np.array_equal(filled.pixels, full[:, 150:750])
    with pytest.raises(EnhanceError, match="to fit 50×50"):
        enhance(img, "bicubic", fit=(50, 50))


def test_cli_writes_the_chosen_format_and_size(tmp_path, camera_jpeg):
    src = tmp_path / "camera.jpg"
    src.write_bytes(camera_jpeg)
    proc = subprocess.run([sys.executable, "-m", "core", "enhance", src, "-o", tmp_path / "out", "--method",
                           "bicubic", "--fit", "200x200", "--fit-mode", "crop", "--format", "jpeg", "--quality",
                           "80", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out" / "camera_bicubic_200x200.jpg"
    assert Image.open(out).size == (200, 200) and Image.open(out).getexif()[0x010F] == "Canon"
    proc = subprocess.run([sys.executable, "-m", "core", "enhance", src, "-o", tmp_path / "out", "--fit", "big"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "write WIDTHxHEIGHT" in proc.stderr


@pytest.mark.parametrize("mode", ["mean/std", "low band"])
def test_colour_fix_removes_a_known_shift(astronaut, mode):
    from core.pipeline.colour import colour_fix
    from core.quality.metrics import psnr

    lr = astronaut[::4, ::4].astype(np.float32) / 255
    truth = astronaut.astype(np.float32) / 255
    shifted = np.clip(truth * [1.0, 0.85, 1.0] + [0.08, 0.0, -0.05], 0, 1).astype(np.float32)  # a GAN-like tint
    fixed = colour_fix(shifted, lr, mode)
    assert np.abs(fixed.mean(axis=(0, 1)) - truth.mean(axis=(0, 1))).max() < 0.01
    assert psnr(fixed, truth) > psnr(shifted, truth) + 5


def test_colour_fix_through_the_engine_is_said(astronaut_lr):
    plain = enhance(astronaut_lr, "realesr-animevideov3", outscale=4)
    fixed = enhance(astronaut_lr, "realesr-animevideov3", outscale=4, colour_fix="mean/std")
    src_mean = astronaut_lr.reshape(-1, 3).mean(axis=0)
    assert np.abs(fixed.pixels.reshape(-1, 3).mean(axis=0) - src_mean).max() < 1.0  # 0–255 units
    assert not np.array_equal(fixed.pixels, plain.pixels)
    assert "colour fix (mean/std)" in fixed.stats.notes[-1]
    with pytest.raises(EnhanceError, match="choose one of off, mean/std, low band"):
        enhance(astronaut_lr, "bicubic", colour_fix="sepia")
