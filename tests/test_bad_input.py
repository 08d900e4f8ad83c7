"""Every awkward file through the one validation path: decoded right, or one clear message — in the loader,
the CLI and the app."""
import subprocess
import sys

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.io.imageio import ImageError, load_image, read_header
from core.io.output import result_names
from core.pipeline.engine import enhance
from tests.badfiles import build
from tests.conftest import ROOT, click

FILES = build()


@pytest.mark.parametrize("name", list(FILES))
def test_loader(name):
    data, expect = FILES[name]
    if expect[0] == "error":
        with pytest.raises(ImageError, match=expect[1]) as err:
            load_image(data, name)
        assert name in str(err.value) and "\n" not in str(err.value)
        return
    img = load_image(data, name)
    w, h, c, depth = expect[1]
    assert (img.width, img.height, img.channels, img.bit_depth) == (w, h, c, depth)
    if expect[2]:
        assert any(expect[2] in n for n in img.notes), img.notes
    out = enhance(img, "bicubic", outscale=2).pixels
    assert out.shape[:2] == (h * 2, w * 2) and out.dtype == img.pixels.dtype


@pytest.mark.parametrize("name", list(FILES))
def test_the_header_agrees_with_decoding(name):
    """What a batch is sized by (read_header) refuses what load_image refuses, and counts the pixels it decodes."""
    data, _ = FILES[name]
    try:
        header = read_header(data, name)
    except ImageError as exc:
        assert name in str(exc) and "\n" not in str(exc)
        with pytest.raises(ImageError):
            load_image(data, name)
        return
    try:
        image = load_image(data, name)
    except ImageError:
        return  # a good header on damaged pixels: reported when the member is decoded
    assert (header.pixels, header.bit_depth) == (image.width * image.height, image.bit_depth)


def test_exif_rotation_and_16_bit_values_are_right():
    img = load_image(*[FILES["exif_rotated.jpg"][0], "r.jpg"])
    assert img.pixels[0, -1, 0] > 200 and img.pixels[-1, 0, 0] < 60  # x gradient upright: red grows rightwards
    g16 = load_image(FILES["gray16.png"][0], "g.png").pixels
    assert g16.dtype == np.uint16 and int(g16[0, 1]) == 4 * 257 + 7


def test_tiny_and_thin_images_run_through_the_network():
    for name in ("1x1.png", "8x8.png", "1x5000.png"):
        img = load_image(FILES[name][0], name)
        out = enhance(img, "realesr-animevideov3").pixels
        assert out.shape[:2] == (img.height * 4, img.width * 4)


def test_cli_handles_every_file(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name, (data, _) in FILES.items():
        (src / name).write_bytes(data)
    proc = subprocess.run([sys.executable, "-m", "core", "enhance", str(src), "-o", str(tmp_path / "out"),
                           "--method", "bicubic", "--outscale", "2"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    bad = {n for n, (_, e) in FILES.items() if e[0] == "error"}
    err_lines = proc.stderr.strip().splitlines()
    assert len(err_lines) == len(bad)
    for name in bad:
        assert any(line.startswith(f"error: {name}:") and FILES[name][1][1] in line for line in err_lines), name
    written = {p.name for p in (tmp_path / "out").iterdir()}  # animated.gif and animated.webp: one output each
    assert written == set(result_names([n for n in FILES if n not in bad], "bicubic", "x2", ".png"))


@pytest.mark.parametrize("name", list(FILES))
def test_app_upload(name):
    data, expect = FILES[name]
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
    at.run().switch_page("pages/enhance.py").run()
    at.radio(key="source_w").set_value("Upload").run()
    at.file_uploader(key="upload").upload(name, data, "application/octet-stream").run()
    assert not at.exception
    errors = [e.value for e in at.error]
    if expect[0] == "error":
        assert len(errors) == 1 and expect[1] in errors[0]
        return
    assert not errors
    at.selectbox(key="enh_method").set_value("realesr-animevideov3").run()
    click(at, "enh_full")
    assert not at.exception and not [e.value for e in at.error]
    w, h = expect[1][:2]
    assert any(f"{w * 4} × {h * 4}" in v for v in at.table[0].value.iloc[:, 1])
