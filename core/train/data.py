"""Training data: clean images in, (low-resolution, high-resolution) pairs out, made on the fly with the
project's own degradation (core/quality/degrade.py) on random crops, flips and 90° rotations. Validation
uses whole images the training never sees, chosen by the seed; with a single image, a part of it that no
training crop touches."""
from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.io.imageio import LoadedImage
from core.io.pixels import to_float
from core.quality.degrade import Degradation, make_pair
from core.train.config import TrainError

# the built-in samples that are photos (not the illustration), each photo once (some samples share a photo)
BUILTIN = ("astronaut", "coffee", "rocket", "cat", "camera", "text")


@dataclass(frozen=True)
class Clean:
    name: str
    pixels: np.ndarray  # H×W×3 uint8 or uint16


@dataclass(frozen=True)
class Split:
    train: list[Clean]
    validation: list[Clean]
    held_out: str  # how the validation was kept apart, for the card

    def describe(self) -> dict:
        return {"train": [c.name for c in self.train], "validation": [c.name for c in self.validation],
                "held_out": self.held_out}


@dataclass(frozen=True)
class Pairs:
    lr: np.ndarray  # N×3×h×w float32 in 0…1
    hr: np.ndarray  # N×3×(h·s)×(w·s)


def builtin_images() -> list[LoadedImage]:
    """The built-in sample photos at full size (core/io/samples.py): clean references to train on."""
    from core.io.samples import SAMPLES

    return [LoadedImage(SAMPLES[name].original(), name=f"{name}.png", format="sample") for name in BUILTIN]


def _rgb(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype not in (np.uint8, np.uint16):
        raise TrainError(f"images must be 8- or 16-bit, not {pixels.dtype}")
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.shape[2] in (2, 4):  # alpha does not go through the network
        pixels = pixels[..., :-1]
    return np.ascontiguousarray(np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels)


def cleans(images: Sequence[LoadedImage | np.ndarray] | None) -> list[Clean]:
    if not images:
        raise TrainError("no images to train on: give images, a folder, or the built-in samples")
    out = []
    for i, img in enumerate(images):
        name, pixels = (img.name, img.pixels) if isinstance(img, LoadedImage) else (f"image {i + 1}", img)
        out.append(Clean(name, _rgb(np.asarray(pixels))))
    return out


def fingerprint(images: list[Clean]) -> str:
    """Names the pixels a run trained on: a resumed run must be given the same images."""
    h = hashlib.sha256()
    for c in images:
        h.update(str(c.pixels.shape).encode())
        h.update(c.pixels.tobytes())
    return h.hexdigest()[:16]


def split(images: list[Clean], *, crop: int, val_images: int, seed: int) -> Split:
    """Train / validation by the seed. `crop`: the high-resolution training crop side."""
    for c in images:
        h, w = c.pixels.shape[:2]
        if min(h, w) < crop:
            raise TrainError(f"{c.name} is {w}×{h}: smaller than the {crop}×{crop} training crop")
    if len(images) == 1:
        return _split_one(images[0], crop)
    order = np.random.default_rng([seed, 1]).permutation(len(images))
    held = min(val_images, len(images) - 1)
    return Split(train=[images[i] for i in sorted(order[held:])], validation=[images[i] for i in sorted(order[:held])],
                 held_out="whole images")


def _split_one(image: Clean, crop: int) -> Split:
    """One image: its last quarter along the longer side validates; training crops come from the rest."""
    h, w = image.pixels.shape[:2]
    wide = w >= h
    side = w if wide else h
    cut = side - max(side // 4, 1)
    if cut < crop:
        raise TrainError(f"{image.name} is too small to hold a part out for validation: give a second image or one "
                         f"at least {crop * 4 // 3 + 1} px on its longer side")
    a, b = (image.pixels[:, :cut], image.pixels[:, cut:]) if wide else (image.pixels[:cut], image.pixels[cut:])
    part = "right" if wide else "bottom"
    return Split(train=[Clean(image.name, np.ascontiguousarray(a))],
                 validation=[Clean(f"{image.name} ({part} quarter)", np.ascontiguousarray(b))],
                 held_out=f"the {part} quarter of {image.name}, which no training crop touches")


def _float(chw_u: np.ndarray) -> np.ndarray:
    return to_float(np.ascontiguousarray(chw_u.transpose(2, 0, 1)))


def validation_pairs(images: list[Clean], degradation: Degradation, side: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """One fixed pair per held-out image: its centre crop (at most `side` × scale), degraded with a fixed seed.
    Returns (lr, hr) as 3×h×w float32."""
    scale = degradation.scale
    out = []
    for i, c in enumerate(images):
        h, w = c.pixels.shape[:2]
        ch, cw = (min(side * scale, h) // scale * scale, min(side * scale, w) // scale * scale)
        y, x = (h - ch) // 2, (w - cw) // 2
        pair = make_pair(c.pixels[y:y + ch, x:x + cw], dataclasses.replace(degradation, seed=degradation.seed + i))
        out.append((_float(pair.lr), _float(pair.hr)))
    return out


class PairMaker:
    """Random training pairs: an image (chosen by area), a crop, a flip and a 90° rotation, then the
    degradation with its own noise draw. All draws come from one generator, whose state a checkpoint keeps."""

    def __init__(self, images: list[Clean], degradation: Degradation, patch: int, rng: np.random.Generator):
        self.images, self.degradation, self.rng = images, degradation, rng
        self.crop = patch * degradation.scale
        areas = np.array([c.pixels.shape[0] * c.pixels.shape[1] for c in images], dtype=np.float64)
        self.weights = areas / areas.sum()

    def batch(self, n: int) -> Pairs:
        lrs, hrs = zip(*(self._one() for _ in range(n)))
        return Pairs(np.stack(lrs), np.stack(hrs))

    def _one(self) -> tuple[np.ndarray, np.ndarray]:
        rng, crop = self.rng, self.crop
        img = self.images[rng.choice(len(self.images), p=self.weights)].pixels
        y = rng.integers(0, img.shape[0] - crop + 1)
        x = rng.integers(0, img.shape[1] - crop + 1)
        hr = img[y:y + crop, x:x + crop]
        if rng.random() < 0.5:
            hr = hr[:, ::-1]
        hr = np.ascontiguousarray(np.rot90(hr, k=int(rng.integers(4))))
        pair = make_pair(hr, dataclasses.replace(self.degradation, seed=int(rng.integers(2 ** 31))))
        return _float(pair.lr), _float(pair.hr)
