"""Make a test pair from a clean image: degrade it on purpose, so a restoration can be scored against the truth.

Steps run in the order of Real-ESRGAN's first-order degradation: blur → downscale → noise → JPEG. Every step
is optional, every random draw comes from `seed`, so the same settings always give the same pair.

Each step is said two ways: `steps()` / `TestPair.pipeline()` exactly (σ, seed, the resize; for the CLI, the
handout and a page's Details), `plain()` / `TestPair.plain()` in words a class reads first ("made it 4× smaller,
added grain (noise) and saved it as a low-quality JPEG").
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from core.io.pixels import from_float, to_float, to_uint8
from core.methods.classical import pillow_bicubic

DOWNSCALE_METHODS = ("bicubic", "area", "nearest")


@dataclass(frozen=True)
class Degradation:
    scale: int = 4                  # 1 = no downscale
    downscale: str = "bicubic"      # bicubic: Pillow, antialiased like MATLAB's imresize (the Set5 LR convention)
    blur_sigma: float = 0.0         # Gaussian blur σ in HR pixels, 0 = off
    noise_sigma: float = 0.0        # Gaussian noise σ on 0–255, 0 = off
    jpeg_quality: int = 0           # 1–100, 0 = off
    seed: int = 0

    def steps(self) -> list[str]:
        s = []
        if self.blur_sigma > 0:
            s.append(f"Gaussian blur σ {self.blur_sigma:g}")
        if self.scale > 1:
            s.append(f"{self.downscale} downscale ÷{self.scale}")
        if self.noise_sigma > 0:
            s.append(f"Gaussian noise σ {self.noise_sigma:g} (seed {self.seed})")
        if self.jpeg_quality:
            s.append(f"JPEG quality {self.jpeg_quality}")
        return s

    def plain_steps(self) -> list[str]:
        """The steps in plain words, one clause each, in the order they run ("made it 4× smaller")."""
        s = []
        if self.blur_sigma > 0:
            s.append("blurred it" if self.blur_sigma < 2 else "blurred it strongly")
        if self.scale > 1:
            s.append(f"made it {self.scale}× smaller")
        if self.noise_sigma > 0:
            s.append("added grain (noise)" if self.noise_sigma < 20 else "added strong grain (noise)")
        if self.jpeg_quality:
            s.append("saved it as a " + ("good-quality" if self.jpeg_quality >= 90 else "medium-quality"
                                         if self.jpeg_quality >= 70 else "low-quality") + " JPEG")
        return s

    def plain(self) -> str:
        """"blurred it, made it 4× smaller, added grain (noise) and saved it as a low-quality JPEG"."""
        return joined(self.plain_steps()) or "left it as it was"

    def check(self) -> None:
        if self.scale not in (1, 2, 3, 4, 8):
            raise ValueError("downscale factor must be 1, 2, 3, 4 or 8")
        if self.downscale not in DOWNSCALE_METHODS:
            raise ValueError(f"downscale method must be one of {', '.join(DOWNSCALE_METHODS)}")
        if not (0 <= self.blur_sigma <= 10 and 0 <= self.noise_sigma <= 100 and 0 <= self.jpeg_quality <= 100):
            raise ValueError("blur σ 0–10, noise σ 0–100, JPEG quality 0 (off) to 100")


@dataclass
class TestPair:
    lr: np.ndarray           # the degraded input
    hr: np.ndarray           # the clean reference, cropped to a multiple of the scale
    steps: list[str] = field(default_factory=list)
    clean_size: tuple[int, int] | None = None  # width, height before that crop
    plain_steps: list[str] = field(default_factory=list)  # Degradation.plain_steps()

    def plain(self) -> str:
        """The pair in one plain sentence: "We took the clean photo (512×512), made it 4× smaller, added grain
        (noise) and saved it as a low-quality JPEG: the input is 128×128." (`pipeline()` is the exact recipe.)"""
        w, h = self.clean_size or self.hr.shape[1::-1]
        lh, lw = self.lr.shape[:2]
        done = joined(self.plain_steps) or "left it as it was"
        return f"We took the clean photo ({w}×{h}), {done}: the input is {lw}×{lh}."

    def pipeline(self) -> str:
        w, h = self.clean_size or self.hr.shape[1::-1]
        lh, lw = self.lr.shape[:2]
        return " → ".join([f"clean {w}×{h}", *self.steps, f"input {lw}×{lh}"])


def joined(clauses: list[str]) -> str:
    """"a, b and c"."""
    return ", ".join(clauses[:-1]) + " and " + clauses[-1] if len(clauses) > 1 else "".join(clauses)


def _downscale(img: np.ndarray, size: tuple[int, int], how: str) -> np.ndarray:
    if how == "area":
        return cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    if how == "nearest":
        return cv2.resize(img, size, interpolation=cv2.INTER_NEAREST)
    return pillow_bicubic(img, size)


def make_pair(clean: np.ndarray, d: Degradation) -> TestPair:
    """`clean`: uint8/uint16 H×W(×C). Returns the degraded input and the matching reference, same dtype."""
    d.check()
    dtype = clean.dtype
    h, w = clean.shape[:2]
    h, w = h - h % d.scale, w - w % d.scale  # reference = clean cut to a multiple of the scale (mod crop)
    if h < d.scale or w < d.scale:
        raise ValueError(f"the image is smaller than the downscale factor {d.scale}")
    hr = np.ascontiguousarray(clean[:h, :w])
    steps = list(d.steps())
    if (h, w) != clean.shape[:2]:
        steps.insert(0, f"crop to {w}×{h} (a multiple of {d.scale})")
    img = to_float(hr)
    gray = img.ndim == 2
    if gray:
        img = img[..., None]
    if d.blur_sigma > 0:
        img = cv2.GaussianBlur(img, (0, 0), d.blur_sigma).reshape(img.shape)
    if d.scale > 1:
        img = _downscale(img, (w // d.scale, h // d.scale), d.downscale).reshape(h // d.scale, w // d.scale, -1)
    if d.noise_sigma > 0:
        rng = np.random.default_rng(d.seed)
        img = img + rng.normal(0, d.noise_sigma / 255.0, img.shape).astype(np.float32)
    img = np.clip(img, 0, 1)
    if d.jpeg_quality:
        u8 = to_uint8(img)
        bgr = u8[..., 0] if u8.shape[2] == 1 else cv2.cvtColor(u8[..., :3], cv2.COLOR_RGB2BGR)
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, d.jpeg_quality])
        dec = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        dec = dec[..., None] if dec.ndim == 2 else cv2.cvtColor(dec, cv2.COLOR_BGR2RGB)
        if u8.shape[2] == 4:  # JPEG has no alpha: keep the degraded image's alpha
            dec = np.dstack([dec, u8[..., 3]])
        img = to_float(dec)
        if dtype == np.uint16:
            steps[-1] += " (8-bit, as JPEG is)"
    lr = from_float(img, dtype, in_place=True)
    return TestPair(lr[..., 0] if gray else lr, hr, steps, (clean.shape[1], clean.shape[0]), d.plain_steps())
