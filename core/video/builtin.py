"""The built-in clip every fresh clone has: a slow pan and zoom over scikit-image's `coffee` photo. The HR pan
(384×256, drawn with sub-pixel cubic warps of the photo) is the true reference; the LR clip is each HR frame
downscaled ×4 with Pillow's antialiased bicubic (the Set5 LR convention), 96×64. Made on the fly, a frame at a
time."""
from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np

from core.io.pixels import to_float, to_uint8
from core.io.video import Clip, clip_from_arrays
from core.methods.classical import pillow_bicubic

NAME = "builtin:pan"
HR_SIZE = (384, 256)   # width, height
SCALE = 4
FRAMES = 32
RATE = Fraction(24)


def _photo() -> np.ndarray:
    from skimage import data

    return data.coffee()  # 400×600 RGB, public domain (scikit-image's data)


def hr_frame(photo: np.ndarray, t: float) -> np.ndarray:
    """The HR frame at 0 ≤ t ≤ 1: a window panning 120 px right and 30 px down while zooming in 15 %."""
    w, h = HR_SIZE
    zoom = 1.0 + 0.15 * t
    cx, cy = 230 + 120 * t, 190 + 30 * t
    m = np.array([[zoom, 0, w / 2 - zoom * cx], [0, zoom, h / 2 - zoom * cy]], np.float32)
    return cv2.warpAffine(photo, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def _hr_frames(frames: int):
    photo = _photo()
    for i in range(frames):
        yield hr_frame(photo, i / max(1, frames - 1))


def reference(frames: int = FRAMES) -> Clip:
    return clip_from_arrays(f"{NAME} (HR reference)", lambda: _hr_frames(frames), RATE, frames)


def _shrink(hr: np.ndarray) -> np.ndarray:
    lr = pillow_bicubic(to_float(hr), (HR_SIZE[0] // SCALE, HR_SIZE[1] // SCALE))
    return to_uint8(lr)


def clip(frames: int = FRAMES) -> Clip:
    """The LR clip (96×64 at 24 fps); `reference(frames)` is its true HR."""
    return clip_from_arrays(NAME, lambda: (_shrink(f) for f in _hr_frames(frames)), RATE, frames)
