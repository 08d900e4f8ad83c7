"""Decode and validate images: every page and the CLI read files through `load_image`.

Pixels are kept as numpy arrays: H×W (gray), H×W×2 (gray+alpha), H×W×3 (RGB) or H×W×4 (RGBA), dtype uint8
or uint16. Anything else is converted on load and the conversion is recorded in `notes`.
"""
from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, field
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core import settings

# Our own limit replaces Pillow's bomb guard, so the message can say what to do.
Image.MAX_IMAGE_PIXELS = None

# every file name SR Lab offers to read: the CLI's folders, Batch's zips and every uploader take this list
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic", ".heif")
MIN_SIDE = 1
_TIFF_MAGIC = (b"II*\0", b"MM\0*")
_heif_registered = False


def _register_heif(start: bytes) -> None:
    """HEIC/HEIF (an iPhone's photos) through pillow-heif's Pillow opener, registered once, when the first file
    that may be one (an ISO media file: `ftyp` at byte 4) is opened. libheif turns the picture upright from the
    file's own rotation and mirror (as Pillow does a JPEG's EXIF orientation, in _decode) and sets the EXIF
    orientation to 1, so nothing turns it twice."""
    global _heif_registered
    if _heif_registered or start[4:8] != b"ftyp":
        return
    try:
        from pillow_heif import register_heif_opener
    except ImportError:  # not installed: Pillow then says it cannot read the file
        return
    register_heif_opener()
    _heif_registered = True


class ImageError(ValueError):
    """A file that cannot be used, with a message meant for the user."""


@dataclass
class LoadedImage:
    pixels: np.ndarray
    name: str = "image"
    format: str = "PNG"
    file_bytes: int = 0
    notes: list[str] = field(default_factory=list)
    metadata: "Metadata" = field(default_factory=lambda: Metadata())

    @property
    def width(self) -> int:
        return self.pixels.shape[1]

    @property
    def height(self) -> int:
        return self.pixels.shape[0]

    @property
    def channels(self) -> int:
        return 1 if self.pixels.ndim == 2 else self.pixels.shape[2]

    @property
    def bit_depth(self) -> int:
        return 16 if self.pixels.dtype == np.uint16 else 8

    @property
    def mode(self) -> str:
        return {1: "gray", 2: "gray+alpha", 3: "RGB", 4: "RGBA"}[self.channels]

    def describe(self) -> str:
        return f"{self.width}×{self.height} {self.mode} {self.bit_depth}-bit"


@dataclass(frozen=True)
class Metadata:
    """What an output file carries over from its input: ICC colour profile, resolution, EXIF (orientation
    reset to 1, since the pixels are already turned upright)."""
    icc_profile: bytes | None = None
    dpi: tuple[float, float] | None = None
    exif: bytes | None = None

    @classmethod
    def of(cls, im: Image.Image) -> "Metadata":
        exif = im.getexif()
        if 0x0112 in exif:
            exif[0x0112] = 1
        dpi = im.info.get("dpi")
        return cls(icc_profile=im.info.get("icc_profile") or None,
                   dpi=(float(dpi[0]), float(dpi[1])) if dpi else None, exif=exif.tobytes() if len(exif) else None)


# Pillow modes we can take as they are (numpy view of the same values).
_DIRECT_MODES = {"L": None, "LA": None, "RGB": None, "RGBA": None, "I;16": np.uint16, "I;16B": np.uint16,
                 "I;16L": np.uint16}


@dataclass(frozen=True)
class ImageHeader:
    """What a file will decode to, read from its header alone: a batch is sized from these before decoding."""
    width: int
    height: int
    mode: str       # Pillow's mode as the header states it ("RGB", "P", "I;16", …); tifffile's ("RGB float32")
    bit_depth: int  # 8 or 16: the decoded pixels' (float TIFFs become 16-bit)
    format: str

    @property
    def pixels(self) -> int:
        return self.width * self.height


def _open(source: BinaryIO, name: str) -> Image.Image | None:
    """Pillow's lazy open (header only); None for a TIFF only tifffile reads (e.g. float RGB)."""
    _register_heif(source.read(12))
    source.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Image.open(source)
    except UnidentifiedImageError:
        source.seek(0)
        if source.read(4) in _TIFF_MAGIC:
            return None
        raise ImageError(f"{name}: not an image file that can be read (PNG, JPEG, WebP, BMP, TIFF, GIF, "
                         "HEIC).") from None
    except Exception as exc:  # Pillow raises many types for broken headers
        raise ImageError(f"{name}: the file is damaged or truncated and cannot be decoded ({exc}).") from None


