"""Metrics against scikit-image on known arrays, identity, LPIPS regression, degradation, bench CLI."""
import csv
import math
import subprocess
import sys

import cv2
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from core.io.imageio import read_image_file
from core.quality.degrade import Degradation, make_pair
from core.quality.metrics import METRICS, SizeMismatch, error_maps, indicators, prepare, score, to_float, y_channel
from tests.conftest import ROOT, shared_path


@pytest.fixture(scope="module")
def pair(astronaut):
    ref = astronaut[:128, :128]
    noisy = np.clip(ref.astype(int) + np.random.default_rng(1).normal(0, 8, ref.shape), 0, 255).astype(np.uint8)
    return noisy, ref


def test_psnr_is_standard_db_and_matches_scikit_image(pair):
    out, ref = pair
    values, notes = score(out, ref)
    expected = peak_signal_noise_ratio(ref, out, data_range=255)
    assert values["psnr_db"] == pytest.approx(expected, abs=1e-4)
    mse = np.mean((out.astype(np.float64) - ref) ** 2) / 255 ** 2
    assert values["psnr_db"] == pytest.approx(10 * math.log10(1 / mse), abs=1e-4)  # log10, not ln
    assert values["mse"] == pytest.approx(mse, rel=1e-5)
    assert notes == ["RGB"]


def test_ssim_matches_scikit_image_gaussian_window(pair):
    out, ref = pair
    values, _ = score(out, ref)
    expected = structural_similarity(ref, out, channel_axis=2, data_range=255, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False)
    assert values["ssim"] == pytest.approx(expected, abs=1e-4)


def test_y_channel_and_border_crop_follow_basicsr(pair):
    out, ref = pair
    values, notes = score(out, ref, y_only=True, crop_border=4)
    y = lambda a: (a.astype(np.float64) @ [65.481, 128.553, 24.966] / 255 + 16)[4:-4, 4:-4]  # noqa: E731
    assert values["psnr_db"] == pytest.approx(peak_signal_noise_ratio(y(ref), y(out), data_range=255), abs=1e-3)
    assert notes == ["Y channel (BT.601, 16–235)", "border crop 4 px", "LPIPS on RGB"]


def test_identical_images_give_infinity_one_and_zero(astronaut):
    values, _ = score(astronaut, astronaut)
    assert values["psnr_db"] == math.inf and values["ssim"] == pytest.approx(1.0)
    assert values["lpips"] == pytest.approx(0.0, abs=1e-6) and values["mse"] == 0


def test_lpips_reproduces_the_published_example():
    ref = read_image_file(shared_path("lpips", "ex_ref.png")).pixels
    p0 = read_image_file(shared_path("lpips", "ex_p0.png")).pixels
    p1 = read_image_file(shared_path("lpips", "ex_p1.png")).pixels
    lp = METRICS.get("lpips").fn
    assert lp(to_float(p0), to_float(ref)) == pytest.approx(0.722, abs=0.001)
    assert lp(to_float(p1), to_float(ref)) == pytest.approx(0.138, abs=0.001)


def test_size_mismatch_is_cropped_and_said_or_refused(astronaut):
    out, ref = astronaut[:100, :120], astronaut[:104, :120]
    values, notes = score(out, ref)
    assert values["psnr_db"] == math.inf and "both cropped to the top-left 120×100" in notes[0]
    with pytest.raises(SizeMismatch, match="refuse"):
        score(out, ref, size_policy="refuse")


def test_metrics_say_which_way_is_better():
    assert [(m.name, m.arrow) for m in METRICS if m.full_reference and m.default] == [
        ("psnr_db", "↑"), ("ssim", "↑"), ("lpips", "↓"), ("mse", "↓")]
    assert [(m.name, m.arrow) for m in METRICS if m.full_reference and not m.default] == [
        ("lpips_vgg", "↓"), ("ms_ssim", "↑"), ("vif", "↑"), ("gmsd", "↓"), ("fsim", "↑")]


def test_maps_and_no_reference_indicators(pair):
    out, ref = pair
    err, smap = error_maps(out, ref)
    assert err.shape == smap.shape == (128, 128) and 0 < err.mean() < 0.1 and smap.mean() < 1
    clean, noisy = indicators(ref), indicators(out)
    assert noisy["noise_sigma"] > clean["noise_sigma"] + 3 and noisy["sharpness"] > clean["sharpness"]
    blurred = indicators(cv2.GaussianBlur(ref, (0, 0), 2))
    assert blurred["sharpness"] < clean["sharpness"] / 2


