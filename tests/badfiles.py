"""Every awkward file a classroom can produce, generated in memory. Each entry: file name, bytes, and what
must happen: ("ok", expected (width, height, channels, bit depth) of the decoded image, note substring or None)
or ("error", a substring of the one clear message)."""
import io
import struct
import zlib

import numpy as np
from PIL import Image


def _png(arr, mode=None, **kw):
    buf = io.BytesIO()
    Image.fromarray(arr, mode).save(buf, "PNG", **kw)
    return buf.getvalue()


def _bomb_png(width=50000, height=50000):
    """A valid PNG header claiming 50000×50000, with a tiny IDAT (a decompression bomb's shape)."""
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def _photo(h=48, w=64):
    y, x = np.mgrid[0:h, 0:w]
    return np.dstack([(x * 4) % 256, (y * 5) % 256, ((x + y) * 3) % 256]).astype(np.uint8)


def build():
    photo = _photo()
    files = {}
    files["empty.png"] = (b"", ("error", "empty"))
    files["text.png"] = (b"hello, this is not an image\n" * 10, ("error", "not an image"))
    files["random.jpg"] = (np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
                           ("error", "not an image"))
    png = _png(photo)
    files["truncated.png"] = (png[:len(png) // 2], ("error", "damaged or truncated"))
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, "JPEG", quality=90)
    files["truncated.jpg"] = (buf.getvalue()[:len(buf.getvalue()) // 2], ("error", "damaged or truncated"))
    files["bomb.png"] = (_bomb_png(), ("error", "over the input limit"))
    files["1x1.png"] = (_png(photo[:1, :1]), ("ok", (1, 1, 3, 8), None))
    files["8x8.png"] = (_png(photo[:8, :8]), ("ok", (8, 8, 3, 8), None))
    files["1x5000.png"] = (_png(np.tile(photo[:1, :50], (1, 100, 1))), ("ok", (5000, 1, 3, 8), None))
    deep = (photo.astype(np.uint16) * 257)[..., 0] + 7
    files["gray16.png"] = (_png(deep), ("ok", (64, 48, 1, 16), None))
    import cv2
    ok, rgb16 = cv2.imencode(".png", (photo.astype(np.uint16) * 257 + 3)[..., ::-1])
    files["rgb16.png"] = (rgb16.tobytes(), ("ok", (64, 48, 3, 16), None))
    pal = Image.fromarray(photo).quantize(16)
    buf = io.BytesIO()
    pal.save(buf, "PNG", transparency=0)
    files["palette_transparent.png"] = (buf.getvalue(), ("ok", (64, 48, 4, 8), "palette"))
    files["gray_alpha.png"] = (_png(np.dstack([photo[..., 0], photo[..., 1]])), ("ok", (64, 48, 2, 8), None))
    buf = io.BytesIO()
    Image.fromarray(photo).convert("CMYK").save(buf, "JPEG", quality=90)
    files["cmyk.jpg"] = (buf.getvalue(), ("ok", (64, 48, 3, 8), "CMYK"))
    frames = [Image.fromarray(np.roll(photo, i * 8, axis=1)) for i in range(4)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    files["animated.gif"] = (buf.getvalue(), ("ok", (64, 48, 3, 8), "first frame"))
    buf = io.BytesIO()
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], duration=100, lossless=True)
    files["animated.webp"] = (buf.getvalue(), ("ok", (64, 48, 3, 8), "first frame"))
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.fromarray(photo).transpose(Image.Transpose.ROTATE_90).save(buf, "JPEG", exif=exif.tobytes())
    files["exif_rotated.jpg"] = (buf.getvalue(), ("ok", (64, 48, 3, 8), "EXIF orientation"))
    buf = io.BytesIO()
    Image.fromarray(photo[..., 0].astype(np.float32) / 255 * 1.5 - 0.2, "F").save(buf, "TIFF")
    files["float_gray.tif"] = (buf.getvalue(), ("ok", (64, 48, 1, 16), "floating-point"))
    import tifffile
    buf = io.BytesIO()
    tifffile.imwrite(buf, photo.astype(np.float32) / 255)
    files["float_rgb.tif"] = (buf.getvalue(), ("ok", (64, 48, 3, 16), "floating-point"))
    return files
