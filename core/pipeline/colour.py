"""Colour fix: GANs shift colours (a tint, a brightness change); the input's colours are the truth at low
frequencies. Two ways, as the field uses them (StableSR's `adain` and `wavelet` colour fixes):
- "mean/std": each channel of the output gets the input's mean and standard deviation;
- "low band": the output keeps its own detail, the input (resized to the output) gives the low frequencies.
Written here because no maintained package offers it on numpy arrays; each is a few array operations."""
from __future__ import annotations

import cv2
import numpy as np

COLOUR_FIXES = ("off", "mean/std", "low band")


def colour_fix(output: np.ndarray, source: np.ndarray, mode: str) -> np.ndarray:
    """`output` (H×W×C float 0…1) with the colours of `source` (the input, any size, same channels)."""
    if mode == "off":
        return output
    if mode not in COLOUR_FIXES:
        raise ValueError(f"colour fix {mode!r}: choose one of {', '.join(COLOUR_FIXES)}")
    if mode == "mean/std":
        out_mean, out_std = output.mean(axis=(0, 1)), output.std(axis=(0, 1))
        src_mean, src_std = source.mean(axis=(0, 1)), source.std(axis=(0, 1))
        fixed = (output - out_mean) / np.maximum(out_std, 1e-6) * src_std + src_mean
        return np.clip(fixed, 0, 1, out=fixed).astype(np.float32)
    h, w = output.shape[:2]
    upscaled = cv2.resize(source, (w, h), interpolation=cv2.INTER_CUBIC).reshape(output.shape)
    sigma = max(1.0, 2.0 * w / source.shape[1])  # about two input pixels: below it is the network's detail

    def low(img):
        return cv2.GaussianBlur(img, (0, 0), sigma).reshape(img.shape)

    fixed = output - low(output) + low(upscaled)
    return np.clip(fixed, 0, 1, out=fixed).astype(np.float32)
