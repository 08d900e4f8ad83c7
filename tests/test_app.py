"""The app's main flows through Streamlit's AppTest (no browser: tests/test_browser.py renders it for real)."""
import io

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, click

FAST = "realesr-animevideov3"


def new_app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
    at.run()
    assert not at.exception
    return at.switch_page("pages/enhance.py").run()  # the tests start on Enhance; the app on Start


def errors(at):
    return [e.value for e in at.error]


def test_enhance_sample_preview_then_full_image():
    at = new_app()
    at.selectbox(key="sample_w").set_value("cat").run()
    at.selectbox(key="enh_method").set_value(FAST).run()
    click(at, "enh_preview")
    assert not at.exception and not errors(at)
    assert any("Result: realesr-animevideov3 on the crop 128×100" in s.value for s in at.subheader)
    click(at, "enh_full")
    assert not at.exception and not errors(at)
    assert any("on the full image" in s.value for s in at.subheader)
    iframes = at.get("iframe")
    assert len(iframes) == 1 and "sr-slider" in iframes[0].proto.srcdoc
    table = at.table[0].value
    stats = dict(zip(table.iloc[:, 0], table.iloc[:, 1]))
    assert stats["output size"].startswith("600 × 400") and stats["pixel ratio"].startswith("×16.00")
    download = at.get("download_button")
    assert len(download) == 1 and "150×100" not in download[0].proto.label
    assert "600×400" in download[0].proto.label


def test_a_broken_upload_gives_one_clear_message_and_keeps_the_image():
    at = new_app()
    at.radio(key="source_w").set_value("Upload").run()
    at.file_uploader(key="upload").upload("broken.png", b"\x89PNG\r\n\x1a\nnot really", "image/png").run()
    assert not at.exception
    assert len(errors(at)) == 1 and "could not be used" in errors(at)[0] and "broken.png" in errors(at)[0]


def test_an_uploaded_rgba_png_is_enhanced_and_keeps_alpha():
    at = new_app()
    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[10:30, 10:50, 3] = 255
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    at.radio(key="source_w").set_value("Upload").run()
    at.file_uploader(key="upload").upload("shape.png", buf.getvalue(), "image/png").run()
    at.selectbox(key="enh_method").set_value(FAST).run()
    click(at, "enh_full")
    assert not at.exception and not errors(at)
    assert any("240 × 160" in v for v in at.table[0].value.iloc[:, 1])


@pytest.mark.parametrize("page", ["pages/start.py", "pages/baselines.py", "pages/metrics.py", "pages/which_model.py",
                                  "pages/train.py", "pages/batch.py", "pages/how_it_works.py", "pages/video.py"])
def test_other_pages_render_with_the_chosen_image(page):
    at = new_app()
    at.switch_page(page).run()
    assert not at.exception


def test_baselines_grid_with_network_result_reused_from_enhance():
    at = new_app()
    click(at, "enh_full")  # RealESRGAN_x4plus, ×4, on the astronaut sample
    enhance_time = dict(zip(at.table[0].value.iloc[:, 0], at.table[0].value.iloc[:, 1]))["elapsed"]
    at.switch_page("pages/baselines.py").run()
    groups = {p: at.multiselect(key=f"base_methods_{p}").value for p in
              ("interpolation", "denoise", "enhance", "super-resolution")}
    assert groups == {"interpolation": ["nearest", "bicubic"], "denoise": ["bilateral", "wavelet"], "enhance": [],
                      "super-resolution": ["RealESRGAN_x4plus"]}
    click(at, "base_run")
    assert not at.exception and not errors(at)
    assert any("5 results at ×4 (512×512)" in s.value for s in at.subheader)
    captions = [c.value for c in at.caption]
    for name in ("nearest", "bicubic", "bilateral", "wavelet", "RealESRGAN_x4plus"):  # plain: what it does
        assert any(c.startswith(f"**{name}** ({at_kind}): ") for c in captions
                   for at_kind in ("interpolation", "restoration filter", "network")), name
    said = "\n".join(m.value for e in at.expander if e.label == "Details" for m in e.markdown)  # what ran, exactly
    expect = ["**nearest** did: nearest ×4, cv2.resize INTER_NEAREST",
              "**bicubic** did: bicubic ×4, cv2.resize INTER_CUBIC",
              "**bilateral** did: bilateral (d=9, σcolor=25, σspace=5), then bicubic ×4",
              "**wavelet** did: wavelet (db1, soft, BayesShrink, σ=auto), then bicubic ×4",
              "**RealESRGAN_x4plus** did: RealESRGAN_x4plus network ×4."]
    for text in expect:
        assert text in said, text
    network_caption = next(c for c in captions if c.startswith("**RealESRGAN_x4plus**"))
    assert enhance_time.removesuffix(" s") in network_caption  # the same result, not a second run
    assert len(at.get("download_button")) == 5


