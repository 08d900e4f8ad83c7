"""Batch in the app: several images or a zip in, a zip of results with statistics out; bad files reported."""
import csv
import io
import zipfile

import cv2
import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.io import batch
from core.io.imageio import ImageError
from tests.conftest import ROOT, click


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_zips_are_expanded_names_made_unique_and_bad_files_reported(astronaut_lr):
    png = _png(astronaut_lr)
    items = batch.read_batch([("a.zip", _zip({"x/photo.png": png, "y/photo.png": png, "notes.txt": b"hi",
                                              "z/broken.png": b"\x89PNG broken"})), ("photo.png", png)])
    assert [i.name for i in items] == ["photo.png", "photo_2.png", "broken.png", "photo_3.png"]
    assert items[2].image is None and "broken.png" in items[2].error
    assert all(i.image is not None for i in (items[0], items[1], items[3]))


def test_an_archive_bomb_is_refused_before_unpacking(monkeypatch):
    zeros = np.zeros((2000, 2000, 3), np.uint8)  # compresses to almost nothing
    archive = _zip({f"{i}.png": _png(zeros) for i in range(3)})
    monkeypatch.setattr(batch, "MAX_UNPACKED_BYTES", 10_000)
    with pytest.raises(ImageError, match="would unpack to over"):
        batch.read_batch([("bomb.zip", archive)])


def test_the_batch_page_returns_a_zip_with_statistics(astronaut_lr):
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
    at.run()
    at.switch_page("pages/batch.py").run()
    small = cv2.resize(astronaut_lr, (48, 40), interpolation=cv2.INTER_AREA)
    at.file_uploader(key="batch_files").upload("one.png", _png(small), "image/png")
    at.file_uploader(key="batch_files").upload("two.zip", _zip({"two.png": _png(small[:, :30]),
                                                                "bad.png": b"nope"}), "application/zip")
    at.run()
    at.selectbox(key="batch_method").set_value("bicubic").run()
    click(at, "batch_run")
    assert not at.exception
    assert any("2 of 3 images done" in s.value for s in at.subheader)
    assert any("bad.png" in e.value for e in at.error)
    data = at.get("download_button")[0].proto
    assert "results.zip" in data.label


def test_results_zip_holds_the_images_and_one_csv_row_per_input():
    archive = batch.results_zip([("a_x2.png", b"PNG1"), ("b_x2.png", b"PNG2")],
                                [{"file": "a.png", "seconds": 0.1, "error": ""},
                                 {"file": "b.png", "seconds": 0.2, "error": ""},
                                 {"file": "c.png", "error": "not an image"}])
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        assert sorted(z.namelist()) == ["a_x2.png", "b_x2.png", "statistics.csv"]
        assert z.read("a_x2.png") == b"PNG1"
        rows = list(csv.DictReader(io.StringIO(z.read("statistics.csv").decode())))
    assert [r["file"] for r in rows] == ["a.png", "b.png", "c.png"] and rows[2]["error"] == "not an image"
