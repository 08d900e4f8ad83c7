"""Image-quality metrics as data (after pyiqa's model configs): full- or no-reference, which way is better,
unit, decimals, what it measures. Tables, CSV columns, charts and "best" marks are made from these entries.
Each says what it measures twice: `about` exactly (formula, library, conventions: the CLI, the handout, a page's
Details), `plain` in words a class reads first, with `plain_name` for "ranked by how natural each looks".

Full-reference scores follow BasicSR's conventions where they have one: images in 0…1, optional Y channel of
ITU-R BT.601 (studio range 16–235), `crop_border` pixels removed on every side, SSIM with an 11×11 Gaussian
window (σ 1.5). PSNR is 10·log10(1/MSE) in dB on that 0…1 range. LPIPS is always on RGB.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from core.io import pixels as px
from core.registry import Registry


@dataclass(frozen=True, kw_only=True)
class Metric:
    name: str
    label: str
    higher_is_better: bool | None  # None: descriptive, neither way is better
    full_reference: bool
    unit: str
    about: str
    fn: Callable
    decimals: int = 4
    default: bool = True  # scored unless the user picks; heavier or newer measures are opt-in
    rgb_only: bool = False  # defined on colour (LPIPS): never scored on the Y channel
    min_side: int = 1  # smaller images get NaN ("n/a"), e.g. MS-SSIM's five scales need 161 px
    marks_best: bool = True  # False: its direction is not quality (less estimated noise also rewards blocks)
    plain: str = ""  # what it says, for a 15-year-old ("how close each pixel is to the true photo")
    plain_name: str = ""  # what a ranking by it orders by ("how close each pixel is"); default: its label

    def __post_init__(self):
        if not self.plain_name:
            object.__setattr__(self, "plain_name", self.label)
        if not self.plain:
            object.__setattr__(self, "plain", self.about)

    @property
    def arrow(self) -> str:
        return {True: "↑", False: "↓", None: ""}[self.higher_is_better]

    @property
    def heading(self) -> str:
        return f"{self.label}{' (' + self.unit + ')' if self.unit else ''} {self.arrow}".rstrip()

    def measure(self, *images: np.ndarray) -> float:
        if min(images[0].shape[:2]) < self.min_side:
            return math.nan
        return float(self.fn(*images))

    def format(self, value: float) -> str:
        if math.isnan(value):
            return "n/a"
        return ("∞" if value > 0 else "−∞") if math.isinf(value) else f"{value:.{self.decimals}f}"

    def best(self, values: dict[str, float]) -> str | None:
        """The key with the best finite-or-infinite value (NaN never wins)."""
        usable = {k: v for k, v in values.items() if not math.isnan(v)}
        if not usable or self.higher_is_better is None or not self.marks_best:
            return None
        return (max if self.higher_is_better else min)(usable, key=usable.get)


METRICS: Registry[Metric] = Registry("metric")


class SizeMismatch(ValueError):
    pass


# ---------------------------------------------------------------- preparing a pair
def to_float(pixels: np.ndarray) -> np.ndarray:
    """H×W×C float32 in 0…1, alpha dropped, gray kept as one channel."""
    arr = px.to_float(pixels)
    if arr.ndim == 2:
        return arr[..., None]
    if arr.shape[2] in (2, 4):
        return arr[..., :-1]
    return arr


def y_channel(img: np.ndarray) -> np.ndarray:
    """BT.601 luma on the studio range, as BasicSR's `rgb2ycbcr(y_only=True)` (values 16/255…235/255)."""
    rgb = np.repeat(img, 3, axis=2) if img.shape[2] == 1 else img
    return (rgb @ np.array([65.481, 128.553, 24.966], np.float32) + 16.0)[..., None] / 255.0


@dataclass
class Pair:
    output: np.ndarray
    reference: np.ndarray
    notes: list[str]