def test_metrics_one_click_demo_scores_seven_methods_against_the_truth():
    at = new_app()
    at.switch_page("pages/metrics.py").run()
    click(at, "met_demo")
    assert not at.exception and not errors(at)
    assert any("→ Gaussian noise σ 10 (seed 0) → JPEG quality 60 → input 128×128" in m.value for m in at.markdown)
    df = at.dataframe[0].value
    assert list(df.index) == ["nearest", "bicubic", "bilateral", "wavelet", "SPAN_x4", "realesr-animevideov3",
                              "RealESRGAN_x4plus"]
    assert list(df.columns[:4]) == ["PSNR (dB) ↑", "SSIM ↑", "LPIPS ↓", "MSE ↓"]
    # the perception–distortion trade-off, on real weights: the GAN loses PSNR to bicubic, wins LPIPS
    assert df.loc["RealESRGAN_x4plus", "LPIPS ↓"] < df.loc["bicubic", "LPIPS ↓"]
    assert df.loc["RealESRGAN_x4plus", "PSNR (dB) ↑"] < df.loc["bicubic", "PSNR (dB) ↑"]
    assert any("Y channel (BT.601, 16–235); border crop 4 px" in m.value for m in at.markdown)  # under Details
    assert len(at.get("download_button")) == 2  # the CSV and the HTML handout


def test_metrics_without_reference_shows_indicators_and_says_why():
    at = new_app()
    at.switch_page("pages/metrics.py").run()
    at.radio(key="met_mode").set_value("No reference").run()
    at.multiselect(key="met_methods").set_value(["nearest", "bicubic"]).run()
    click(at, "met_run")
    assert not at.exception
    assert any("PSNR, SSIM, LPIPS and the other full-reference scores need the true high-resolution image" in
               w.value for w in at.warning)
    df = at.dataframe[0].value
    assert list(df.index) == ["(input)", "nearest", "bicubic"] and "Noise σ ↓" in df.columns
    assert "PSNR (dB) ↑" not in df.columns


def test_metrics_with_an_uploaded_reference_of_another_size_says_it_cropped(astronaut):
    at = new_app()  # the astronaut sample: 128×128, from the 512×512 original
    at.switch_page("pages/metrics.py").run()
    at.radio(key="met_mode").set_value("Upload a reference").run()
    buf = io.BytesIO()
    Image.fromarray(np.vstack([astronaut, astronaut[:2]])).save(buf, "PNG")  # 2 rows taller than 4× input
    at.file_uploader(key="met_ref").upload("reference.png", buf.getvalue(), "image/png").run()
    at.multiselect(key="met_methods").set_value(["bicubic"]).run()
    click(at, "met_run")
    assert not at.exception and not errors(at)
    assert any("both cropped to the top-left 512×512" in m.value for m in at.markdown)  # under Details
    at.radio(key="met_policy").set_value("refuse").run()
    click(at, "met_run")
    assert any("not scored (size policy: refuse)" in e for e in errors(at))


def test_a_rejected_reference_changes_nothing_else_and_its_error_clears(astronaut):
    at = new_app()
    at.switch_page("pages/metrics.py").run()
    at.radio(key="met_mode").set_value("Upload a reference").run()
    methods_before, y_before = at.multiselect(key="met_methods").value, at.toggle(key="met_y").value
    at.file_uploader(key="met_ref").upload("bad.png", b"not an image", "image/png").run()
    assert not at.exception and any("could not be used" in e for e in errors(at))
    assert at.multiselect(key="met_methods").value == methods_before and at.toggle(key="met_y").value == y_before
    buf = io.BytesIO()
    Image.fromarray(astronaut).save(buf, "PNG")
    at.file_uploader(key="met_ref").upload("good.png", buf.getvalue(), "image/png").run()
    assert not errors(at)
    at.multiselect(key="met_methods").set_value(["bicubic"]).run()
    click(at, "met_run")
    assert at.dataframe[0].value.index.tolist() == ["bicubic"] and not errors(at)
    at.toggle(key="met_y").set_value(not y_before).run()
    assert any("made with other settings" in i.value for i in at.info)  # the table no longer matches