def read_header(source: bytes | BinaryIO, name: str = "image", max_pixels: int | None = None) -> ImageHeader:
    """Size, mode and bit depth of an image from its header, without decoding the pixels; `source` may be a
    seekable stream (a zip member). ImageError, with load_image's messages, when the header is refused."""
    max_pixels = settings.current().max_input_pixels if max_pixels is None else max_pixels
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    start = stream.read(32)
    if not start:
        raise ImageError(f"{name}: the file is empty (0 bytes). Choose another file.")
    stream.seek(0)
    im = _open(stream, name)
    if im is None:
        stream.seek(0)
        header = _tiff_header(stream, name)
    else:
        fmt = im.format or "unknown"
        header = ImageHeader(*im.size, im.mode, 16 if _is_high_bit_depth(im, start, fmt) else 8, fmt)
    _check_size(name, header.width, header.height, max_pixels)
    return header


def load_image(data: bytes, name: str = "image", max_pixels: int | None = None) -> LoadedImage:
    """Decode `data` into a LoadedImage or raise ImageError with a message for the user."""
    max_pixels = settings.current().max_input_pixels if max_pixels is None else max_pixels
    if not data:
        raise ImageError(f"{name}: the file is empty (0 bytes). Choose another file.")
    im = _open(io.BytesIO(data), name)
    if im is None:
        return _load_tiff(data, name, max_pixels)
    fmt = im.format or "unknown"
    width, height = im.size
    _check_size(name, width, height, max_pixels)
    notes: list[str] = []
    try:
        pixels = _decode(im, data, fmt, notes)
    except ImageError:
        raise
    except Exception as exc:
        raise ImageError(f"{name}: the file is damaged or truncated and cannot be decoded ({exc}).") from None
    try:
        metadata = Metadata.of(im)
    except Exception:  # damaged EXIF must not lose the pixels
        metadata = Metadata()
        notes.append("unreadable metadata (EXIF/ICC) dropped")
    return LoadedImage(np.ascontiguousarray(pixels), name=name, format=fmt, file_bytes=len(data), notes=notes,
                       metadata=metadata)


def _check_size(name: str, width: int, height: int, max_pixels: int) -> None:
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ImageError(f"{name}: the image has no pixels ({width}×{height}).")
    if width * height > max_pixels:
        raise ImageError(
            f"{name}: {width}×{height} = {width * height / 1e6:.1f} megapixels is over the input limit of "
            f"{max_pixels / 1e6:.1f} MP. Crop or downscale it first (or raise SRLAB_MAX_INPUT_PIXELS).")


def _tiff_size(page) -> tuple[int, int]:
    shape = page.shape
    height, width = (shape[0], shape[1]) if page.samplesperpixel == 1 or shape[-1] <= 4 else shape[1:3]
    return width, height


def _tiff_header(stream: BinaryIO, name: str) -> ImageHeader:
    import tifffile

    try:
        with tifffile.TiffFile(stream) as tif:
            page = tif.pages[0]
            return ImageHeader(*_tiff_size(page), f"{page.photometric.name} {page.dtype}",
                               8 if page.dtype == np.uint8 else 16, "TIFF")
    except Exception as exc:
        raise ImageError(f"{name}: the file is damaged or truncated and cannot be decoded ({exc}).") from None


def _load_tiff(data: bytes, name: str, max_pixels: int) -> LoadedImage:
    import tifffile

    notes: list[str] = []
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = tif.pages[0]
            _check_size(name, *_tiff_size(page), max_pixels)
            arr = page.asarray()
    except ImageError:
        raise
    except Exception as exc:
        raise ImageError(f"{name}: the file is damaged or truncated and cannot be decoded ({exc}).") from None
    if arr.ndim == 3 and arr.shape[0] in (3, 4) and arr.shape[2] not in (3, 4):  # planar → interleaved
        arr = np.moveaxis(arr, 0, 2)
    if arr.dtype.kind == "f":
        arr = _float_to_16_bit(arr, notes)
    elif arr.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"{name}: unsupported sample type {arr.dtype}.")
    return LoadedImage(np.ascontiguousarray(arr), name=name, format="TIFF", file_bytes=len(data), notes=notes)


def _decode(im: Image.Image, data: bytes, fmt: str, notes: list[str]) -> np.ndarray:
    n_frames = getattr(im, "n_frames", 1)
    if n_frames > 1:
        im.seek(0)
        notes.append(f"animated {fmt} with {n_frames} frames: the first frame is used")
    im.load()
    orientation = im.getexif().get(0x0112, 1)
    if _is_high_bit_depth(im, data, fmt):
        # Pillow reduces 16-bit colour to 8 bits; OpenCV keeps it (but ignores EXIF orientation).
        arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if arr is None:
            raise ImageError("the 16-bit image could not be decoded")
        arr = _from_opencv(arr, notes)
        if orientation != 1:
            arr = _apply_orientation(arr, orientation)
            notes.append("EXIF orientation applied")
        return arr
    if orientation != 1:
        im = ImageOps.exif_transpose(im)
        notes.append("EXIF orientation applied")
    elif im.info.get("original_orientation") not in (None, 1):  # HEIF: libheif turned it (see _register_heif)
        notes.append("EXIF orientation applied")
    return _from_pillow(im, notes)


