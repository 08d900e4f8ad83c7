"""Classical methods: interpolations, restoration (denoise) and enhancement filters, each one library call.

A filter used for upscaling runs as "interpolate to the target size, then filter" unless its `order`
parameter says otherwise; `describe()` states what was really done, for captions and the CLI.
Images arrive as float32 H×W×C (C = 1 or 3) in 0…1; parameters in 0…255 units are scaled to that range.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from core.io.pixels import to_uint8
from core.methods.contract import (
    Kind,
    NotAttributable,
    OnPartial,
    OnStep,
    Param,
    Plan,
    Progress,
    Purpose,
    SizeRules,
    TorchForward,
    Upscaled,
    checked_params,
)

Size = tuple[int, int]  # (width, height)
_PURPOSE_OF_KIND: dict[str, Purpose] = {"interpolation": "interpolation", "restoration filter": "denoise",
                                        "enhancement filter": "enhance"}


@dataclass(frozen=True)
class TorchResize:
    """An interpolation as `torch.nn.functional.interpolate`, equal to its library call at integer upscales
    (≤ 2e-6 on 0…1, tests/test_attribution.py): torch's bicubic is Keys' a = −0.75 with half-pixel centres and
    clamped edges, as OpenCV's INTER_CUBIC; with `antialias` it is a = −0.5, as Pillow's BICUBIC."""
    mode: str
    antialias: bool = False

    def __call__(self, scale: int, x):
        import torch.nn.functional as F

        corners = None if self.mode == "nearest" else False
        return F.interpolate(x, scale_factor=scale, mode=self.mode, align_corners=corners, antialias=self.antialias)

    def describe(self) -> str:
        corners = "" if self.mode == "nearest" else ", align_corners=False"
        return f"torch interpolate {self.mode}{corners}" + (", antialias=True" if self.antialias else "")


@dataclass(frozen=True, eq=False)
class ClassicalMethod:
    name: str
    kind: Kind                     # "interpolation" | "restoration filter" | "enhancement filter"
    description: str
    library_call: str
    run: Callable[[np.ndarray, dict], np.ndarray] = field(repr=False)
    params: tuple[Param, ...] = ()
    short: Callable[[dict], str] = field(default=lambda p: "", repr=False)  # key parameters, for captions
    torch_resize: TorchResize | None = None  # the same resize as a torch op: its attribution map (None: none)
    native_scale = None            # any scale in one step
    size_rules = SizeRules()
    backends = ()                  # one library call, no backend to choose
    consumes = "frame"             # on a clip: each frame alone

    @property
    def label(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def source(self) -> str:
        return self.library_call

    @property
    def provenance(self) -> str:
        """What pins its output, for reports: the library call (no weights)."""
        return self.library_call

    @property
    def family(self) -> str:
        return f"classical: {self.kind}"

    @property
    def purpose(self) -> Purpose:
        return _PURPOSE_OF_KIND[self.kind]

    def availability(self) -> str:
        return "available"

    @property
    def attributable(self) -> bool:
        return self.torch_resize is not None

    def torch_forward(self, scale: int) -> TorchForward:
        if self.torch_resize is None:
            raise NotAttributable(f"{self.name} is not attributable: {self.library_call} has no torch version here, "
                                  "and a map needs the gradients of a torch forward")
        if scale != int(scale) or scale < 1:
            raise NotAttributable(f"{self.name}: a map is made at a whole scale (×1 to ×8), not ×{scale:g}")
        import functools

        return TorchForward(run=functools.partial(self.torch_resize, int(scale)), scale=int(scale),
                            what=f"{self.torch_resize.describe()} (= {self.library_call})", grad_bytes_per_pixel=2_000)

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def checked(self, params: dict | None) -> dict:
        return checked_params(self.name, self.params, params)

    def plan(self, height: int, width: int, tile: int = 0, backend: str = "auto", on_step: OnStep | None = None,
             live: bool = False) -> Plan:
        return Plan(label=self.library_call)

    def upscale(self, color: np.ndarray, size: Size, params: dict | None = None, plan: Plan | None = None, *,
                progress: Progress | None = None, on_step: OnStep | None = None,
                on_partial: OnPartial | None = None) -> Upscaled:
        """The shared method contract (core/methods/contract.py); no tiles, no backend: one library call (so
        nothing to show part-way: `on_partial` is never called)."""
        p = self.checked(params)
        out = self._apply(color, size, p)
        if progress:
            progress(1, 1, "done")
        if on_step:
            on_step(1.0)
        summary = self.describe(p, float(f"{size[0] / color.shape[1]:.4g}"))
        return Upscaled(pixels=out, summary=summary, backend=self.library_call)

    def _apply(self, image: np.ndarray, size: Size, p: dict) -> np.ndarray:
        if self.kind == "interpolation":
            return _keep3(self.run(image, {**p, "size": size}), image)
        up = lambda x: _keep3(INTERPOLATIONS[p["upscale_with"]](x, size), x)  # noqa: E731
        if p["order"] == "filter, then upscale":
            return up(_keep3(self.run(image, p), image))
        return _keep3(self.run(up(image), p), image)

    def describe(self, params: dict | None, outscale: float) -> str:
        p = self.checked(params)
        keys = self.short(p)
        what = f"{self.name}" + (f" ({keys})" if keys else "")
        if self.kind == "interpolation":
            return f"{what} ×{outscale:g}, {self.library_call}"
        step = f"{p['upscale_with']} ×{outscale:g}"
        order = f"{what} after {step}" if p["order"] == "upscale, then filter" else f"{what}, then {step}"
        return f"{order}, {self.library_call}"


def _keep3(out: np.ndarray, like: np.ndarray) -> np.ndarray:
    """OpenCV drops a trailing channel axis of size 1; put it back."""
    return out[..., None] if out.ndim == 2 and like.ndim == 3 else out.astype(np.float32, copy=False)


def _cv_resize(flag: int) -> Callable[[np.ndarray, Size], np.ndarray]:
    return lambda img, size: cv2.resize(img, size, interpolation=flag)


def pillow_bicubic(img: np.ndarray, size: Size) -> np.ndarray:
    """Pillow's bicubic (a = −0.5, antialiased when shrinking, like MATLAB's imresize), per float channel."""
    from PIL import Image

    chans = [np.asarray(Image.fromarray(np.ascontiguousarray(img[..., c]), "F").resize(size, Image.BICUBIC))
             for c in range(img.shape[2])]
    return np.stack(chans, axis=2)


INTERPOLATIONS = {
    "nearest": _cv_resize(cv2.INTER_NEAREST),
    "bilinear": _cv_resize(cv2.INTER_LINEAR),
    "bicubic": _cv_resize(cv2.INTER_CUBIC),
    "bicubic_pillow": pillow_bicubic,
    "lanczos": _cv_resize(cv2.INTER_LANCZOS4),
}

_FILTER_ORDER = (
    Param(name="order", label="Order", default="upscale, then filter",
          help="Filter the upscaled image (default) or filter first.",
          choices=("upscale, then filter", "filter, then upscale")),
    Param(name="upscale_with", label="Upscale with", default="bicubic",
          help="The interpolation that changes the size.", choices=tuple(INTERPOLATIONS)),
)


# Denoisers run before the upscale by default: after it, the noise is spread over s×s correlated pixels and
# a noise estimate (BayesShrink's) sees almost none, so the filter removes nothing.
_DENOISE_ORDER = (
    Param(name="order", label="Order", default="filter, then upscale",
          help="Denoise the input first (default: the noise is still pixel-sized there) or filter the upscaled "
               "image.", choices=("filter, then upscale", "upscale, then filter")),
    _FILTER_ORDER[1],
)


def _interp(name: str, call: str, about: str, torch: TorchResize | None = None) -> ClassicalMethod:
    return ClassicalMethod(name, "interpolation", about, call, lambda img, p: INTERPOLATIONS[name](img, p["size"]),
                           torch_resize=torch)


def _wavelet_sr(img: np.ndarray, p: dict) -> np.ndarray:
    """DWT–SWT super-resolution (Demirel & Anbarjafari, IEEE TIP 2011), ×2 per pass: the input is the
    approximation band; the detail bands are estimated from the input's DWT details interpolated ×2 and its SWT
    details (same size as the input); the inverse DWT doubles the size. Passes until ≥ the target, then an
    area resize to the exact size."""
    import pywt

    width, height = p["size"]
    out = img
    while out.shape[1] < width or out.shape[0] < height:
        h, w = out.shape[:2]
        even = np.pad(out, ((0, h % 2), (0, w % 2), (0, 0)), mode="reflect")  # the SWT needs even sides
        chans = []
        for c in range(even.shape[2]):
            x = even[..., c].astype(np.float64)
            _, dwt_details = pywt.dwt2(x, p["wavelet"], mode="periodization")
            (_, swt_details), = pywt.swt2(x, p["wavelet"], level=1, trim_approx=False)
            # two estimates of the same bands, averaged (their sum, as in the paper, doubles the detail energy)
            details = tuple((cv2.resize(d, (x.shape[1], x.shape[0]), interpolation=cv2.INTER_CUBIC) + s) / 2
                            for d, s in zip(dwt_details, swt_details))
            # orthonormal 2-D DWT: an approximation coefficient is 2 × the local mean
            chans.append(pywt.idwt2((2 * x, details), p["wavelet"], mode="periodization"))
        out = np.clip(np.stack(chans, axis=2)[:2 * h, :2 * w], 0, 1).astype(np.float32)
    if out.shape[:2] != (height, width):
        out = _keep3(cv2.resize(out, (width, height), interpolation=cv2.INTER_AREA), img)
    return out


def _bilateral(img: np.ndarray, p: dict) -> np.ndarray:
    return cv2.bilateralFilter(img, p["d"], p["sigma_color"] / 255.0, p["sigma_space"])


def _wavelet(img: np.ndarray, p: dict) -> np.ndarray:
    from skimage.restoration import denoise_wavelet

    sigma = p["sigma"] / 255.0 if p["sigma"] > 0 else None
    out = denoise_wavelet(img, sigma=sigma, wavelet=p["wavelet"], mode=p["mode"], method=p["method"],
                          rescale_sigma=True, channel_axis=-1)
    return np.clip(out, 0, 1).astype(np.float32)


def _gaussian(img: np.ndarray, p: dict) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigmaX=p["sigma"])


def _median(img: np.ndarray, p: dict) -> np.ndarray:
    from scipy.ndimage import median_filter  # OpenCV's medianBlur takes float only up to size 5

    k = p["size"]
    return median_filter(img, size=(k, k, 1), mode="reflect")


def _nl_means(img: np.ndarray, p: dict) -> np.ndarray:
    from skimage.restoration import denoise_nl_means

    out = denoise_nl_means(img, patch_size=p["patch_size"], patch_distance=p["patch_distance"],
                           h=p["h"] / 255.0, fast_mode=True, channel_axis=-1)
    return out.astype(np.float32)


def _on_luminance(img: np.ndarray, change: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply `change` to the luminance only (Y of YCrCb; gray is its own), so colours do not shift."""
    if img.shape[2] == 1:
        return change(img[..., 0])[..., None]
    ycc = cv2.cvtColor(img, cv2.COLOR_RGB2YCrCb)
    ycc[..., 0] = change(ycc[..., 0])
    return np.clip(cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB), 0, 1)