def test_page_controls_survive_a_round_trip_through_the_other_pages():
    at = new_app()
    at.selectbox(key="enh_method").set_value(FAST).run()
    at.radio(key="enh_scale").set_value("×2").run()
    at.switch_page("pages/metrics.py").run()
    at.slider(key="met_noise").set_value(5.0).run()
    at.switch_page("pages/baselines.py").run()
    at.switch_page("pages/enhance.py").run()
    assert at.selectbox(key="enh_method").value == FAST and at.radio(key="enh_scale").value == "×2"
    at.switch_page("pages/metrics.py").run()
    assert at.slider(key="met_noise").value == 5.0


def test_enhance_fit_to_size_and_a_jpeg_download():
    at = new_app()
    at.selectbox(key="sample_w").set_value("cat").run()  # 150×100
    at.selectbox(key="enh_method").set_value(FAST).run()
    at.radio(key="enh_scale").set_value("fit to size").run()
    at.number_input(key="enh_scale_fit_w").set_value(400).run()
    at.number_input(key="enh_scale_fit_h").set_value(400).run()
    at.radio(key="enh_scale_fit_mode").set_value("crop").run()
    click(at, "enh_full")
    assert not at.exception and not errors(at)
    stats = dict(zip(at.table[0].value.iloc[:, 0], at.table[0].value.iloc[:, 1]))
    assert stats["output size"].startswith("400 × 400")
    assert any("fit to 400×400: scaled ×4 to fill it (600×400), then the centre cut" in c.value for c in at.caption)
    at.radio(key="enh_format").set_value("jpeg").run()
    assert not at.exception
    label = at.get("download_button")[0].proto.label
    assert label.startswith("Download full-size JPEG (400×400")
    assert any("No-reference measures" in e.proto.label for e in at.expander)


def test_fetch_face_weights_without_network_is_one_clear_error(monkeypatch, tmp_path):
    from tests.conftest import use_settings

    use_settings(monkeypatch, weights_dir=tmp_path)
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")  # nothing listens: like a machine offline
    at = new_app()
    assert at.toggle(key="enh_face").disabled
    click(at, "enh_fetch")
    assert not at.exception
    assert len(errors(at)) == 1 and "cannot reach github.com" in errors(at)[0]
    at.selectbox(key="enh_method").set_value(FAST).run()  # the page keeps answering
    assert not at.exception and at.toggle(key="enh_face").disabled


def test_a_users_own_model_is_detected_chosen_and_run():
    import torch
    from realesrgan.archs.srvgg_arch import SRVGGNetCompact

    torch.manual_seed(1)
    buf = io.BytesIO()
    torch.save(SRVGGNetCompact(3, 3, num_feat=8, num_conv=2, upscale=2).state_dict(), buf)
    at = new_app()
    at.file_uploader(key="enh_user_model").upload("class_model.pth", buf.getvalue(), "application/octet-stream").run()
    assert not at.exception and not errors(at)
    assert at.selectbox(key="enh_method").value.startswith("user:class_model-")
    assert any("RealESRGAN Compact, ×2" in s.value for s in at.success)
    at.radio(key="enh_scale").set_value("×2").run()
    click(at, "enh_preview")
    assert not at.exception and not errors(at)
    assert any("Result: user:class_model-" in s.value for s in at.subheader)
    at.file_uploader(key="enh_user_model").upload("junk.pth", b"junk", "application/octet-stream").run()
    assert len(errors(at)) == 1 and "not a torch.save file" in errors(at)[0]


def test_the_server_does_not_collect_garbage_after_every_rerun():
    """Streamlit's default gc.collect(2) after each script run held the GIL ~1 s with torch loaded, and the
    progress fragments rerun twice a second: a job in the app ran 12× slower than on the CLI
    (bench/app_vs_cli.py measures the ratio)."""
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
    assert config["server"]["fileWatcherType"] == "none"  # no polling of every imported module's file


