"""Built-in sample images that every fresh clone has: scikit-image's bundled data, made low-resolution."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from core.imageio import LoadedImage


@dataclass(frozen=True)
class Sample:
    name: str
    load: Callable[[], np.ndarray]
    shrink: int       # area-downscale factor applied to make it a low-resolution input
    about: str

    def image(self) -> LoadedImage:
        full = self.load()
        h, w = full.shape[:2]
        small = full if self.shrink == 1 else cv2.resize(full, (w // self.shrink, h // self.shrink),
                                                         interpolation=cv2.INTER_AREA)
        note = f"sample: {self.about}; area-downscaled ×{self.shrink} from {w}×{h}" if self.shrink > 1 else \
            f"sample: {self.about}"
        return LoadedImage(np.ascontiguousarray(small), name=f"{self.name}.png", format="sample", notes=[note])

    def original(self) -> np.ndarray:
        """The clean full-size image (a true reference for the metrics)."""
        return self.load()


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load():
        from skimage import data
        return getattr(data, name)()
    return load


SAMPLES = {s.name: s for s in [
    Sample("astronaut", _skimage("astronaut"), 4, "portrait photo with a face (NASA)"),
    Sample("cat", _skimage("chelsea"), 3, "photo of a cat: fur texture"),
    Sample("coffee", _skimage("coffee"), 4, "photo of a coffee cup: smooth gradients"),
    Sample("logo", _skimage("logo"), 3, "illustration with transparency (RGBA)"),
    Sample("camera", _skimage("camera"), 4, "classic grayscale test photo"),
    Sample("text", _skimage("text"), 2, "grayscale photo of printed text"),
]}
