"""What belongs to a session stays its own: a user model is seen only by the session that loaded it and goes
with it; a job survives the page's reruns; a network nobody measured is measured inside the job, with progress
and Cancel; `python -m core prepare` measures the default networks before class."""
import gc
import io
import json
import os
import re
import subprocess
import sys
import time
import weakref

import cv2
import pytest
from streamlit.testing.v1 import AppTest

from core.pipeline import engine
from core.pipeline.engine import Request
from core.serve.jobs import JobService, State, service
from tests.conftest import ROOT, click, settle, use_settings


def _model_file() -> bytes:
    import torch
    from realesrgan.archs.srvgg_arch import SRVGGNetCompact

    torch.manual_seed(3)
    buf = io.BytesIO()
    torch.save(SRVGGNetCompact(3, 3, num_feat=8, num_conv=2, upscale=2).state_dict(), buf)
    return buf.getvalue()


def _app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
    at.run()
    return at.switch_page("pages/enhance.py").run()


def _pickers(at: AppTest) -> dict[str, list[str]]:
    """Every method picker a user sees: Enhance, Baselines (each group), Metrics, Batch."""
    seen = {"enhance": list(at.selectbox(key="enh_method").options)}
    at.switch_page("pages/baselines.py").run()
    seen["baselines"] = [o for m in at.multiselect for o in m.options]
    at.switch_page("pages/metrics.py").run()
    seen["metrics"] = list(at.multiselect(key="met_methods").options)
    at.switch_page("pages/batch.py").run()
    seen["batch"] = list(at.selectbox(key="batch_method").options)
    at.switch_page("pages/enhance.py").run()
    return seen


def test_a_user_model_is_seen_only_by_its_session_and_goes_with_it():
    a, b = _app(), _app()
    a.file_uploader(key="enh_user_model").upload("mine.pth", _model_file(), "application/octet-stream").run()
    name = a.selectbox(key="enh_method").value
    assert name.startswith("user:mine-")
    mine, theirs = _pickers(a), _pickers(b)
    assert all(name in options for options in mine.values()), mine
    assert not any(name in options for options in theirs.values()), theirs
    click(a, "enh_preview")  # it runs, in A
    assert any(f"Result: {name}" in s.value for s in a.subheader)
    spec = weakref.ref(a.session_state["user_models"][name])
    del a
    gc.collect()
    assert spec() is None  # nothing else holds it: not a registry, not a runner cache, not a finished job


def test_a_session_holds_at_most_three_models_and_can_remove_one():
    import torch
    from realesrgan.archs.srvgg_arch import SRVGGNetCompact

    at = _app()
    for i in range(4):
        torch.manual_seed(i)
        buf = io.BytesIO()
        torch.save(SRVGGNetCompact(3, 3, num_feat=4, num_conv=1, upscale=2).state_dict(), buf)
        at.file_uploader(key="enh_user_model").upload(f"m{i}.pth", buf.getvalue(), "application/octet-stream").run()
    assert len(at.session_state["user_models"]) == 3
    assert any("holds 3 models already" in e.value for e in at.error)
    first = next(iter(at.session_state["user_models"]))
    at.button(key=f"enh_remove_{first}").click().run()
    assert first not in at.session_state["user_models"] and not at.exception


def test_a_job_outlives_the_page_runs_that_follow_it():
    at = _app()
    at.selectbox(key="sample_w").set_value("coffee_300").run()
    at.selectbox(key="enh_method").set_value("realesr-animevideov3").run()
    at.button(key="enh_full").click().run()
    job = service().get(at.session_state["enh_job"])
    assert job is not None and not job.state.finished or job.state is State.DONE
    at.radio(key="enh_colour_fix").set_value("mean/std").run()  # another control moves
    at.switch_page("pages/how_it_works.py").run()
    at.switch_page("pages/metrics.py").run()
    at.switch_page("pages/enhance.py").run()
    assert service().wait(job, 300) and job.state is State.DONE  # not cancelled by any of those runs
    settle(at)
    assert any("Result: realesr-animevideov3 on the full image" in s.value for s in at.subheader)
    assert any("other settings" in i.value for i in at.info)  # the colour fix moved after it started


def test_an_unmeasured_network_is_measured_inside_its_job_with_progress_and_cancel(tmp_path, monkeypatch, astronaut):
    use_settings(monkeypatch, weights_dir=tmp_path)  # nothing measured here yet (weights convert on the way)
    svc = JobService(slots=1)
    lr = cv2.resize(astronaut, (96, 96), interpolation=cv2.INTER_AREA)
    seen = []

    def work(ctx):
        def measuring(fraction):
            seen.append(fraction)
            ctx.step(fraction, "measuring")
        return engine.prepare(lr, Request.make("RealESRGAN_x4plus"), on_step=measuring)

    job = svc.submit(work, label="first use", kind="enhance", owner="a")
    deadline = time.monotonic() + 120
    while not seen and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seen and job.message == "measuring"  # progress while it measures
    pressed = time.perf_counter()
    svc.cancel(job, "a")
    assert svc.wait(job, 10) and time.perf_counter() - pressed < 2.0 and job.state is State.CANCELLED
    assert not (tmp_path / "backend_choice.json").exists()  # a cancelled measurement is not saved