def test_every_picture_goes_to_the_browser_as_lossless_png(monkeypatch):
    """st.image's default format sends an RGB picture as JPEG (quality 90 for bytes, 4:2:0 chroma): the zoom
    grid's square pixels and nearest-neighbour's hard edges would reach the browser ringing. Every picture on
    Enhance (a result with its zoom grid, the crop thumbnail, the sidebar's) and on Metrics goes as PNG, and
    decodes to exactly the pixels drawn."""
    import cv2
    from streamlit.runtime.media_file_manager import MediaFileManager

    from core.io.samples import SAMPLES
    from ui.slider import to_display

    sent = []
    real_add = MediaFileManager.add

    def add(self, data, mimetype, coordinates, *args, **kwargs):
        if mimetype.startswith("image/"):
            sent.append((mimetype, data))
        return real_add(self, data, mimetype, coordinates, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add", add)
    at = new_app()
    at.selectbox(key="sample_w").set_value("cat").run()
    at.selectbox(key="enh_method").set_value(FAST).run()
    click(at, "enh_full")
    assert not at.exception and any("on the full image" in s.value for s in at.subheader)
    at.switch_page("pages/metrics.py").run()
    assert not at.exception and len(at.get("image")) >= 3
    assert sent and {m for m, _ in sent} == {"image/png"}, {m for m, _ in sent}
    decoded = [cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)[..., ::-1] for _, data in sent]
    sidebar = to_display(SAMPLES["cat"].image().pixels, 256)
    assert any(d.shape == sidebar.shape and np.array_equal(d, sidebar) for d in decoded)


def test_a_model_file_that_would_run_code_is_refused_in_one_line_with_no_advice_to_load_it_unsafely():
    """Issue 41: the refusal repeated PyTorch's hint that loading with weights_only=False "will likely succeed"."""
    import pickle

    class RunsCode:
        def __reduce__(self):
            return (print, ("this would run",))

    at = new_app()
    at.file_uploader(key="enh_user_model").upload("evil.pth", pickle.dumps({"x": RunsCode()}),
                                                  "application/octet-stream").run()
    assert not at.exception
    assert errors(at) == ["evil.pth was refused: it holds code that loading would run, not only weights. Use a "
                          ".safetensors file or a .pth of plain weights."]


def test_a_refused_sidebar_upload_is_said_once_in_the_sidebar_not_atop_every_page():
    """Issue 41: the error topped every page (and on Batch stood beside the page's own red box)."""
    at = new_app()
    at.radio(key="source_w").set_value("Upload").run()
    at.file_uploader(key="upload").upload("broken.png", b"\x89PNG\r\n\x1a\nnot really", "image/png").run()
    for page in ("pages/enhance.py", "pages/batch.py", "pages/metrics.py"):
        at.switch_page(page).run()
        assert not at.exception
        said = [e.value for e in at.sidebar.error]
        assert len(said) == 1 and said[0].startswith("That file could not be used: ") and "broken.png" in said[0]
        assert not [e.value for e in at.main.error], page


