"""Batch in the app: several images or a zip in, a zip of results with statistics out; bad files reported."""
import csv
import io
import json
import subprocess
import sys
import weakref
import zipfile
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.io import batch
from core.io.budget import SessionBudget, SessionFull
from core.io.imageio import ImageError
from tests.conftest import ROOT, click, use_settings


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
    items = list(batch.open_batch([("a.zip", _zip({"x/photo.png": png, "y/photo.png": png, "notes.txt": b"hi",
                                                   "z/broken.png": b"\x89PNG broken"})), ("photo.png", png)]))
    assert [i.name for i in items] == ["photo.png", "photo_2.png", "broken.png", "photo_3.png"]
    assert items[2].header is None and "broken.png" in items[2].error
    with pytest.raises(ImageError, match="broken.png"):
        items[2].load()
    assert all(i.load().pixels.shape == astronaut_lr.shape for i in (items[0], items[1], items[3]))


def test_an_archive_bomb_is_refused_before_unpacking(monkeypatch):
    zeros = np.zeros((2000, 2000, 3), np.uint8)  # compresses to almost nothing
    archive = _zip({f"{i}.png": _png(zeros) for i in range(3)})
    monkeypatch.setattr(batch, "MAX_UNPACKED_BYTES", 10_000)
    with pytest.raises(ImageError, match="would unpack to over"):
        batch.open_batch([("bomb.zip", archive)])


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
    with batch.ResultsZip() as results:
        results.add("a_x2.png", b"PNG1")
        results.add("b_x2.png", b"PNG2")
        results.finish([{"file": "a.png", "seconds": 0.1, "error": ""}, {"file": "b.png", "seconds": 0.2, "error": ""},
                        {"file": "c.png", "error": "not an image"}])
        archive = results.read()
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        assert sorted(z.namelist()) == ["a_x2.png", "b_x2.png", "statistics.csv"]
        assert z.read("a_x2.png") == b"PNG1"
        rows = list(csv.DictReader(io.StringIO(z.read("statistics.csv").decode())))
    assert [r["file"] for r in rows] == ["a.png", "b.png", "c.png"] and rows[2]["error"] == "not an image"


# --- decoded-pixel budgets: a batch is sized from its headers, then decoded one image at a time ---

PEAK_RSS_BOUND_MB = 400  # interpreter, numpy, OpenCV, Pillow, the engine and one image; 200 × 1 MP held at once
# would be 600 MB of pixels alone (and the 60 × 16 MP archive below took 2.9 GB when decoded all at once)


def _solid_png(width: int, height: int, colour=(200, 30, 90)) -> bytes:
    return _png(np.full((height, width, 3), colour, np.uint8))


def _stored_zip(path, entries) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        for name, data in entries:
            z.writestr(name, data)


