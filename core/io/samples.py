"""Built-in sample images that every fresh clone has: scikit-image's bundled data, made low-resolution."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from core.io.imageio import LoadedImage


@dataclass(frozen=True)
class Sample:
    name: str
    load: Callable[[], np.ndarray]
    shrink: int       # area-downscale factor applied to make it a low-resolution input
    about: str

    @property
    def title(self) -> str:
        """Name and size, for the picker: the size decides whether a crop preview is worth it."""
        h, w = _shape(self.name)
        return f"{self.name} ({w // self.shrink}×{h // self.shrink})"

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


@functools.lru_cache(maxsize=None)
def _shape(sample: str) -> tuple[int, ...]:
    return SAMPLES[sample].load().shape[:2]


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load():
        from skimage import data
        return getattr(data, name)()
    return load


SAMPLES = {s.name: s for s in [
    Sample("astronaut", _skimage("astronaut"), 4, "portrait photo with a face (NASA)"),
    Sample("astronaut_512", _skimage("astronaut"), 1, "the same portrait at full size: preview a crop first"),
    Sample("coffee_300", _skimage("coffee"), 2, "coffee cup at 300×200: gradients and a patterned saucer"),
    Sample("rocket", _skimage("rocket"), 1, "photo of a rocket on its pad, 640×427: sky, metal, trees"),
    Sample("cat", _skimage("chelsea"), 3, "photo of a cat: fur texture"),
    Sample("coffee", _skimage("coffee"), 4, "photo of a coffee cup: smooth gradients"),
    Sample("logo", _skimage("logo"), 3, "illustration with transparency (RGBA)"),
    Sample("camera", _skimage("camera"), 4, "classic grayscale test photo"),
    Sample("text", _skimage("text"), 2, "grayscale photo of printed text"),
]}