def prepare(output: np.ndarray, reference: np.ndarray, *, y_only: bool = False, crop_border: int = 0,
            size_policy: str = "crop") -> Pair:
    """Bring output and reference to comparable float arrays and say exactly what was done."""
    out, ref = to_float(output), to_float(reference)
    notes = []
    if out.shape[:2] != ref.shape[:2]:
        if size_policy == "refuse":
            raise SizeMismatch(f"output is {out.shape[1]}×{out.shape[0]} but the reference is "
                               f"{ref.shape[1]}×{ref.shape[0]}; not scored (size policy: refuse)")
        h, w = min(out.shape[0], ref.shape[0]), min(out.shape[1], ref.shape[1])
        notes.append(f"sizes differ (output {out.shape[1]}×{out.shape[0]}, reference {ref.shape[1]}×"
                     f"{ref.shape[0]}): both cropped to the top-left {w}×{h}")
        out, ref = out[:h, :w], ref[:h, :w]
    if out.shape[2] != ref.shape[2]:
        notes.append("one image is gray: the other was compared through its gray (BT.601) version"
                     if not y_only else "one image is gray")
        if not y_only:
            import cv2
            out, ref = [cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)[..., None] if x.shape[2] == 3 else x for x in (out, ref)]
    if y_only:
        out, ref = y_channel(out), y_channel(ref)
        notes.append("Y channel (BT.601, 16–235)")
    else:
        notes.append("RGB" if out.shape[2] == 3 else "gray")
    if crop_border:
        if min(out.shape[:2]) <= 2 * crop_border:
            raise SizeMismatch(f"the image is too small for a {crop_border}-pixel border crop")
        out = out[crop_border:-crop_border, crop_border:-crop_border]
        ref = ref[crop_border:-crop_border, crop_border:-crop_border]
        notes.append(f"border crop {crop_border} px")
    return Pair(np.ascontiguousarray(out), np.ascontiguousarray(ref), notes)


# ---------------------------------------------------------------- full-reference metrics
def psnr(out: np.ndarray, ref: np.ndarray) -> float:
    from skimage.metrics import peak_signal_noise_ratio
    if np.array_equal(out, ref):
        return float("inf")
    return float(peak_signal_noise_ratio(ref, out, data_range=1.0))


def mse(out: np.ndarray, ref: np.ndarray) -> float:
    from skimage.metrics import mean_squared_error
    return float(mean_squared_error(ref, out))


def ssim(out: np.ndarray, ref: np.ndarray, full: bool = False):
    from skimage.metrics import structural_similarity
    kw = dict(data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    if out.shape[2] == 1:
        return structural_similarity(ref[..., 0], out[..., 0], full=full, **kw)
    return structural_similarity(ref, out, channel_axis=2, full=full, **kw)


def _tensor(x: np.ndarray, channels: int | None = None):
    import torch
    if channels == 3 and x.shape[2] == 1:
        x = np.repeat(x, 3, axis=2)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]


def lpips_distance(out: np.ndarray, ref: np.ndarray, net: str = "alex") -> float:
    import torch

    from core.quality.lpips_weights import lpips_model
    model = lpips_model(net)
    with torch.inference_mode():
        return float(model(_tensor(out, 3), _tensor(ref, 3), normalize=True).item())  # normalize: inputs in 0…1


def _piq(name: str, **kw) -> Callable:
    """A piq full-reference measure on 0…1 arrays (piq: maintained, pure torch, no downloaded weights)."""
    def measure(out: np.ndarray, ref: np.ndarray) -> float:
        import piq
        import torch
        fn = getattr(piq, name)
        extra = {"chromatic": out.shape[2] == 3} if name == "fsim" else {}
        with torch.inference_mode():
            return float(fn(_tensor(out).clamp(0, 1), _tensor(ref).clamp(0, 1), data_range=1.0, **kw, **extra))
    return measure


# ---------------------------------------------------------------- no-reference indicators
def sharpness(img: np.ndarray) -> float:
    """Variance of the Laplacian of the gray image (×255² for readable numbers): higher = more edges."""
    import cv2
    gray = img[..., 0] if img.shape[2] == 1 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_32F).var() * 255 ** 2)


def noise_sigma(img: np.ndarray) -> float:
    """Estimated Gaussian noise σ in 0–255 units (skimage.restoration.estimate_sigma, wavelet-based)."""
    from skimage.restoration import estimate_sigma
    return float(estimate_sigma(img, channel_axis=-1, average_sigmas=True) * 255)


def as_bgr(img: np.ndarray) -> np.ndarray:
    """OpenCV's channel order, for libraries written around cv2.imread (BasicSR's NIQE, pypiqe); gray stays."""
    return np.ascontiguousarray(img[..., ::-1]) if img.shape[2] == 3 else img