def test_gray_against_rgb_is_compared_as_gray_and_said(astronaut):
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    values, notes = score(gray, astronaut)
    assert values["psnr_db"] > 40 and "gray" in notes[0]
    assert prepare(gray, astronaut, y_only=True).output.shape[2] == 1
    assert np.allclose(y_channel(to_float(gray))[..., 0].min() * 255, 16, atol=1)


def test_degradation_is_seeded_and_shaped(astronaut):
    d = Degradation(scale=4, blur_sigma=1.0, noise_sigma=10, jpeg_quality=60, seed=3)
    a, b = make_pair(astronaut[:130, :129], d), make_pair(astronaut[:130, :129], d)
    assert np.array_equal(a.lr, b.lr) and a.lr.shape == (32, 32, 3) and a.hr.shape == (128, 128, 3)
    assert not np.array_equal(a.lr, make_pair(astronaut[:130, :129], Degradation(4, noise_sigma=10, seed=4)).lr)
    assert a.pipeline() == ("clean 129×130 → crop to 128×128 (a multiple of 4) → Gaussian blur σ 1 → bicubic "
                            "downscale ÷4 → Gaussian noise σ 10 (seed 3) → JPEG quality 60 → input 32×32")


def test_bicubic_downscale_matches_the_set5_lr_convention():
    hr = read_image_file(shared_path("Set5", "HR", "baby.png")).pixels
    given = read_image_file(shared_path("Set5", "LR_bicubic", "X4", "babyx4.png")).pixels
    ours = make_pair(hr, Degradation(scale=4)).lr
    assert peak_signal_noise_ratio(given, ours) > 40  # MATLAB imresize vs Pillow: same kernel and antialiasing


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_bench_cli_on_a_generated_folder(tmp_path, astronaut):
    hr = tmp_path / "hr"
    hr.mkdir()
    for i, (y, x) in enumerate([(0, 0), (200, 150), (300, 300)]):
        cv2.imwrite(str(hr / f"img{i}.png"), cv2.cvtColor(astronaut[y:y + 96, x:x + 96], cv2.COLOR_RGB2BGR))
    summary, per_image = tmp_path / "s.csv", tmp_path / "p.csv"
    proc = run_cli("bench", "--hr", hr, "--scale", "4", "--methods", "nearest,bicubic,realesr-animevideov3",
                   "--y-channel", "--noise", "5", "--csv", summary, "--per-image-csv", per_image)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(open(summary)))
    assert list(rows[0]) == ["method", "psnr_db", "ssim", "lpips", "mse", "images"]
    assert [r["method"] for r in rows] == ["nearest", "bicubic", "realesr-animevideov3"]
    assert all(r["images"] == "3" for r in rows)
    per = list(csv.DictReader(open(per_image)))
    assert len(per) == 9
    nearest = [float(r["psnr_db"]) for r in per if r["method"] == "nearest"]
    assert float(rows[0]["psnr_db"]) == pytest.approx(sum(nearest) / 3, abs=1e-3)
    # and the CLI's number is the library's: recompute one image by hand
    lr = make_pair(cv2.cvtColor(cv2.imread(str(hr / "img0.png")), cv2.COLOR_BGR2RGB),
                   Degradation(scale=4, noise_sigma=5)).lr
    up = cv2.resize(lr, (96, 96), interpolation=cv2.INTER_NEAREST)
    ref = cv2.cvtColor(cv2.imread(str(hr / "img0.png")), cv2.COLOR_BGR2RGB)
    y = lambda a: (a.astype(np.float64) @ [65.481, 128.553, 24.966] / 255 + 16)[4:-4, 4:-4]  # noqa: E731
    assert nearest[0] == pytest.approx(peak_signal_noise_ratio(y(ref), y(up), data_range=255), abs=1e-3)


def test_bench_cli_pairs_given_lr_by_name(tmp_path, astronaut):
    hr, lr = tmp_path / "HR", tmp_path / "LR"
    hr.mkdir(), lr.mkdir()
    cv2.imwrite(str(hr / "face.png"), astronaut[:64, :64])
    cv2.imwrite(str(lr / "facex2.png"), cv2.resize(astronaut[:64, :64], (32, 32), interpolation=cv2.INTER_AREA))
    proc = run_cli("bench", "--hr", hr, "--lr", lr, "--scale", "2", "--methods", "bicubic", "-q")
    assert proc.returncode == 0, proc.stderr
    assert "border crop 2 px" in proc.stdout and "bicubic" in proc.stdout
    (lr / "facex2.png").unlink()
    proc = run_cli("bench", "--hr", hr, "--lr", lr, "--scale", "2", "--methods", "bicubic", "-q")
    assert proc.returncode == 2 and "no LR image for face.png" in proc.stderr and "Traceback" not in proc.stderr
