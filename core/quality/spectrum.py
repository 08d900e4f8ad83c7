"""Where in frequency a result differs from the truth: the radially averaged power spectrum of each result, of
the reference (when there is one) and of bicubic, all on the same output grid.

How a curve is made (numpy FFT): luminance (scikit-image `rgb2gray`, BT.709 weights, 0…1) minus its mean,
times a separable Hann window (without one the image's borders, a jump where the FFT wraps, add a cross of
false power at every frequency), then the periodogram |FFT|² / Σ window², so white noise of variance σ² reads
σ² at every frequency whatever the image size, and the mean over all 2-D bins is the windowed image's variance.
The 2-D bins are averaged in rings of width 1/N (N: the shorter side) up to 0.5, the Nyquist frequency; the
frequency is in cycles per pixel of the output grid.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from core.io.pixels import to_float

READING = "above the reference's curve: detail the method invented; below: detail lost"
READING_WITHOUT_REFERENCE = "no true image here: above bicubic's curve, detail the method added (real or invented)"


@dataclass
class Spectrum:
    label: str
    role: str                # "method", "reference" or "bicubic"
    frequency: np.ndarray    # ring centres, cycles per pixel of the output grid, 0 … 0.5
    power: np.ndarray        # mean periodogram value in each ring (luminance on 0…1)


@dataclass
class Band:
    low: float               # cycles per pixel
    high: float
    db: float                # 10·log10(method's power / reference's), averaged over the band's rings
    verdict: str             # "above" (invented), "below" (lost) or "close"
    above_input_nyquist: bool  # the band is finer than anything the input could hold


@dataclass
class BandReading:
    method: str
    bands: list[Band]
    sentence: str            # one line: where it is above and below the reference


@dataclass
class SpectrumView:
    curves: list[Spectrum]
    reading: str = READING
    input_nyquist: float | None = None   # 0.5 / scale: the finest frequency the input holds, on the output grid
    bands: list[BandReading] = field(default_factory=list)  # per method, when there is a reference
    notes: list[str] = field(default_factory=list)
    method: str = ("luminance (BT.709) minus its mean, Hann window, periodogram |FFT|²/Σw², averaged in rings "
                   "of 1/N cycles per pixel")


def luminance(pixels: np.ndarray) -> np.ndarray:
    """H×W float64 in 0…1 from uint8/uint16 (or float 0…1) pixels, gray or RGB(A)."""
    from skimage.color import rgb2gray

    img = to_float(pixels, np.float64)
    if img.ndim == 3 and img.shape[2] in (2, 4):
        img = img[..., :-1]
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    return rgb2gray(img) if img.ndim == 3 else img


def radial_power(pixels: np.ndarray, label: str = "", role: str = "method") -> Spectrum:
    """The radially averaged power spectrum of `pixels` (see the module's docstring for the exact recipe)."""
    y = luminance(pixels)
    h, w = y.shape
    if min(h, w) < 8:
        raise ValueError(f"{label or 'the image'} is {w}×{h}: a spectrum needs sides of at least 8 pixels")
    window = np.outer(np.hanning(h), np.hanning(w))
    periodogram = np.abs(np.fft.fft2((y - y.mean()) * window)) ** 2 / np.sum(window ** 2)
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    radius = np.hypot(fy, fx)
    n = min(h, w)
    ring = np.floor(radius * n + 0.5).astype(int)  # ring k holds radii within half a step of k/N
    rings = n // 2 + 1
    inside = ring < rings
    counts = np.bincount(ring[inside], minlength=rings)
    sums = np.bincount(ring[inside], weights=periodogram[inside], minlength=rings)
    power = sums / np.maximum(counts, 1)
    return Spectrum(label, role, np.arange(rings) / n, power)


def octave_bands(n: int) -> list[tuple[float, float]]:
    """Octaves down from the Nyquist frequency: (0.25, 0.5), (0.125, 0.25), … while a band spans ≥ 2 rings."""
    bands, high = [], 0.5
    while high / 2 >= 2 / n:
        bands.append((high / 2, high))
        high /= 2
    return bands[::-1]


def compare_bands(curve: Spectrum, reference: Spectrum, *, scale: float | None = None,
                  tolerance_db: float = 1.0) -> BandReading:
    """Per octave band, how far `curve` lies above (+ dB: detail invented) or below (− dB: detail lost) the
    reference; within ±`tolerance_db` it is "close"."""
    n = round(1 / reference.frequency[1])
    bands = []
    for low, high in octave_bands(n):
        pick = (reference.frequency >= low) & (reference.frequency < high if high < 0.5 else
                                                reference.frequency <= high)
        ratio = curve.power[pick] / np.maximum(reference.power[pick], 1e-30)
        db = float(np.mean(10 * np.log10(np.maximum(ratio, 1e-30))))
        verdict = "above" if db > tolerance_db else "below" if db < -tolerance_db else "close"
        bands.append(Band(low, high, db, verdict, bool(scale and low >= 0.5 / scale)))
    return BandReading(curve.label, bands, _sentence(curve.label, bands))


def _sentence(name: str, bands: list[Band]) -> str:
    def spans(verdict: str) -> list[str]:
        return [f"{b.low:.3g}–{b.high:.3g} ({b.db:+.1f} dB)" for b in bands if b.verdict == verdict]

    above, below = spans("above"), spans("below")
    parts = ([f"above the reference at {', '.join(above)} cycles/px: detail invented"] if above else []) + (
        [f"below it at {', '.join(below)} cycles/px: detail lost"] if below else [])
    return f"{name}: " + ("; ".join(parts) if parts else "within the tolerance of the reference in every band")


def _common(images: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], list[str]]:
    """Every image cut to the shared top-left size (as the scores' size policy "crop" does), said in a note."""
    h = min(img.shape[0] for img in images.values())
    w = min(img.shape[1] for img in images.values())
    cut = [k for k, img in images.items() if img.shape[:2] != (h, w)]
    notes = [f"cut to the shared top-left {w}×{h}: {', '.join(cut)}"] if cut else []
    return {k: img[:h, :w] for k, img in images.items()}, notes


def compare_spectra(outputs: Mapping[str, np.ndarray], *, reference: np.ndarray | None = None,
                    bicubic: np.ndarray | None = None, scale: float | None = None,
                    tolerance_db: float = 1.0) -> SpectrumView:
    """Spectra of every method's output, of the reference and of bicubic (each optional), on the same output
    grid; with a reference, per method the bands where it is above or below it. `scale`: input → output, to
    mark the input's Nyquist frequency (0.5 / scale)."""
    named = {("method", k): v for k, v in outputs.items()}
    if reference is not None:
        named[("reference", "reference")] = reference
    if bicubic is not None:  # a method called bicubic may be among the outputs too
        named[("bicubic", "bicubic (baseline)" if "bicubic" in outputs else "bicubic")] = bicubic
    if not named:
        raise ValueError("no image to take a spectrum of")
    same, notes = _common({f"{role}:{label}": img for (role, label), img in named.items()})
    curves = [radial_power(same[f"{role}:{label}"], label, role) for role, label in named]
    view = SpectrumView(curves, input_nyquist=0.5 / scale if scale and scale > 1 else None, notes=notes)
    ref = next((c for c in curves if c.role == "reference"), None)
    if ref is not None:
        view.bands = [compare_bands(c, ref, scale=scale, tolerance_db=tolerance_db)
                      for c in curves if c.role != "reference"]
    else:  # the chart's title must not send a reader to a curve that is not there
        view.reading = READING_WITHOUT_REFERENCE if bicubic is not None else "no true image here to compare with"
    return view