def _hist_eq(img: np.ndarray, p: dict) -> np.ndarray:
    from skimage.exposure import equalize_hist  # on floats: OpenCV's equalizeHist would quantise to 8 bits

    return _on_luminance(img, lambda y: equalize_hist(y, nbins=p["bins"]).astype(np.float32))


def _clahe(img: np.ndarray, p: dict) -> np.ndarray:
    clahe = cv2.createCLAHE(clipLimit=p["clip_limit"], tileGridSize=(p["tiles"], p["tiles"]))

    def change(y: np.ndarray) -> np.ndarray:
        # OpenCV's CLAHE maps 8-bit levels (at 16 bits its clip limit stops working: 65536 sparse bins);
        # adding the mapping's change keeps the float luminance's finer steps
        y8 = to_uint8(y)
        return y + (clahe.apply(y8).astype(np.float32) - y8) / 255

    return _on_luminance(img, change)


def _unsharp(img: np.ndarray, p: dict) -> np.ndarray:
    # skimage 0.26's unsharp_mask returns values of 1e12 and more on some float32 images: OpenCV's blur instead
    blurred = cv2.GaussianBlur(img, (0, 0), sigmaX=p["radius"])
    return np.clip(cv2.addWeighted(img, 1 + p["amount"], blurred, -p["amount"], 0), 0, 1)