def _is_high_bit_depth(im: Image.Image, data: bytes, fmt: str) -> bool:
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        return True
    # 16-bit RGB(A) PNG: IHDR bit depth byte (Pillow reports such files as 8-bit "RGB").
    return fmt == "PNG" and len(data) > 24 and data[24] == 16


def _float_to_16_bit(arr: np.ndarray, notes: list[str]) -> np.ndarray:
    notes.append(f"floating-point image (range {float(np.nanmin(arr)):.3g}…{float(np.nanmax(arr)):.3g}): "
                 "clipped to 0…1 and stored as 16-bit")
    return (np.clip(np.nan_to_num(arr), 0, 1) * 65535 + 0.5).astype(np.uint16)


def _from_opencv(arr: np.ndarray, notes: list[str]) -> np.ndarray:
    if arr.dtype.kind == "f":
        arr = _float_to_16_bit(arr, notes)
    elif arr.dtype == np.int32 or arr.dtype == np.uint32:
        arr = np.clip(arr, 0, 65535).astype(np.uint16)
    elif arr.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"unsupported sample type {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA)
    return arr


def _from_pillow(im: Image.Image, notes: list[str]) -> np.ndarray:
    mode = im.mode
    if mode in _DIRECT_MODES:
        arr = np.asarray(im)
        return arr.astype(_DIRECT_MODES[mode]) if _DIRECT_MODES[mode] else arr
    if mode == "P" or mode == "PA":
        has_alpha = "transparency" in im.info or mode == "PA"
        im = im.convert("RGBA" if has_alpha else "RGB")
        notes.append("palette image converted to " + im.mode)
    elif mode == "1":
        im = im.convert("L")
        notes.append("1-bit image converted to 8-bit gray")
    elif mode == "CMYK":
        im = im.convert("RGB")
        notes.append("CMYK image converted to RGB (no colour profile applied)")
    elif mode == "La":
        im = im.convert("LA")
    else:
        notes.append(f"{mode} image converted to RGB")
        im = im.convert("RGB")
    return np.asarray(im)


def _apply_orientation(arr: np.ndarray, orientation: int) -> np.ndarray:
    # EXIF tag 0x0112 values 2..8 (ImageOps.exif_transpose does this for Pillow images, not for 16-bit RGB).
    ops = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: np.swapaxes(a, 0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: np.rot90(a[:, ::-1], -1),
           8: lambda a: np.rot90(a, 1)}
    return np.ascontiguousarray(ops.get(orientation, lambda a: a)(arr))


def read_image_file(path: str | os.PathLike, max_pixels: int | None = None) -> LoadedImage:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ImageError(f"{path}: cannot read the file ({exc.strerror}).") from None
    return load_image(data, name=os.path.basename(path), max_pixels=max_pixels)


def to_display(pixels: np.ndarray, max_side: int) -> np.ndarray:
    """A copy for a screen or a handout: 8-bit (16-bit rounded), gray+alpha as RGBA, no larger than `max_side`
    (area-downsized). The one display downscale of the app and the handout."""
    arr = pixels
    if arr.dtype == np.uint16:
        arr = (arr.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 2:
        arr = np.dstack([arr[..., 0]] * 3 + [arr[..., 1]])
    h, w = arr.shape[:2]
    if max(h, w) > max_side:
        f = max_side / max(h, w)
        arr = cv2.resize(arr, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    return arr


def encode_png(pixels: np.ndarray, compression: int = 3) -> bytes:
    """PNG bytes keeping bit depth and alpha."""
    arr = pixels
    if arr.ndim == 3 and arr.shape[2] == 2:
        if arr.dtype == np.uint8:
            buf = io.BytesIO()
            Image.fromarray(arr, "LA").save(buf, format="PNG", compress_level=compression)
            return buf.getvalue()
        arr = np.dstack([arr[..., 0]] * 3 + [arr[..., 1]])  # OpenCV writes no 16-bit gray+alpha
    if arr.ndim == 3 and arr.shape[2] == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA)
    ok, buf = cv2.imencode(".png", arr, [cv2.IMWRITE_PNG_COMPRESSION, compression])
    if not ok:
        raise ImageError("PNG encoding failed")
    return buf.tobytes()


def image_key(pixels: np.ndarray) -> str:
    """A short content hash that names an input in results caches and requests."""
    import hashlib

    h = hashlib.sha1(np.ascontiguousarray(pixels).data)
    h.update(str((pixels.shape, pixels.dtype)).encode())
    return h.hexdigest()[:16]
