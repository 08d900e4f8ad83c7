"""Classical methods: each is the library call it claims to be, at the right size, parameters matter."""
import cv2
import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import median_filter
from skimage.exposure import equalize_hist
from skimage.restoration import denoise_nl_means, denoise_wavelet

from core.methods import METHODS
from core.methods.classical import CLASSICAL
from core.pipeline.engine import EnhanceError, enhance

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


def on_y(img, change):
    ycc = cv2.cvtColor(img, cv2.COLOR_RGB2YCrCb)
    ycc[..., 0] = change(ycc[..., 0])
    return np.clip(cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB), 0, 1)


LIBRARY = {
    "nearest": lambda x: cv2.resize(x, (192, 192), interpolation=cv2.INTER_NEAREST),
    "bilinear": lambda x: cv2.resize(x, (192, 192), interpolation=cv2.INTER_LINEAR),
    "bicubic": bicubic,
    "lanczos": lambda x: cv2.resize(x, (192, 192), interpolation=cv2.INTER_LANCZOS4),
    "bicubic_pillow": lambda x: np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(x[..., c]), "F")
                                                     .resize((192, 192), Image.BICUBIC)) for c in range(3)], 2),
    "bilateral": lambda x: bicubic(cv2.bilateralFilter(x, 9, 25 / 255, 5)),
    "wavelet": lambda x: bicubic(np.clip(denoise_wavelet(x, wavelet="db1", mode="soft", method="BayesShrink",
                                                          rescale_sigma=True, channel_axis=-1), 0, 1)),
    "gaussian": lambda x: bicubic(cv2.GaussianBlur(x, (0, 0), 1.0)),
    "median": lambda x: bicubic(median_filter(x, size=(3, 3, 1), mode="reflect")),
    "nl_means": lambda x: bicubic(denoise_nl_means(x, patch_size=5, patch_distance=6, h=8 / 255, fast_mode=True,
                                                   channel_axis=-1).astype(np.float32)),
    "unsharp": lambda x: bicubic(x) + (bicubic(x) - cv2.GaussianBlur(bicubic(x), (0, 0), 2.0)),
    "clahe": lambda x: on_y(bicubic(x), lambda y: y + (cv2.createCLAHE(2.0, (8, 8)).apply(
        np.round(np.clip(y, 0, 1) * 255).astype(np.uint8)).astype(np.float32) - np.round(np.clip(y, 0, 1) * 255))
        / 255),
    "hist_eq": lambda x: on_y(bicubic(x), lambda y: equalize_hist(y, nbins=256)),
}


@pytest.mark.parametrize("name", [n for n in NAMES if n != "wavelet_sr"])  # several calls: its own test below
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
    "bilateral": [{"d": 15}, {"sigma_color": 80.0}, {"sigma_space": 12.0}, {"order": "upscale, then filter"},
                  {"upscale_with": "nearest"}],
    "wavelet": [{"wavelet": "db4"}, {"mode": "hard"}, {"method": "VisuShrink"}, {"sigma": 20.0}],
    "gaussian": [{"sigma": 3.0}],
    "median": [{"size": 7}],
    "nl_means": [{"h": 30.0}, {"patch_size": 7}, {"patch_distance": 3}],
    "hist_eq": [{"bins": 32}],
    "clahe": [{"clip_limit": 6.0}, {"tiles": 3}],
    "unsharp": [{"radius": 5.0}, {"amount": 3.0}],
}


@pytest.mark.parametrize("name, change", [(n, c) for n, cs in PARAM_CHANGES.items() for c in cs])
def test_changing_a_parameter_changes_the_output(lr, name, change):
    base = enhance(lr, name, outscale=4).pixels
    changed = enhance(lr, name, outscale=4, params=change)
    assert not np.array_equal(base, changed.pixels)
    key, value = next(iter(change.items()))
    shown = {"order": "after bicubic"}.get(key, f"{value:g}" if isinstance(value, float) else str(value))
    assert shown in changed.stats.summary  # the caption says what was really done