def niqe(img: np.ndarray) -> float:
    """NIQE (Mittal et al. 2013) with BasicSR's port and its pristine-model parameters shipped in the wheel.
    BasicSR takes BGR on 0…255 (its Y is `bgr2ycbcr`, BT.601 studio range); gray is used as it is."""
    from basicsr.metrics.niqe import calculate_niqe

    import core.compat  # noqa: F401  (basicsr imports a renamed torchvision module)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(calculate_niqe(as_bgr(img) * 255.0, 0, input_order="HWC", convert_to="y"))


def piqe(img: np.ndarray) -> float:
    """PIQE (Venkatanath et al. 2015), pypiqe's port of MATLAB's piqe, on 8-bit values. pypiqe makes gray with
    cv2.COLOR_BGR2GRAY (0.299 R + 0.587 G + 0.114 B, as MATLAB's rgb2gray), so it is given BGR."""
    from pypiqe import piqe as _piqe
    gray_or_bgr = img[..., 0] if img.shape[2] == 1 else as_bgr(img)
    return float(_piqe(px.to_uint8(gray_or_bgr))[0])


for m in [
    Metric(name="psnr_db", label="PSNR", higher_is_better=True, full_reference=True, unit="dB",
           about="10·log10(1/MSE): pixel fidelity", fn=psnr, decimals=2,
           plain="how close each pixel is to the true photo (higher is closer)", plain_name="how close the pixels are"),
    Metric(name="ssim", label="SSIM", higher_is_better=True, full_reference=True, unit="",
           about="structural similarity (scikit-image, Gaussian σ 1.5)", fn=ssim,
           plain="how well shapes and edges match the true photo (1 is the same)",
           plain_name="how well shapes and edges match"),
    Metric(name="lpips", label="LPIPS", higher_is_better=False, full_reference=True, unit="",
           about="learned perceptual distance (AlexNet, v0.1), RGB", fn=lpips_distance, rgb_only=True,
           plain="how different it looks from the true photo to a network trained on people's choices (lower "
                 "looks closer)", plain_name="how close it looks"),
    Metric(name="mse", label="MSE", higher_is_better=False, full_reference=True, unit="",
           about="mean squared error on 0…1", fn=mse, decimals=6,
           plain="the average pixel error, squared (lower is closer)", plain_name="how small the pixel error is"),
    Metric(name="lpips_vgg", label="LPIPS-VGG", higher_is_better=False, full_reference=True, unit="",
           about="learned perceptual distance on VGG16 features (v0.1): closest to the 'VGG loss' of perceptual "
                 "training, RGB", fn=lambda o, r: lpips_distance(o, r, "vgg"), default=False, rgb_only=True,
           plain="like LPIPS, judged by another network (lower looks closer)", plain_name="how close it looks"),
    Metric(name="ms_ssim", label="MS-SSIM", higher_is_better=True, full_reference=True, unit="",
           about="SSIM over five scales (piq; sides ≥ 161 px)", fn=_piq("multi_scale_ssim", kernel_size=11),
           default=False, min_side=161, plain="like SSIM, looked at in five sizes (1 is the same)",
           plain_name="how well shapes match at every size"),
    Metric(name="vif", label="VIF", higher_is_better=True, full_reference=True, unit="",
           about="visual information fidelity, pixel domain (piq vif_p): information the viewer gets from the "
                 "output vs the reference; 1 = same", fn=_piq("vif_p"), default=False, min_side=41,
           plain="how much of the true photo's information is still there (1 is all of it)",
           plain_name="how much information is kept"),
    Metric(name="gmsd", label="GMSD", higher_is_better=False, full_reference=True, unit="",
           about="gradient magnitude similarity deviation (piq): how unevenly edges are kept; 0 = same",
           fn=_piq("gmsd"), default=False, min_side=8, plain="how unevenly the edges are kept (0 is the same)",
           plain_name="how evenly the edges are kept"),
    Metric(name="fsim", label="FSIM", higher_is_better=True, full_reference=True, unit="",
           about="feature similarity (phase congruency + gradients, piq); FSIMc on colour", fn=_piq("fsim"),
           default=False, min_side=8, plain="how well edges and corners match the true photo (1 is the same)",
           plain_name="how well edges and corners match"),
    Metric(name="sharpness", label="Sharpness", higher_is_better=None, full_reference=False, unit="",
           about="variance of the Laplacian: more edges (or more noise)", fn=sharpness, decimals=1,
           plain="how many sharp edges it has, grain included (more is not always better)"),
    Metric(name="noise_sigma", label="Noise σ", higher_is_better=False, full_reference=False, unit="",
           about="estimated noise σ on 0–255 (wavelet-based)", fn=noise_sigma, decimals=2, marks_best=False,
           plain="how much grain it seems to have (a blocky picture also has little)", plain_name="how little grain"),
    Metric(name="niqe", label="NIQE", higher_is_better=False, full_reference=False, unit="",
           about="distance from natural-image statistics (BasicSR; sides ≥ 192 px, two 96-px blocks): lower looks "
                 "more natural", fn=niqe, decimals=3, min_side=192,
           plain="how unlike an ordinary photo it looks (lower looks more natural)",
           plain_name="how natural each looks"),
    Metric(name="piqe", label="PIQE", higher_is_better=False, full_reference=False, unit="",
           about="blockwise distortion and noise (0–100, pypiqe; sides ≥ 16 px): lower is better", fn=piqe,
           decimals=2, min_side=16, plain="how blocky or noisy it looks, 0 to 100 (lower is better)",
           plain_name="how clean it looks"),
]:
    METRICS.register(m)
