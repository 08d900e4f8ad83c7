"""`python -m core` as a user runs it: real process, real files."""
import subprocess
import sys

import cv2
import numpy as np
from PIL import Image

from tests.conftest import ROOT


def run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def test_batch_with_a_bad_file_reports_one_line_and_goes_on(tmp_path, astronaut_lr):
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "a.png"), cv2.cvtColor(astronaut_lr, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(src / "b.jpg"), cv2.cvtColor(astronaut_lr[:64, :80], cv2.COLOR_RGB2BGR))
    (src / "broken.png").write_bytes(b"this is not a png")
    out = tmp_path / "out"
    proc = run_cli("enhance", src, "-o", out, "--method", "realesr-animevideov3", "--outscale", "3.5")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "broken.png" in errors[0]
    assert Image.open(out / "a_realesr-animevideov3_x3.5.png").size == (448, 448)
    assert Image.open(out / "b_realesr-animevideov3_x3.5.png").size == (280, 224)
    summary = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert len(summary) == 2 and "network ×4, then ×0.875 Lanczos" in summary[0]


def test_all_good_exits_zero_and_x8_is_network_plus_resize(tmp_path, astronaut_lr):
    path = tmp_path / "small.png"
    cv2.imwrite(str(path), cv2.cvtColor(astronaut_lr[:40, :50], cv2.COLOR_RGB2BGR))
    proc = run_cli("enhance", path, "-o", tmp_path / "o", "--method", "realesr-animevideov3", "--outscale", "8")
    assert proc.returncode == 0, proc.stderr
    assert "network ×4, then ×2 Lanczos" in proc.stdout
    assert Image.open(tmp_path / "o" / "small_realesr-animevideov3_x8.png").size == (400, 320)


def test_unknown_method_and_missing_face_weights_are_one_line_errors(tmp_path, astronaut_lr):
    path = tmp_path / "x.png"
    cv2.imwrite(str(path), np.zeros((16, 16, 3), np.uint8))
    proc = run_cli("enhance", path, "-o", tmp_path, "--method", "nope")
    assert proc.returncode == 2 and "unknown method 'nope'" in proc.stderr and "RealESRGAN_x4plus" in proc.stderr


def test_methods_lists_every_method_with_availability():
    proc = run_cli("methods")
    assert proc.returncode == 0
    for name in ("RealESRGAN_x4plus", "RealESRGAN_x4plus_anime_6B", "realesr-animevideov3"):
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith(name + " "))
        assert "available" in line
    assert "face restoration" in proc.stdout


def test_a_video_networks_time_left_waits_for_its_first_window(capsys):
    """Its frames come a window at a time: after the first frame of the first window the pace counts the whole
    window for one frame ("~6259 s left" for a minute's work); a per-frame method says its time left at once."""
    from core.cli.video import _progress
    from core.methods import for_clips

    core_frames = for_clips("BasicVSR_REDS4").window - 2 * for_clips("BasicVSR_REDS4").overlap
    _progress("pan", "BasicVSR_REDS4", 1, 32, 0.005)
    assert "s left" not in capsys.readouterr().err
    _progress("pan", "BasicVSR_REDS4", core_frames, 32, 0.2)
    assert f"~{(32 - core_frames) / 0.2:.0f} s left" in capsys.readouterr().err
    _progress("pan", "bicubic", 1, 32, 2.0)
    assert "~16 s left" in capsys.readouterr().err