CLASSICAL = [
    _interp("nearest", "cv2.resize INTER_NEAREST", "Copies the closest pixel: blocky, adds nothing.",
            TorchResize("nearest")),
    _interp("bilinear", "cv2.resize INTER_LINEAR", "Weighted average of the 4 nearest pixels: smooth, blurry.",
            TorchResize("bilinear")),
    _interp("bicubic", "cv2.resize INTER_CUBIC (a = −0.75)",
            "Cubic fit through 16 neighbours: the standard baseline; slightly sharper than bilinear.",
            TorchResize("bicubic")),
    _interp("bicubic_pillow", "PIL.Image.resize BICUBIC (a = −0.5)",
            "Bicubic with MATLAB's kernel (a = −0.5): the convention of published SR tables; a little softer.",
            TorchResize("bicubic", antialias=True)),
    _interp("lanczos", "cv2.resize INTER_LANCZOS4", "Windowed sinc over 8×8 neighbours: sharpest interpolation, "
                                                    "may ring at edges."),
    ClassicalMethod(
        "wavelet_sr", "interpolation",
        "Wavelet-domain super-resolution (DWT–SWT): the image is the low band of a finer image; the missing detail "
        "bands are estimated from its own wavelet details, then the inverse transform doubles the size.",
        "pywt.dwt2 / swt2 / idwt2 (Demirel & Anbarjafari 2011)", _wavelet_sr,
        (Param(name="wavelet", label="Wavelet", default="db1",
               help="db1 = Haar. Only short wavelets: with longer ones the image is not their low band (it would be "
                    "shifted by half a filter length).", choices=("db1", "bior1.3")),),
        lambda p: p["wavelet"]),
    ClassicalMethod(
        "bilateral", "restoration filter",
        "Edge-preserving smoothing: averages neighbours that are close in both position and colour.",
        "cv2.bilateralFilter", _bilateral,
        (Param(name="d", label="Diameter d (px)", default=9, help="Neighbourhood diameter.", min=1, max=25, step=2),
         Param(name="sigma_color", label="σ colour (0–255)", default=25.0,
               help="How different a colour may be and still be averaged.", min=1.0, max=150.0, step=1.0),
         Param(name="sigma_space", label="σ space (px)", default=5.0, help="How far a neighbour may be.", min=0.5,
               max=25.0, step=0.5)) + _DENOISE_ORDER,
        lambda p: f"d={p['d']}, σcolor={p['sigma_color']:g}, σspace={p['sigma_space']:g}"),
    ClassicalMethod(
        "wavelet", "restoration filter",
        "Wavelet denoising: shrinks small wavelet coefficients (mostly noise), keeps large ones (edges).",
        "skimage.restoration.denoise_wavelet", _wavelet,
        (Param(name="wavelet", label="Wavelet", default="db1", help="Wavelet family (db1 = Haar).",
               choices=("db1", "db2", "db4", "sym4", "coif1", "bior1.3")),
         Param(name="mode", label="Thresholding", default="soft", help="Soft shrinks coefficients, hard zeroes them.",
               choices=("soft", "hard")),
         Param(name="method", label="Threshold rule", default="BayesShrink",
               help="BayesShrink adapts per sub-band; VisuShrink is global.", choices=("BayesShrink", "VisuShrink")),
         Param(name="sigma", label="Noise σ (0–255; 0 = estimate)", default=0.0,
               help="0 estimates the noise from the image.", min=0.0, max=50.0, step=1.0)) + _DENOISE_ORDER,
        lambda p: f"{p['wavelet']}, {p['mode']}, {p['method']}, σ={'auto' if p['sigma'] == 0 else p['sigma']}"),
    ClassicalMethod(
        "gaussian", "restoration filter", "Gaussian blur: removes noise and detail alike.",
        "cv2.GaussianBlur", _gaussian,
        (Param(name="sigma", label="σ (px)", default=1.0, help="Blur radius.", min=0.1, max=10.0, step=0.1),)
        + _DENOISE_ORDER,
        lambda p: f"σ={p['sigma']:g}"),
    ClassicalMethod(
        "median", "restoration filter", "Median filter: removes salt-and-pepper noise, keeps edges, loses texture.",
        "scipy.ndimage.median_filter", _median,
        (Param(name="size", label="Window (px)", default=3, help="Odd window size.", min=3, max=11, step=2),)
        + _DENOISE_ORDER,
        lambda p: f"{p['size']}×{p['size']}"),
    ClassicalMethod(
        "nl_means", "restoration filter",
        "Non-local means: averages similar patches from the whole neighbourhood; strong on noise.",
        "skimage.restoration.denoise_nl_means (fast mode)", _nl_means,
        (Param(name="h", label="Strength h (0–255)", default=8.0, help="Higher removes more noise and more detail.",
               min=1.0, max=50.0, step=1.0),
         Param(name="patch_size", label="Patch (px)", default=5, help="Patch side.", min=3, max=9, step=2),
         Param(name="patch_distance", label="Search distance (px)", default=6,
               help="How far to look for similar patches.", min=2, max=15, step=1))
        + _DENOISE_ORDER,
        lambda p: f"h={p['h']:g}, patch {p['patch_size']}, distance {p['patch_distance']}"),
    ClassicalMethod(
        "hist_eq", "enhancement filter",
        "Histogram equalisation of the luminance: spreads the brightness levels over the whole range; global, "
        "so it also lifts noise and can wash out.",
        "skimage.exposure.equalize_hist on Y (YCrCb)", _hist_eq,
        (Param(name="bins", label="Bins", default=256, help="Histogram bins.", min=16, max=1024, step=16),)
        + _FILTER_ORDER,
        lambda p: f"{p['bins']} bins"),
    ClassicalMethod(
        "clahe", "enhancement filter",
        "CLAHE: equalisation per tile with a clip on the contrast gain: local contrast without the global "
        "wash-out.",
        "cv2.createCLAHE on Y (YCrCb)", _clahe,
        (Param(name="clip_limit", label="Clip limit", default=2.0, help="How much contrast a tile may gain.", min=0.5,
               max=10.0, step=0.5),
         Param(name="tiles", label="Tiles per side", default=8, help="Grid of tiles (8 = 8×8).", min=2, max=16,
               step=1)) + _FILTER_ORDER,
        lambda p: f"clip {p['clip_limit']:g}, {p['tiles']}×{p['tiles']} tiles"),
    ClassicalMethod(
        "unsharp", "enhancement filter",
        "Unsharp masking: adds back the difference from a blurred copy; sharper edges, halos if overdone.",
        "cv2.GaussianBlur + cv2.addWeighted", _unsharp,
        (Param(name="radius", label="Radius (px)", default=2.0, help="Blur radius of the mask.", min=0.5, max=10.0,
               step=0.5),
         Param(name="amount", label="Amount", default=1.0, help="Strength of the sharpening.", min=0.1, max=5.0,
               step=0.1)) + _FILTER_ORDER,
        lambda p: f"radius {p['radius']:g}, amount {p['amount']:g}"),
]
