"""Every third-party call that takes pixels, checked by value against the library fed as its own docs say
(channel order, range, dtype). A test of direction alone let a wrong channel order through (NIQE, PIQE)."""
import cv2
import numpy as np
import pytest
from PIL import Image

from core.io.imageio import encode_png, load_image
from core.quality.metrics import METRICS, niqe, piqe, sharpness, to_float, y_channel
from tests.conftest import shared_path

# BasicSR fed as it expects (cv2.imread: BGR, 0…255, crop 0, Y) on ../shared/data/Set5/HR (issue 24), to 4 decimals
SET5_NIQE = {"baby": 3.2656, "bird": 4.3621, "butterfly": 5.1549, "head": 8.3505, "woman": 4.3890}


def _photos() -> dict[str, np.ndarray]:
    """Colour photos every clone has (scikit-image's), RGB uint8, with strong colour casts (sky, skin, fur)."""
    from skimage import data
    return {"astronaut": data.astronaut(), "coffee": data.coffee(), "chelsea": data.chelsea(),
            "rocket": data.rocket()}


def _as_file_read_by_opencv(rgb: np.ndarray, tmp_path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(cv2.imread of the image written to disk, what our loader gives for the same file)."""
    path = tmp_path / f"{name}.png"
    path.write_bytes(encode_png(rgb))
    return cv2.imread(str(path)), load_image(path.read_bytes(), path.name).pixels


@pytest.mark.parametrize("name", SET5_NIQE)
def test_niqe_equals_basicsr_fed_bgr_on_set5(name):
    from basicsr.metrics.niqe import calculate_niqe

    path = shared_path("Set5", "HR", f"{name}.png")
    expected = calculate_niqe(cv2.imread(str(path)), 0, input_order="HWC", convert_to="y")
    ours = niqe(to_float(load_image(path.read_bytes(), path.name).pixels))
    assert ours == pytest.approx(float(expected), abs=1e-4)
    assert ours == pytest.approx(SET5_NIQE[name], abs=5e-4)


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_niqe_and_piqe_equal_their_libraries_fed_as_cv2_imread(name, tmp_path):
    from basicsr.metrics.niqe import calculate_niqe
    from pypiqe import piqe as pypiqe

    bgr, ours = _as_file_read_by_opencv(_photos()[name], tmp_path, name)
    img = to_float(ours)
    assert niqe(img) == pytest.approx(float(calculate_niqe(bgr, 0, input_order="HWC", convert_to="y")), abs=1e-4)
    assert piqe(img) == pytest.approx(float(pypiqe(bgr)[0]), abs=1e-6)
    # and the order matters on these photos: fed RGB, each library gives another number
    swapped = np.ascontiguousarray(bgr[..., ::-1])
    assert abs(piqe(img) - pypiqe(swapped)[0]) > 1e-3 or abs(
        niqe(img) - calculate_niqe(swapped, 0, input_order="HWC", convert_to="y")) > 1e-3


@pytest.mark.parametrize("name", SET5_NIQE)
def test_piqe_equals_pypiqe_fed_bgr_on_set5(name):
    from pypiqe import piqe as pypiqe

    path = shared_path("Set5", "HR", f"{name}.png")
    ours = piqe(to_float(load_image(path.read_bytes(), path.name).pixels))
    assert ours == pytest.approx(float(pypiqe(cv2.imread(str(path)))[0]), abs=1e-6)


def test_gray_images_go_to_niqe_and_piqe_as_gray(tmp_path):
    from basicsr.metrics.niqe import calculate_niqe
    from pypiqe import piqe as pypiqe
    from skimage import data

    gray = data.camera()
    path = tmp_path / "camera.png"
    path.write_bytes(encode_png(gray))
    file_gray = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    img = to_float(load_image(path.read_bytes(), path.name).pixels)
    assert niqe(img) == pytest.approx(float(calculate_niqe(file_gray, 0, input_order="HW")), abs=1e-4)
    assert piqe(img) == pytest.approx(float(pypiqe(file_gray)[0]), abs=1e-6)


def test_y_channel_equals_basicsr_bgr2ycbcr_on_bgr():
    from basicsr.utils.color_util import bgr2ycbcr

    rgb = _photos()["coffee"]
    ours = y_channel(rgb.astype(np.float32) / 255)[..., 0]
    theirs = bgr2ycbcr(rgb[..., ::-1].astype(np.float32) / 255, y_only=True)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_sharpness_is_the_laplacian_of_opencvs_gray_of_the_file(tmp_path):
    bgr, ours = _as_file_read_by_opencv(_photos()["rocket"], tmp_path, "rocket")
    gray = cv2.cvtColor(bgr.astype(np.float32) / 255, cv2.COLOR_BGR2GRAY)
    assert sharpness(to_float(ours)) == pytest.approx(float(cv2.Laplacian(gray, cv2.CV_32F).var() * 255 ** 2),
                                                      rel=1e-5)


@pytest.mark.parametrize("name", ["vif", "gmsd", "fsim", "ms_ssim"])
def test_piq_measures_equal_piq_fed_rgb_tensors(name):
    """piq's docs: (N, C, H, W) tensors, RGB (it converts with rgb2yiq), in [0, data_range]."""
    import piq
    import torch

    rgb = _photos()["astronaut"]
    blurred = cv2.GaussianBlur(rgb, (0, 0), 1.5)
    call = {"vif": piq.vif_p, "gmsd": piq.gmsd, "fsim": piq.fsim, "ms_ssim": piq.multi_scale_ssim}[name]
    t = lambda a: torch.from_numpy(a.astype(np.float32) / 255).permute(2, 0, 1)[None]  # noqa: E731
    expected = float(call(t(blurred), t(rgb), data_range=1.0))
    ours = METRICS.get(name).measure(to_float(blurred), to_float(rgb))
    assert ours == pytest.approx(expected, rel=1e-5)


def test_lpips_equals_the_lpips_packages_own_loader_on_the_example_triplet():
    """lpips.load_image gives RGB (it reverses cv2.imread's BGR); lpips.im2tensor maps 0…255 to −1…1."""
    import lpips
    import torch

    from core.quality.lpips_weights import lpips_model
    from core.quality.metrics import lpips_distance

    ref, p0 = (str(shared_path("lpips", f)) for f in ("ex_ref.png", "ex_p0.png"))
    with torch.inference_mode():
        expected = float(lpips_model("alex")(lpips.im2tensor(lpips.load_image(ref)),
                                             lpips.im2tensor(lpips.load_image(p0))))
    ours = lpips_distance(to_float(np.asarray(Image.open(p0).convert("RGB"))),
                          to_float(np.asarray(Image.open(ref).convert("RGB"))))
    assert ours == pytest.approx(expected, abs=1e-4)


def test_luminance_filters_equalise_opencvs_y_of_rgb():
    """Histogram equalisation works on Y of YCrCb: the result's Y is skimage's equalize_hist of the input's Y,
    both Y taken by OpenCV from BGR as its docs say (a swapped pair of conversions would still round-trip)."""
    from skimage.exposure import equalize_hist

    from core.methods import METHODS

    rgb = _photos()["chelsea"][:96, :96].astype(np.float32) / 255
    out = METHODS.get("hist_eq").upscale(rgb, (96, 96), {"upscale_with": "nearest"}).pixels
    luma = lambda a: cv2.cvtColor(np.ascontiguousarray(a[..., ::-1]), cv2.COLOR_BGR2YCrCb)[..., 0]  # noqa: E731
    expected = equalize_hist(luma(rgb), nbins=256)
    assert float(np.median(np.abs(luma(out) - expected))) < 0.01  # clipping to the RGB gamut moves a few


def test_jpeg_degradation_keeps_red_red():
    """The JPEG step hands OpenCV BGR and takes BGR back: a swap would turn red into blue."""
    from core.quality.degrade import Degradation, make_pair

    red = np.zeros((64, 64, 3), np.uint8)
    red[..., 0] = 220
    lr = make_pair(red, Degradation(scale=1, jpeg_quality=50)).lr
    assert lr[..., 0].mean() > 200 and lr[..., 2].mean() < 30


def test_face_helper_gets_bgr():
    """GFPGAN and facexlib work on cv2 images (BGR uint8)."""
    from core.pipeline.face import _to_bgr8

    red = np.zeros((4, 4, 3), np.float32)
    red[..., 0] = 1.0
    bgr = _to_bgr8(red)
    assert bgr.dtype == np.uint8 and (bgr[..., 2] == 255).all() and (bgr[..., 0] == 0).all()