def test_the_words_say_what_runs(monkeypatch):
    """Issue 41's wording faults, each by value: Train's caption and the preset its data; a trained or uploaded
    model's caption; the sweep's job label in the control's words; the handout's trade-off caption its own."""
    import io as _io

    import torch
    from realesrgan.archs.srvgg_arch import SRVGGNetCompact

    from core.quality import report
    from core.quality.metrics import METRICS
    from core.train.presets import PRESETS
    from ui import jobs as ui_jobs

    at = new_app()
    at.switch_page("pages/train.py").run()
    captions = [c.value for c in at.caption]
    assert not any("blur → downscale → noise → JPEG" in c for c in captions)
    assert any(c.endswith("Its inputs: each clean photo after we made it 4× smaller.") for c in captions)  # the
    # scratch preset's pairs, in plain words; the exact recipe under Details
    assert any("bicubic downscale ÷4" in m.value for e in at.expander if e.label == "Details" for m in e.markdown)
    assert all("this image" not in p.title for p in PRESETS.values())  # they train on the built-in photos first

    torch.manual_seed(1)
    buf = _io.BytesIO()
    torch.save(SRVGGNetCompact(3, 3, num_feat=8, num_conv=2, upscale=2).state_dict(), buf)
    at.switch_page("pages/enhance.py").run()
    at.file_uploader(key="enh_user_model").upload("mine.pth", buf.getvalue(), "application/octet-stream").run()
    caption = next(c.value for c in at.caption if c.value.startswith("Your model mine.pth"))
    assert caption.endswith("Family: user model (RealESRGAN Compact); licence: its maker's.")

    labels = []
    monkeypatch.setattr(ui_jobs, "submit", lambda task: labels.append(task.label))
    ui_jobs.submit_sweep(np.zeros((8, 8, 3), np.uint8), ["bicubic"], "noise_sigma", None, ["psnr_db"], False, 4)
    assert labels == ["Sweep over Gaussian noise σ"]

    metrics = [METRICS.get("psnr_db"), METRICS.get("lpips")]
    rows = [("bicubic", "classical", {"psnr_db": 24.0, "lpips": 0.4}), ("net", "network", {"psnr_db": 23.0,
                                                                                           "lpips": 0.2})]
    captions = [c for _, c in report.metric_charts(metrics, rows, 12, "each measure, best on top")]
    assert captions == ["each measure, best on top"] * 2 + [report.TRADEOFF_CAPTION]
    assert report.TRADEOFF_CAPTION.startswith("perception–distortion: PSNR")


def test_metrics_warns_that_an_uploaded_photo_taken_as_the_truth_should_be_clean(astronaut):
    """Issue 40: an old photo was taken as "clean … It becomes the reference" with no caution."""
    at = new_app()
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(astronaut[:96, :96])).save(buf, "PNG")
    at.radio(key="source_w").set_value("Upload").run()
    at.file_uploader(key="upload").upload("old_photo.png", buf.getvalue(), "image/png").run()
    at.switch_page("pages/metrics.py").run()
    assert not at.exception
    assert any("old_photo.png is taken as the truth" in w.value and "poor truth" in w.value for w in at.warning)
    at.radio(key="source_w").set_value("Sample").run()
    assert not any("taken as the truth" in w.value for w in at.warning)  # a sample's clean original: no caution


def test_start_names_every_page_and_its_lesson_writes_each_measure_one_way(monkeypatch):
    """Issue 40: "Then:" left out Which model? and Batch; step 2's table wrote PSNR 25.5457 where Metrics writes
    25.53; step 3 showed 8 of 10 networks with no word on the others, no rank, no score, and a lowercase fragment."""
    from core.quality.metrics import METRICS
    from tests.conftest import settle
    from ui import lesson

    # step 3 with a 15-s budget: the same words, ranks and "did not fit" (the browser test runs the page's 60 s)
    monkeypatch.setitem(lesson.COMPARE, "budget_s", 15)

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
    at.run()
    then = next(m.value for m in at.markdown if m.value.startswith("Then:"))
    for title in ("Enhance", "Baselines", "Metrics", "Which model?", "What the network looks at", "Train", "Batch",
                  "Video", "How it works"):
        assert f"**{title}**" in then, title
    at.button(key="lesson_measure").click().run()
    at.button(key="lesson_compare").click().run()
    settle(at, 600)
    settle(at, 600)
    assert not at.exception
    table = at.dataframe[0].value
    for name in ("psnr_db", "ssim", "lpips"):
        column = table[METRICS.get(name).heading]
        assert all(isinstance(v, str) and v == METRICS.get(name).format(float(v)) for v in column), column
    summary = next(m.value for m in at.markdown if "×4 networks ran" in m.value)
    ran = int(summary.split("**")[1].split()[0])
    from core.methods import select

    total = len(select(network=True, scale=4))  # the catalogue's ×4 networks (10 before DAT-light)
    assert summary.startswith(f"**{ran} of the {total} ×4 networks ran**")
    assert "best first by how natural each looks (lower NIQE is better)" in summary
    captions = [c for i in at.image for c in i.captions if c[:1].isdigit()]
    # every rank once (AppTest lists a grid's images column by column, so their order is the layout's)
    assert len(captions) == ran and sorted(int(c.split(".")[0]) for c in captions) == list(range(1, ran + 1))
    assert all("NIQE " in c for c in captions)
    if ran < total:
        assert "did not fit and did not run: " in summary
    assert any(c.value.startswith("Ranked for this image, at this scale, on this computer.") for c in at.caption)
