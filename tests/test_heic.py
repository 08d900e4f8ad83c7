"""HEIC/HEIF, an iPhone's default photo format (issue 48): read through pillow-heif on the one decode path
(core/io/imageio), upright as a JPEG with the same EXIF orientation, sized from its header before decoding, and
taken by the CLI, Batch and the app's uploaders. The files are made here, tiny."""
import io
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from PIL import Image

from core.io.imageio import IMAGE_SUFFIXES, ImageError, load_image, read_header
from tests.conftest import ROOT

RED, BLUE = (255, 0, 0), (0, 0, 255)


def sideways() -> np.ndarray:
    """40 wide, 20 high: red on the left, blue on the right. Turned 90° clockwise (EXIF orientation 6) it stands
    20 wide, 40 high: red on top, blue below."""
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20], arr[:, 20:] = RED, BLUE
    return arr


def encoded(fmt: str, orientation: int = 6) -> bytes:
    """The sideways picture with an EXIF orientation: a JPEG, or a HEIC as an iPhone writes one (the pixels as
    the sensor saw them, the turn in the file's own `irot` and in its EXIF). pillow-heif writes it without its
    Pillow opener: registered here, it would hide whether core/io/imageio registers it."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.from_bytes("RGB", (40, 20), sideways().tobytes()).save(buf, quality=95, exif=exif.tobytes())
    else:
        Image.fromarray(sideways()).save(buf, format=fmt, exif=exif.tobytes(), quality=95)
    return buf.getvalue()


def assert_upright(pixels: np.ndarray, scale: int = 1) -> None:
    assert pixels.shape == (40 * scale, 20 * scale, 3)
    top, bottom = pixels[: 16 * scale].reshape(-1, 3).mean(0), pixels[-16 * scale:].reshape(-1, 3).mean(0)
    assert np.abs(top - RED).max() < 12 and np.abs(bottom - BLUE).max() < 12, (top, bottom)


def test_heic_is_read_upright_as_a_jpeg_with_the_same_orientation():
    heic, jpeg = encoded("HEIF"), encoded("JPEG")
    assert heic[4:12] == b"ftypheic"
    image = load_image(heic, "IMG_0001.heic")
    assert image.format == "HEIF" and image.describe() == "20×40 RGB 8-bit"
    assert_upright(image.pixels)
    as_jpeg = load_image(jpeg, "same.jpg")
    assert_upright(as_jpeg.pixels)
    assert image.notes == as_jpeg.notes == ["EXIF orientation applied"]
    exif = Image.Exif()
    exif.load(image.metadata.exif)
    assert exif.get(0x0112) == 1  # what an output carries: upright already, so nothing turns it again
    header = read_header(heic, "IMG_0001.heic")
    assert (header.width, header.height, header.format) == (20, 40, "HEIF")
    assert {".heic", ".heif"} <= set(IMAGE_SUFFIXES)


def test_an_oversized_heic_is_refused_from_its_header():
    heic = encoded("HEIF")
    for read in (read_header, load_image):
        with pytest.raises(ImageError, match="over the input limit"):
            read(heic, "big.heic", max_pixels=799)


def test_the_cli_and_batch_take_heic(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "IMG_0001.HEIC").write_bytes(encoded("HEIF"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "core", "enhance", "in", "-o", "out", "--method", "bicubic",
                           "--outscale", "2"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert_upright(load_image((tmp_path / "out" / "IMG_0001_bicubic_x2.png").read_bytes()).pixels, scale=2)

    from core.io.batch import open_batch

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("phone/IMG_0002.heic", encoded("HEIF"))
    members = list(open_batch([("photos.zip", archive.getvalue()), ("IMG_0003.heif", encoded("HEIF"))]))
    assert [m.name for m in members] == ["IMG_0002.heic", "IMG_0003.heif"] and not any(m.error for m in members)
    assert_upright(members[0].load().pixels)


def test_an_uploaded_heic_is_shown_on_the_enhance_page():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
    at.run()
    at.switch_page("pages/enhance.py").run()
    at.radio(key="source_w").set_value("Upload").run()
    at.file_uploader(key="upload").upload("x.heic", encoded("HEIF"), "image/heif").run()
    assert not at.exception and not at.error
    shown = [img.caption for el in at.sidebar.get("image") for img in el.proto.imgs]
    assert shown == ["x.heic: 20×40 RGB 8-bit"], shown  # the sidebar's picture of the chosen image