def _peak_rss(zip_path, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "tests.batch_peak_rss", str(zip_path), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("copies", [60, batch.MAX_FILES])
def test_an_archive_of_solid_4000px_pngs_is_refused_in_one_line_from_the_headers(tmp_path, copies):
    png = _solid_png(4000, 4000)  # 56 kB each, 48 MB once decoded
    _stored_zip(tmp_path / "solid.zip", [(f"d/{i}.png", png) for i in range(copies)])
    report = _peak_rss(tmp_path / "solid.zip")
    print(f"{copies} × solid 4000×4000 PNG: peak RSS {report['peak_rss_mb']:.0f} MB; {report['refused']}")
    assert report["refused"] == (f"this batch holds {copies * 16:,} megapixels of images once decoded; the limit is "
                                 "300 MP (SRLAB_BATCH_MAX_MEGAPIXELS): split it, or use "
                                 "`python -m core enhance DIR -o OUT`")
    assert report["peak_rss_mb"] < PEAK_RSS_BOUND_MB


def test_a_batch_at_the_file_limit_is_processed_one_image_at_a_time_in_bounded_memory(tmp_path):
    png = _solid_png(1000, 1000, (20, 130, 90))  # 200 MP in all: under the 300 MP of the default budget
    _stored_zip(tmp_path / "many.zip", [(f"d/{i}.png", png) for i in range(batch.MAX_FILES)])
    report = _peak_rss(tmp_path / "many.zip", "--method", "bicubic", "--outscale", "2")
    print(f"{batch.MAX_FILES} × solid 1000×1000 PNG, bicubic ×2: peak RSS {report['peak_rss_mb']:.0f} MB, "
          f"results.zip {report['zip_bytes'] / 1e6:.1f} MB")
    assert report["refused"] == "" and report["members"] == report["done"] == batch.MAX_FILES
    assert report["peak_rss_mb"] < PEAK_RSS_BOUND_MB


def _photos() -> dict[str, bytes]:
    """20 files from scikit-image's real photos: originals and resized or cropped variants, PNG, JPEG and WebP."""
    from skimage import data

    originals = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.hubble_deep_field(),
                 data.retina(), data.immunohistochemistry(), data.camera(), data.moon(), data.coins()]
    files = {}
    for i, pixels in enumerate(originals):
        h, w = pixels.shape[:2]
        variant = (cv2.resize(pixels, (w * 3 // 4, h * 3 // 4), interpolation=cv2.INTER_AREA) if i % 2
                   else pixels[h // 8:h - h // 8, w // 5:])
        for j, (im, fmt) in enumerate([(pixels, "PNG"), (variant, ("JPEG", "WEBP")[i % 2])]):
            buf = io.BytesIO()
            Image.fromarray(im).save(buf, fmt, quality=90)
            files[f"photos/{i:02d}_{j}.{fmt.lower()}"] = buf.getvalue()
    return files


def test_twenty_real_photos_complete_decoded_processed_and_encoded_one_at_a_time(monkeypatch):
    from core.io.imageio import encode_png
    from core.pipeline.engine import Request, run

    photos = _photos()
    live: list[weakref.ref] = []
    decoded = batch.load_image

    def load_one(data, name):  # the image before this one must be gone
        assert all(ref() is None for ref in live), "a decoded image was still held when the next was decoded"
        image = decoded(data, name)
        live.append(weakref.ref(image))
        return image

    monkeypatch.setattr(batch, "load_image", load_one)
    members = batch.open_batch([("photos.zip", _zip(photos))])
    assert len(members) == 20 and not live, "open_batch decodes nothing"
    request, rows = Request.make("bicubic", outscale=2), []
    with batch.ResultsZip() as results:
        for member in members:
            image = member.load()
            result = run(image, request)
            assert result.pixels.shape[:2] == (member.header.height * 2, member.header.width * 2)
            results.add(member.name.rsplit(".", 1)[0] + "_bicubic_x2.png", encode_png(result.pixels))
            rows.append({"file": member.name, "output": f"{result.pixels.shape[1]}x{result.pixels.shape[0]}"})
            image = result = None
        results.finish(rows)
        with zipfile.ZipFile(io.BytesIO(results.read())) as z:
            names = z.namelist()
            assert Image.open(io.BytesIO(z.read(names[0]))).size == (1024, 1024)  # the astronaut ×2
            table = list(csv.DictReader(io.StringIO(z.read("statistics.csv").decode())))
    assert len(live) == 20 and len([n for n in names if n.endswith(".png")]) == 20 and "statistics.csv" in names
    assert [r["file"] for r in table] == [m.name for m in members]


def test_the_default_budget_takes_twenty_12_megapixel_photos():
    from skimage import data

    photo = io.BytesIO()
    Image.fromarray(cv2.resize(data.coffee(), (4000, 3000), interpolation=cv2.INTER_CUBIC)).save(photo, "JPEG")
    members = batch.open_batch([("phone.zip", _zip({f"IMG_{i:04d}.jpg": photo.getvalue() for i in range(20)}))])
    assert len(members) == 20 and members.megapixels == 240 and not any(m.error for m in members)


def test_a_member_over_the_input_limit_is_skipped_and_not_counted(monkeypatch):
    use_settings(monkeypatch, max_input_pixels=1_000_000)
    members = list(batch.open_batch([("a.zip", _zip({"big.png": _solid_png(2000, 1000), "ok.png": _solid_png(8, 8)}))],
                                    max_megapixels=0.001))
    assert members[0].header is None and "over the input limit" in members[0].error and "\n" not in members[0].error
    assert members[1].load().pixels.shape == (8, 8, 3)


def test_results_zip_stops_before_its_byte_bound_and_keeps_what_was_done():
    result = bytes(300_000)
    with batch.ResultsZip(max_bytes=1_000_000) as results:
        for i in range(3):
            results.add(f"{i}.png", result)
        with pytest.raises(batch.ResultsFull) as full:
            results.add("3.png", result)
        message = str(full.value)
        assert "\n" not in message and "3 images done" in message and "1 MB (SRLAB_BATCH_OUTPUT_MB)" in message
        assert "`python -m core enhance DIR -o OUT`, which has no such bound" in message
        results.finish([{"file": f"{i}.png"} for i in range(4)])
        assert results.done == 3 and results.nbytes <= 1_000_000 + 1_000
        with zipfile.ZipFile(io.BytesIO(results.read())) as z:
            assert z.namelist() == ["0.png", "1.png", "2.png", "statistics.csv"] and z.read("2.png") == result
        file = results._file
    assert file.closed  # a TemporaryFile: its data goes with it


def test_session_budget_evicts_the_oldest_evictable_items_first():
    budget = SessionBudget(limit_bytes=100_000_000)
    assert budget.add("image", 30_000_000) == []
    assert budget.add("result 1", 30_000_000, evictable=True) == []
    assert budget.add("result 2", 30_000_000, evictable=True) == []
    assert budget.add("upload", 20_000_000) == ["result 1"]
    assert budget.total == 80_000_000 and "result 1" not in budget and "result 2" in budget
    assert budget.add("image", 10_000_000) == [] and budget.total == 60_000_000  # a name replaces what it held
    budget.remove("upload")
    budget.remove("not held")
    assert budget.total == 40_000_000


def test_session_budget_refuses_in_one_line_and_changes_nothing():
    budget = SessionBudget(limit_bytes=100_000_000)
    budget.add("image photo.png", 50_000_000)
    budget.add("model my.pth", 30_000_000)
    budget.add("result", 10_000_000, evictable=True)
    with pytest.raises(SessionFull) as full:
        budget.add("upload big.zip", 40_000_000)
    assert str(full.value) == ("upload big.zip (40 MB) does not fit: this session holds 90 MB; the limit is 100 MB "
                               "(SRLAB_SESSION_MB): remove image photo.png (50 MB) or model my.pth (30 MB) first")
    assert budget.total == 90_000_000 and "result" in budget
    with pytest.raises(SessionFull, match=r"over the 100 MB one session may hold \(SRLAB_SESSION_MB\)"):
        budget.add("huge", 101_000_000)


def test_session_budget_is_thread_safe():
    budget = SessionBudget(limit_bytes=100_000)

    def churn(worker: int) -> None:
        for i in range(1000):
            budget.add(f"{worker}-{i}", 1000, evictable=True)
            assert budget.total <= 100_000
            if i % 3 == 0:
                budget.remove(f"{worker}-{i}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(churn, range(8)))
    assert budget.total == 1000 * len([1 for w in range(8) for i in range(1000) if f"{w}-{i}" in budget])


def test_batch_names_are_cleaned_failed_rows_say_why_and_the_csv_columns_never_move(astronaut_lr):
    """Issue 41: zip entries kept `<` and `>` (not extractable on Windows) where Enhance's download cleaned them;
    a failed row showed "None"; statistics.csv's columns moved when the first file failed."""
    from ui import jobs

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
    at.run()
    at.switch_page("pages/batch.py").run()
    small = cv2.resize(astronaut_lr, (48, 40), interpolation=cv2.INTER_AREA)
    at.file_uploader(key="batch_files").upload("broken.png", b"nope", "image/png")  # the first one fails
    at.file_uploader(key="batch_files").upload("<img src=x onerror=alert(1)>.png", _png(small), "image/png")
    at.run()
    at.selectbox(key="batch_method").set_value("bicubic").run()
    click(at, "batch_run")
    assert not at.exception
    table = at.dataframe[0].value
    assert not table.isna().any().any()  # no "None" cell
    failed = table[table["file"] == "broken.png"].iloc[0]
    assert not failed["ok"] and failed["error"].startswith("broken.png") and failed["input"] == ""
    zipped, rows = jobs.get(at.session_state["batch_job"]).result
    with zipfile.ZipFile(io.BytesIO(zipped.read())) as z:
        assert sorted(z.namelist()) == ["_img src=x onerror=alert(1)__bicubic_x4.png", "statistics.csv"]
        lines = z.read("statistics.csv").decode().splitlines()
    assert lines[0] == "file,method,scale,input,output,what was done,backend,seconds,error"
    assert lines[1].startswith('broken.png,bicubic,4.0,,,,,,"broken.png: not an image file')
    assert rows[1]["error"] == "" and lines[2].endswith(",")  # done: every column filled but the error
