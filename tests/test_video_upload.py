"""The Video page up front, through Streamlit's AppTest (no browser): an uploaded clip is probed when it arrives
(duration, frames, size, codec) and its run estimated beside Run from this machine's measurements; a corrupt clip,
one over a SRLAB_VIDEO_* bound, or a request over the output limit is refused in one line at once and queues no
job; the job's label names the clip."""
import os
from fractions import Fraction

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, settle, use_settings


@pytest.fixture(scope="module")
def pan_mp4(tmp_path_factory) -> bytes:
    """The built-in pan's 12 frames (96×64) as an H.264 MP4 at 24 fps: 0.5 s."""
    from core.io.video import Writer
    from core.video import builtin

    path = tmp_path_factory.mktemp("clip") / "pan.mp4"
    writer = Writer(path, Fraction(1, 24), Fraction(24))
    for f in builtin.clip(12).frames():
        writer.write(f.pixels, f.pts)
    writer.close()
    return path.read_bytes()


def _upload(name: str, data: bytes, methods: list[str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/video.py").run()
    at.radio(key="video_source").set_value("Upload").run()
    at.multiselect(key="video_methods").set_value(methods).run()
    at.file_uploader(key="video_upload").upload(name, data, "video/mp4").run()
    assert not at.exception
    return at


def _video_jobs(at) -> list:
    from core.serve.jobs import service

    return [j for j in service().jobs_of(at.session_state["owner"]) if j.kind == "video"]


def _texts(at) -> list[str]:
    return [e.value for e in [*at.caption, *at.markdown, *at.info]]


def _refused_in_one_line(at, *words: str) -> None:
    """One error line naming `words`, Run disabled, no job queued."""
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "\n" not in errors[0] and all(w in errors[0] for w in words), errors
    assert at.button(key="video_run").disabled and not _video_jobs(at)


@pytest.fixture
def calibrated(monkeypatch):
    """This machine's calibration of RealESRGAN_x4plus, as `python -m core prepare` leaves it: 100 s per input
    megapixel on every backend (so a 96×64 frame is about 0.61 s), measured on a quiet machine."""
    from core.methods import METHODS
    from core.runtime import backends, calibrate

    spec = METHODS.get("RealESRGAN_x4plus")
    measured = {n: {"seconds": {"64": 0.41}, "probe_s": 0.41, "seconds_per_mpx": 100.0, "contender": True,
                    "psnr_vs_fp32_db": 99.0} for n in backends.candidates(spec)}
    record = {"backend": next(iter(measured)), "sha256": spec.sha256, "measured": measured, "why": "test"}
    monkeypatch.setitem(calibrate._records, (calibrate.choice_file(), spec.name), record)


def test_a_corrupt_mp4_is_refused_in_one_line_under_the_uploader_and_queues_no_job():
    at = _upload("clip.mp4", os.urandom(20_000), ["bicubic"])
    _refused_in_one_line(at, "clip.mp4", "not a clip")


def test_a_clip_over_a_video_bound_is_refused_at_upload_with_the_bound_named(monkeypatch, pan_mp4):
    use_settings(monkeypatch, video_max_frames=5)
    at = _upload("pan.mp4", pan_mp4, ["bicubic"])
    _refused_in_one_line(at, "pan.mp4", "12 frames", "SRLAB_VIDEO_MAX_FRAMES")


def test_a_request_over_the_output_limit_is_refused_at_run_in_one_line(monkeypatch, pan_mp4):
    use_settings(monkeypatch, max_output_pixels=50_000)  # 96×64 ×4 = 384×256 = 98,304 pixels a frame
    at = _upload("pan.mp4", pan_mp4, ["bicubic"])
    assert not at.error
    at.button(key="video_run").click().run()
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "\n" not in errors[0] and "SRLAB_MAX_OUTPUT_PIXELS" in errors[0], errors
    assert "bicubic" in errors[0] and not _video_jobs(at)


def test_an_uploaded_clip_shows_duration_frames_size_codec_and_the_estimate(calibrated, pan_mp4):
    at = _upload("pan.mp4", pan_mp4, ["RealESRGAN_x4plus", "BasicVSR_REDS4"])
    assert not at.error
    shown = _texts(at)
    assert any("0.5 s, 12 frames, 96×64, H.264" in t for t in shown), shown
    estimate = [t for t in shown if "RealESRGAN_x4plus about 7 s (0.61 s a frame" in t]  # 12 × 0.61 s
    assert estimate and "12 frames of 96×64" in estimate[0] and "quiet machine" in estimate[0], shown
    assert "Not measured yet: BasicVSR_REDS4" in estimate[0]


def test_the_job_names_the_clip_and_expects_the_estimate(calibrated, pan_mp4):
    from core.serve.jobs import service

    at = _upload("pan.mp4", pan_mp4, ["RealESRGAN_x4plus"])
    at.button(key="video_run").click().run()
    job = service().get(at.session_state["video_job"])
    try:
        assert job.label == "Video: pan.mp4 · RealESRGAN_x4plus"
        assert job.expected_s == pytest.approx(12 * 100.0 * 96 * 64 / 1e6, rel=0.05)
    finally:
        service().cancel(job)
        settle(at)
