"""Classical methods: each is the library call it claims to be, at the right size, parameters matter."""
import cv2
import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import median_filter
from skimage.restoration import denoise_nl_means, denoise_wavelet

from core.classical import CLASSICAL
from core.engine import EnhanceError, enhance
from core.methods import METHODS

NAMES = [m.name for m in CLASSICAL]


@pytest.fixture(scope="module")
def lr(astronaut):
    return cv2.resize(astronaut[100:292, 150:342], (48, 48), interpolation=cv2.INTER_AREA)


def f32(img):
    return img.astype(np.float32) / 255


def u8(img):
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_size_and_dtype(lr, name, dtype):
    img = lr.astype(dtype) * (257 if dtype == np.uint16 else 1)
    out = enhance(img, name, outscale=3).pixels
    assert out.shape == (144, 144, 3) and out.dtype == dtype
    gray = enhance(img[..., 0], name, outscale=2.5).pixels
    assert gray.shape == (120, 120) and gray.dtype == dtype


def bicubic(img, size=(192, 192)):
    return cv2.resize(img, size, interpolation=cv2.INTER_CUBIC)


LIBRARY = {
    "nearest": lambda x: cv2.resize(x, (192, 192), interpolation=cv2.INTER_NEAREST),
    "bilinear": lambda x: cv2.resize(x, (192, 192), interpolation=cv2.INTER_LINEAR),
    "bicubic": bicubic,
    "lanczos": lambda x: cv2.resize(x, (192, 192), interpolation=cv2.INTER_LANCZOS4),
    "bicubic_pillow": lambda x: np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(x[..., c]), "F")
                                                     .resize((192, 192), Image.BICUBIC)) for c in range(3)], 2),
    "bilateral": lambda x: cv2.bilateralFilter(bicubic(x), 9, 25 / 255, 5),
    "wavelet": lambda x: denoise_wavelet(bicubic(x), wavelet="db1", mode="soft", method="BayesShrink",
                                         rescale_sigma=True, channel_axis=-1),
    "gaussian": lambda x: cv2.GaussianBlur(bicubic(x), (0, 0), 1.0),
    "median": lambda x: median_filter(bicubic(x), size=(3, 3, 1), mode="reflect"),
    "nl_means": lambda x: denoise_nl_means(bicubic(x), patch_size=5, patch_distance=6, h=8 / 255, fast_mode=True,
                                           channel_axis=-1),
}


@pytest.mark.parametrize("name", NAMES)
def test_equals_its_library_call(lr, name):
    ours = enhance(lr, name, outscale=4).pixels
    ref = u8(LIBRARY[name](f32(lr)))
    assert np.abs(ours.astype(int) - ref).max() <= 1


def test_bicubic_is_bicubic_and_not_nearest(lr):
    ours = enhance(lr, "bicubic", outscale=4).pixels
    nearest = enhance(lr, "nearest", outscale=4).pixels
    assert not np.array_equal(ours, nearest)
    assert np.abs(ours.astype(int) - u8(bicubic(f32(lr)))).max() <= 1
    # bicubic makes new in-between values; nearest only repeats input values in 4×4 blocks
    assert np.array_equal(nearest[::4, ::4], lr) and len(np.unique(ours)) > len(np.unique(lr))


PARAM_CHANGES = {
    "bilateral": [{"d": 15}, {"sigma_color": 80.0}, {"sigma_space": 12.0}, {"order": "filter, then upscale"},
                  {"upscale_with": "nearest"}],
    "wavelet": [{"wavelet": "db4"}, {"mode": "hard"}, {"method": "VisuShrink"}, {"sigma": 20.0}],
    "gaussian": [{"sigma": 3.0}],
    "median": [{"size": 7}],
    "nl_means": [{"h": 30.0}, {"patch_size": 7}, {"patch_distance": 3}],
}


@pytest.mark.parametrize("name, change", [(n, c) for n, cs in PARAM_CHANGES.items() for c in cs])
def test_changing_a_parameter_changes_the_output(lr, name, change):
    base = enhance(lr, name, outscale=4).pixels
    changed = enhance(lr, name, outscale=4, params=change)
    assert not np.array_equal(base, changed.pixels)
    key, value = next(iter(change.items()))
    shown = {"order": "), then bicubic"}.get(key, f"{value:g}" if isinstance(value, float) else str(value))
    assert shown in changed.stats.summary  # the caption says what was really done


def test_every_classical_entry_has_the_fields_a_page_needs():
    for m in CLASSICAL:
        assert METHODS.get(m.name) is m
        assert m.kind in ("interpolation", "restoration filter") and m.description and m.library_call
        for p in m.params:
            assert p.choices or (p.min <= p.default <= p.max)


def test_bad_parameters_are_clear_errors(lr):
    with pytest.raises(EnhanceError, match="outside"):
        enhance(lr, "bilateral", params={"d": 99})
    with pytest.raises(EnhanceError, match="no parameter 'q'"):
        enhance(lr, "bilateral", params={"q": 1})


def test_caption_states_the_order(lr):
    s = enhance(lr, "bilateral", outscale=4).stats.summary
    assert s.startswith("bilateral (d=9, σcolor=25, σspace=5) after bicubic ×4")
    s = enhance(lr, "bilateral", outscale=4, params={"order": "filter, then upscale"}).stats.summary
    assert "then bicubic ×4" in s
