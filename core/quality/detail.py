"""Where an image is most detailed: the app's region starts there and the handout zooms there (one definition)."""
from __future__ import annotations

import cv2
import numpy as np

from core.io.pixels import detail_energy, peaks


def most_detailed(pixels: np.ndarray) -> tuple[float, float]:
    """The centre (shares of width and height) of the busiest part: the peak of the blurred gradient energy
    (Sobel magnitude of a 64-px-wide gray copy, Gaussian σ 4 there), looked for away from the outer eighth of each
    side: a peak on the border put the attribution page's window on the image's edge (astronaut: x 99 %, a flat
    dark strip) and a crop's centre where a crop cannot be centred."""
    gray = pixels if pixels.ndim == 2 else pixels[..., :3].mean(axis=2)
    small = cv2.resize(gray.astype(np.float32), (64, max(1, round(64 * gray.shape[0] / gray.shape[1]))),
                       interpolation=cv2.INTER_AREA)
    energy = detail_energy(small, 4)
    h, w = energy.shape
    # floor: a resize leaves float dust on a flat image, where nothing is busier than the centre
    found = peaks(energy, 1, border=(h // 8, w // 8), floor=1e-3)
    if not found:
        return 0.5, 0.5
    x, y = found[0]
    return (x + 0.5) / w, (y + 0.5) / h
