"""Pixel conversions, in one place: an image to float 0…1 by its dtype's range and back (rounded), a window
centred on a point and kept inside the image, and where an image has the most detail (gradient energy and its
peaks). Every module converts through these, so a 16-bit image is scaled by 65535 everywhere or nowhere."""
from __future__ import annotations

import cv2
import numpy as np


def dtype_max(dtype) -> float:
    """The value that stands for full brightness: 65535 for uint16, 255 for uint8, 1 for a float image."""
    dtype = np.dtype(dtype)
    return 65535.0 if dtype == np.uint16 else 255.0 if dtype == np.uint8 else 1.0


def to_float(pixels: np.ndarray, dtype=np.float32) -> np.ndarray:
    """`pixels` (uint8, uint16 or float 0…1) as `dtype` in 0…1, the shape kept."""
    return pixels.astype(dtype) / dtype_max(pixels.dtype)


def from_float(values: np.ndarray, dtype=np.uint8, in_place: bool = False) -> np.ndarray:
    """Float 0…1 (clipped) to `dtype`, rounded half up. `in_place` scales `values` itself (an array the caller
    made): at 8000×8000 each float copy is 768 MB."""
    arr = values if in_place else np.array(values, np.float32)
    np.clip(arr, 0, 1, out=arr)
    arr *= dtype_max(dtype)
    arr += 0.5
    return arr.astype(dtype)


def to_uint8(values: np.ndarray) -> np.ndarray:
    """Float 0…1 (clipped) to uint8, rounded."""
    return from_float(values, np.uint8)


def centred(centre: float, size: int, length: int) -> int:
    """The start of a window of `size` centred on `centre` (pixels), moved inside 0…`length`."""
    return min(max(0, round(centre - size / 2)), length - size)


def detail_energy(gray: np.ndarray, sigma: float) -> np.ndarray:
    """Blurred gradient energy: the Sobel magnitude of `gray` (H×W float32), Gaussian σ `sigma` px."""
    gray = gray.astype(np.float32)
    return cv2.GaussianBlur(np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1)),
                            (0, 0), sigma)


def peaks(energy: np.ndarray, n: int, border: tuple[int, int] = (0, 0), apart: int = 0,
          floor: float = 0.0) -> list[tuple[int, int]]:
    """Up to `n` (x, y) of the highest energy, `border` (rows, columns) away from the edges and more than `apart`
    px from one another (a square), each above `floor`."""
    h, w = energy.shape
    by, bx = border
    inner = np.zeros_like(energy)
    inner[by:h - by or None, bx:w - bx or None] = energy[by:h - by or None, bx:w - bx or None]
    found = []
    for _ in range(n):
        y, x = np.unravel_index(int(np.argmax(inner)), inner.shape)
        if not inner[y, x] > floor:
            break
        found.append((int(x), int(y)))
        inner[max(0, y - apart):y + apart + 1, max(0, x - apart):x + apart + 1] = 0
    return found