METRICS.alias("psnr", "psnr_db")
METRICS.alias("noise", "noise_sigma")

FULL_REFERENCE = [m for m in METRICS if m.full_reference]
NO_REFERENCE = [m for m in METRICS if not m.full_reference]


def chosen(names: list[str] | str | None, *, full_reference: bool) -> list[Metric]:
    """Metric entries by name; None = the defaults, "all" = every entry of that kind. Unknown names raise."""
    pool = FULL_REFERENCE if full_reference else NO_REFERENCE
    if names is None:
        return [m for m in pool if m.default]
    if names == "all":
        return list(pool)
    picked = [METRICS.get(n) for n in names]
    wrong = [m.name for m in picked if m.full_reference != full_reference]
    if wrong:
        kind = "full-reference" if full_reference else "no-reference"
        raise KeyError(f"not {kind} metrics: {', '.join(wrong)}")
    return picked


def score(output: np.ndarray, reference: np.ndarray, *, y_only: bool = False, crop_border: int = 0,
          size_policy: str = "crop", metrics: list[str] | str | None = None) -> tuple[dict[str, float], list[str]]:
    """Full-reference scores of `output` against the true `reference`, and notes on how they were made."""
    pair = prepare(output, reference, y_only=y_only, crop_border=crop_border, size_policy=size_policy)
    entries = chosen(metrics, full_reference=True)
    rgb = pair
    if y_only and any(m.rgb_only for m in entries):  # same crop, never the Y channel
        rgb = prepare(output, reference, crop_border=crop_border, size_policy=size_policy)
        pair.notes.append(", ".join(m.label for m in entries if m.rgb_only) + " on RGB")
    values = {m.name: m.measure(*((rgb if m.rgb_only else pair).output, (rgb if m.rgb_only else pair).reference))
              for m in entries}
    small = [m.label for m in entries if math.isnan(values[m.name])]
    if small:
        pair.notes.append(f"{', '.join(small)}: n/a, the image is under their minimum size")
    return values, pair.notes


def indicators(pixels: np.ndarray, metrics: list[str] | str | None = None) -> dict[str, float]:
    """No-reference measures of one image: they describe it, they cannot say which restore is right."""
    img = to_float(pixels)
    return {m.name: m.measure(img) for m in chosen(metrics, full_reference=False)}


def error_maps(output: np.ndarray, reference: np.ndarray, **kw) -> tuple[np.ndarray, np.ndarray]:
    """Absolute error (mean over channels) and the SSIM map, both H×W in 0…1, after `prepare`."""
    pair = prepare(output, reference, **kw)
    err = np.abs(pair.output - pair.reference).mean(axis=2)
    _, smap = ssim(pair.output, pair.reference, full=True)
    return err, (smap.mean(axis=2) if smap.ndim == 3 else smap)