def test_every_classical_entry_has_the_fields_a_page_needs():
    for m in CLASSICAL:
        assert METHODS.get(m.name) is m
        assert m.kind in ("interpolation", "restoration filter", "enhancement filter")
        assert m.purpose in ("interpolation", "denoise", "enhance") and m.description and m.library_call
        for p in m.params:
            assert p.choices or (p.min <= p.default <= p.max)


def test_bad_parameters_are_clear_errors(lr):
    with pytest.raises(EnhanceError, match="outside"):
        enhance(lr, "bilateral", params={"d": 99})
    with pytest.raises(EnhanceError, match="no parameter 'q'"):
        enhance(lr, "bilateral", params={"q": 1})


def test_caption_states_the_order(lr):
    s = enhance(lr, "bilateral", outscale=4).stats.summary
    assert s.startswith("bilateral (d=9, σcolor=25, σspace=5), then bicubic ×4")
    s = enhance(lr, "bilateral", outscale=4, params={"order": "upscale, then filter"}).stats.summary
    assert "after bicubic ×4" in s


def test_contrast_methods_work_on_luminance_and_do_what_they_say(astronaut):
    import cv2

    dull = (astronaut.astype(np.float32) * 0.4 + 80).astype(np.uint8)  # low contrast, colours kept
    luma = lambda a: cv2.cvtColor(a, cv2.COLOR_RGB2YCrCb)[..., 0].astype(np.float32)  # noqa: E731
    chroma = lambda a: cv2.cvtColor(a, cv2.COLOR_RGB2YCrCb)[..., 1:].astype(np.float32)  # noqa: E731
    for name in ("hist_eq", "clahe"):
        out = enhance(dull, name, outscale=1).pixels
        assert luma(out).std() > 1.5 * luma(dull).std(), name  # contrast spread
        assert np.abs(chroma(out) - chroma(dull)).mean() < 3, name  # hue and saturation kept (Y only)
    flat = enhance(dull, "hist_eq", outscale=1).pixels
    low, high = np.percentile(luma(flat), [5, 95])
    assert low < 50 and high > 210  # the levels spread over the whole range (the dull input: 80…182)
    soft = cv2.GaussianBlur(astronaut, (0, 0), 1.5)
    sharpened = enhance(soft, "unsharp", outscale=1, params={"amount": 2.0}).pixels
    assert cv2.Laplacian(luma(sharpened), cv2.CV_32F).var() > 2 * cv2.Laplacian(luma(soft), cv2.CV_32F).var()
    gray = enhance(dull[..., 0], "clahe", outscale=2).pixels
    assert gray.ndim == 2 and gray.shape == (1024, 1024)


def test_wavelet_sr_is_a_wavelet_method_and_denoisers_run_before_the_upscale(astronaut):
    import pywt

    lr = astronaut[::2, ::2][:128, :128]
    out = enhance(lr, "wavelet_sr", outscale=2).pixels.astype(np.float32) / 255
    # the input is the output's Haar low band (the approximation is 2 × the 2×2 mean)
    low, _ = pywt.dwt2(out[..., 1].astype(np.float64), "db1", mode="periodization")
    assert np.abs(low / 2 - lr[..., 1] / 255).mean() < 0.02
    assert enhance(lr, "wavelet_sr", outscale=3).pixels.shape == (384, 384, 3)  # passes, then area to size
    noisy = np.clip(lr.astype(int) + np.random.default_rng(0).normal(0, 15, lr.shape), 0, 255).astype(np.uint8)
    before = enhance(noisy, "wavelet", outscale=4)
    after = enhance(noisy, "wavelet", outscale=4, params={"order": "upscale, then filter"})
    plain = enhance(noisy, "bicubic", outscale=4).pixels
    assert before.stats.summary.startswith("wavelet (db1, soft, BayesShrink, σ=auto), then bicubic ×4")
    # after the upscale the noise is correlated and BayesShrink sees little of it: it removes far less
    removed = lambda r: np.abs(r.pixels.astype(int) - plain).mean()  # noqa: E731
    assert removed(before) > 2 * removed(after)
