"""The Video page through Streamlit's AppTest: after a run, the frame slider with the A/B slider (the results, the
reference, the input) and the zoom; an uploaded clip with a reference made on the spot by degrading it; a
cancelled run keeps what it finished and resumes."""
from fractions import Fraction

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, click


def _video_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
    at.run()
    at.switch_page("pages/video.py").run()
    assert not at.exception
    return at


def _ab_options(at) -> list[str]:
    return list(at.selectbox(key="video_ab_a").options)


def test_after_a_run_a_frame_slider_drives_the_ab_slider_and_the_zoom():
    at = _video_page()
    at.slider(key="video_frames").set_value(4).run()
    at.multiselect(key="video_methods").set_value(["bicubic", "nearest"]).run()
    click(at, "video_run")
    assert not at.exception and not at.error
    assert at.slider(key="video_frame").max == 3
    assert _ab_options(at) == ["bicubic", "nearest", "reference", "input ×4"]
    assert at.selectbox(key="video_ab_b").value == "nearest"
    at.slider(key="video_frame").set_value(3).run()
    at.selectbox(key="video_ab_b").set_value("reference").run()
    assert not at.exception
    said = ("Frame 3 (of 0–3). bicubic: classical ×4 per frame; nearest: classical ×4 per frame; reference: the "
            "truth; input ×4: the input frame nearest-neighbour")
    assert any(c.value.startswith(said) for c in at.caption)
    assert any(c.value.startswith("Zoom:") for c in at.caption)
    assert len(at.get("iframe")) == 1  # the A/B slider


def test_an_uploaded_clip_made_into_the_truth_is_degraded_and_scored_against_it(tmp_path):
    from core.io.video import Writer, open_clip
    from core.video import builtin

    path = tmp_path / "pan.mp4"
    writer = Writer(path, Fraction(1, 24), Fraction(24))
    for f in builtin.reference(3).frames():  # 384×256: the truth
        writer.write(f.pixels, f.pts)
    writer.close()
    assert open_clip(path).info.frames == 3
    at = _video_page()
    at.radio(key="video_source").set_value("Upload").run()
    at.file_uploader(key="video_upload").upload("pan.mp4", path.read_bytes(), "video/mp4").run()
    at.radio(key="video_ref").set_value("Make one: this clip is the truth, degraded frame by frame").run()
    at.number_input(key="video_deg_noise").set_value(5.0).run()
    at.multiselect(key="video_methods").set_value(["bicubic"]).run()
    assert any("made it 4× smaller and added grain (noise)" in c.value for c in at.caption)  # plain words
    assert any("bicubic downscale ÷4 → Gaussian noise σ 5" in m.value for m in at.markdown)  # the recipe, in Details
    click(at, "video_run")
    assert not at.exception and not at.error
    assert "reference" in _ab_options(at)
    summary = at.dataframe[0].value
    assert 20 < float(summary.iloc[0, 0]) < 40  # PSNR (dB) of bicubic against the truth, as the page writes it
    assert any("Reference: pan.mp4 (the truth, 384×256)" in c.value for c in at.caption)


def test_a_cancelled_run_keeps_the_methods_it_finished_and_resume_runs_only_the_rest():
    import time

    from core.serve.jobs import State, service
    from core.video.job import finished
    from tests.conftest import settle

    at = _video_page()
    at.slider(key="video_frames").set_value(4).run()
    at.multiselect(key="video_methods").set_value(["bicubic", "RealESRGAN_x4plus"]).run()
    at.button(key="video_run").click().run()
    job = service().get(at.session_state["video_job"])
    clip_job, folder, *_ = at.session_state["video_last"]
    deadline = time.monotonic() + 240
    while finished(clip_job, folder) != ["bicubic"]:  # the first method done, the network on its way
        assert time.monotonic() < deadline and not job.state.finished
        time.sleep(0.1)
    at.run()
    at.button(key="cancel_video").click().run()
    at = settle(at)
    assert job.state is State.CANCELLED
    assert any("Finished and kept: bicubic; Resume runs only the rest." in w.value for w in at.warning)
    at.button(key="video_resume").click().run()
    at = settle(at)
    resumed = service().get(at.session_state["video_job"])
    assert resumed.id != job.id and resumed.state is State.DONE and not at.exception
    assert any("(a run before Resume)" in c.value and c.value.startswith("bicubic") for c in at.caption)
    assert not any("(a run before Resume)" in c.value and "RealESRGAN" in c.value for c in at.caption)
    assert not folder.exists()  # done: nothing left to resume