@pytest.mark.slow
def test_prepare_measures_the_default_networks_before_class(tmp_path):
    env = {**os.environ, "SRLAB_WEIGHTS_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "core", "prepare"], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "measuring the backends of 3 network(s)" in proc.stdout and "measured in" in proc.stdout
    saved = json.loads((tmp_path / "backend_choice.json").read_text())
    assert {"RealESRGAN_x4plus", "realesr-animevideov3", "SPAN_x4"} <= set(saved["models"])
    for name in ("RealESRGAN_x4plus", "realesr-animevideov3", "SPAN_x4"):  # (a busy machine's note may follow)
        assert any(re.match(rf"  {name}: .+ \(\d+\.\d s\)", ln) for ln in proc.stdout.splitlines()), proc.stdout


def test_what_a_session_holds_is_bounded_with_a_message(monkeypatch, astronaut):
    from core.io.imageio import encode_png

    use_settings(monkeypatch, session_mb=1)
    at = _app()
    at.radio(key="source_w").set_value("Upload").run()
    at.file_uploader(key="upload").upload("big.png", encode_png(astronaut), "image/png").run()  # 786 kB decoded
    assert not at.exception and any("SRLAB_SESSION_MB" in e.value for e in at.error)
    assert at.session_state["image"].name != "big.png"  # the previous image is still the one chosen


def test_the_job_describes_its_result_so_drawing_it_measures_nothing(monkeypatch):
    """The no-reference measures of a result are made by its job (on the worker), not by the page run that
    first draws it; the table shows those values."""
    import numpy as np

    from core.quality import metrics
    from ui import jobs as ui_jobs

    at = _app()
    at.selectbox(key="sample_w").set_value("astronaut").run()
    at.selectbox(key="enh_method").set_value("realesr-animevideov3").run()
    click(at, "enh_preview")
    request = at.session_state["enh_last"]
    result, _ = ui_jobs.cached(request)
    made = ui_jobs.descriptions().get(request)
    assert made is not None and made[1] == metrics.indicators(result.pixels)
    x, y, w, h = request.crop
    assert made[0] == metrics.indicators(at.session_state["image"].pixels[y:y + h, x:x + w])
    calls = []
    monkeypatch.setattr("ui.result_view.indicators", lambda p: calls.append(p.shape) or {})
    at.session_state["enh_measured"] = {}
    at.run()
    assert not calls and not at.exception  # read, not measured again
    niqe = next(m for m in metrics.NO_REFERENCE if m.name in made[1])
    table = next(t for t in at.table if "measure" in t.value.columns)
    assert niqe.format(made[1][niqe.name]) in table.value.to_numpy().ravel().tolist()
    assert np.isfinite(made[1][niqe.name])


def test_the_slider_images_are_encoded_once_by_the_page_that_first_draws_them(monkeypatch):
    """The job computes and encodes its result (the download's PNG), nothing for display; the page run that
    first draws the result encodes the slider's images, cached by the result, so a page run that draws them
    again encodes nothing: the slider's frame points at those bytes, served as Streamlit media files."""
    import sys
    import threading

    import numpy as np
    from streamlit.runtime.media_file_manager import MediaFileManager

    from core.io import imageio
    from ui import jobs as ui_jobs
    from ui import slider

    served = {}  # media URL -> the bytes the page run gave Streamlit to serve
    real_add = MediaFileManager.add

    def add(self, data, mimetype, coordinates, *args, **kwargs):
        url = real_add(self, data, mimetype, coordinates, *args, **kwargs)
        served[url] = data
        return url

    monkeypatch.setattr(MediaFileManager, "add", add)

    at = _app()
    at.selectbox(key="sample_w").set_value("coffee").run()
    at.selectbox(key="enh_method").set_value("realesr-animevideov3").run()
    where = []  # the threads that encode a PNG
    real_encode = imageio.encode_png

    def for_st_image() -> bool:  # thumbnails and zoom windows (png_of): small, once per content, in page runs
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_name != "png_of":
            frame = frame.f_back
        return frame is not None

    def counted(*args, **kwargs):
        if not for_st_image():
            where.append(threading.current_thread().name)
        return real_encode(*args, **kwargs)

    for module in ("core.io.imageio", "core.io.output", "ui.slider", "core.serve.tasks.enhance"):
        monkeypatch.setattr(f"{module}.encode_png", counted)
    click(at, "enh_full")  # the job runs, then the page draws its result
    result, _ = ui_jobs.cached(at.session_state["enh_last"])
    in_job = [name for name in where if name.startswith("srlab-job")]
    assert len(in_job) == 1 and len(where) == 3, where  # the job: its result's PNG; the page: the slider's two
    at.run()
    assert len(where) == 3, where  # drawn again: nothing encoded again
    at.selectbox(key="enh_ab_b").set_value("bicubic (OpenCV)").run()  # another pair on the slider
    assert not at.exception and len(where) == 4, where  # only the image not shown before
    page = at.get("iframe")[0].proto.srcdoc
    assert "data:image" not in page and len(page) < 10_000  # the frame names its images; it does not hold them
    shown = [np.frombuffer(served[src.split('"', 1)[0]], np.uint8) for src in page.split('<img id="')[1:]
             for src in [src.split('src="', 1)[1]]]
    after, before = (cv2.imdecode(b, cv2.IMREAD_UNCHANGED)[..., ::-1] for b in shown)  # B is drawn first
    src, size = at.session_state["image"].pixels, result.pixels.shape[1::-1]
    assert np.array_equal(after, slider.to_display(cv2.resize(src, size, interpolation=cv2.INTER_CUBIC),
                                                   slider.DISPLAY_MAX))  # B: bicubic, by value
    assert np.array_equal(before, slider.to_display(cv2.resize(src, size, interpolation=cv2.INTER_NEAREST),
                                                    slider.DISPLAY_MAX))  # A: the input, nearest-neighbour


def test_what_a_slider_shows_is_kept_only_while_its_image_lives():
    """The display copy and PNG of a result are kept per array object (a rerun only looks up its id),
    and go when the array does: a result already small enough is its own display copy, which must not keep
    itself alive (it did: every such result stayed in the server for good)."""
    import gc
    import weakref

    import numpy as np

    from ui import slider

    small = np.random.default_rng(0).integers(0, 256, (60, 80, 3), np.uint8)
    large = np.random.default_rng(1).integers(0, 256, (slider.DISPLAY_MAX + 8, 40, 3), np.uint8)
    assert slider.shown(small) is small
    copy = slider.shown(large)
    assert copy.shape[0] == slider.DISPLAY_MAX and slider.shown(large) is copy  # made once
    png = slider._png(copy)
    assert slider._png(copy) is png and png[0].startswith(b"\x89PNG")
    gone = [weakref.ref(small), weakref.ref(large), weakref.ref(copy)]
    before = len(slider.shown), len(slider._png)
    del small, large, copy
    gc.collect()
    assert all(ref() is None for ref in gone)
    assert len(slider.shown) == before[0] - 1 and len(slider._png) == before[1] - 1


def test_a_zoom_window_is_cut_once_per_place_and_follows_the_region():
    """The zoom grid's windows are memoised per result array and region: a rerun with the region unchanged cuts
    and encodes nothing, a moved region is cut again, and one array keeps one entry (the region it is at now)."""
    import numpy as np

    from ui import compare, slider

    calls = []
    memo = slider.PerArray(lambda px, *where: calls.append(where) or compare._window_png(px, *where))
    result = np.random.default_rng(2).integers(0, 256, (200, 300, 3), np.uint8)
    first = memo(result, 10, 20, 32, 4)
    assert memo(result, 10, 20, 32, 4) is first and calls == [(10, 20, 32, 4)]
    moved = memo(result, 50, 20, 32, 4)
    assert calls == [(10, 20, 32, 4), (50, 20, 32, 4)] and len(memo) == 1
    shown = cv2.imdecode(np.frombuffer(moved, np.uint8), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert np.array_equal(shown, np.repeat(np.repeat(result[20:52, 50:82], 4, 0), 4, 1))  # squares, by value


def test_the_views_beside_a_result_are_made_once_and_hold_only_what_they_add():
    """The input nearest-neighbour and bicubic at the result's size, by value, made once per request; the result's
    own pixels are the results cache's and are not kept (nor counted) a second time."""
    import cv2
    import numpy as np
    from skimage import data

    from core.methods import METHODS
    from ui import compare

    src = np.ascontiguousarray(data.astronaut()[100:148, 180:240])
    request = Request.make("lanczos", outscale=3, image_key="astronaut-crop")
    result = engine.run(src, request)
    first = compare.beside_input(src, request, result, METHODS.get("lanczos"))
    size = result.pixels.shape[1::-1]
    assert [px.shape for _, px in first] == [result.pixels.shape] * 3 and first[2][1] is result.pixels
    assert np.array_equal(first[0][1], cv2.resize(src, size, interpolation=cv2.INTER_NEAREST))
    assert np.array_equal(first[1][1], cv2.resize(src, size, interpolation=cv2.INTER_CUBIC))
    stored = compare._views().get(request)
    assert [label for label, _ in stored] == [label for label, _ in first[:2]]  # the two it made, not the result
    again = compare.beside_input(src, request, result, METHODS.get("lanczos"))
    assert all(a[1] is b[1] for a, b in zip(first, again))  # the same arrays: a rerun's memos find them
