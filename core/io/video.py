"""Clips in and out, one frame at a time (never the whole clip held): MP4 / WebM / MOV / MKV through PyAV
(FFmpeg's libraries, bundled in its wheel), animated GIF / PNG / WebP through Pillow (their frame durations are
exact there). Bounded by frames, duration and pixels per frame (`SRLAB_VIDEO_*`): checked from the header
where it says, and again as frames come; an upload is probed from its bytes when it arrives (`probe`: the header,
its packets counted, its first frame decoded), so a page refuses a bad clip before any job. Output: H.264 MP4
(libx264) with the input's timestamps and its audio stream remuxed as it is, and the frames as PNGs on request.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from core import settings

PILLOW_SUFFIXES = {".gif", ".png", ".apng", ".webp"}
AV_SUFFIXES = {".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi"}
VIDEO_SUFFIXES = PILLOW_SUFFIXES | AV_SUFFIXES
MS = Fraction(1, 1000)  # Pillow's frame durations are in milliseconds


class VideoError(ValueError):
    """A clip that cannot be used, with a one-line message meant for the user (as core.io.imageio.ImageError)."""


@dataclass(frozen=True)
class Frame:
    """One decoded frame: RGB H×W×3 uint8 and when it is shown (`pts` in `time_base` units)."""
    index: int
    pts: int
    time_base: Fraction
    pixels: np.ndarray

    @property
    def seconds(self) -> float:
        return float(self.pts * self.time_base)


@dataclass(frozen=True)
class ClipInfo:
    name: str
    width: int
    height: int
    frames: int | None          # from the header; None where the container does not say
    seconds: float | None
    rate: Fraction | None       # average frame rate
    time_base: Fraction
    audio: bool
    container: str
    codec: str = ""             # in words: "H.264", "VP9", "GIF"

    def describe(self) -> str:
        n = f"{self.frames} frames" if self.frames else "frames not in the header"
        s = f", {self.seconds:.2f} s" if self.seconds else ""
        r = f", {float(self.rate):.3g} fps" if self.rate else ""
        audio = ", audio" if self.audio else ""
        return f"{self.name}: {self.width}×{self.height}, {n}{s}{r}, {self.container}{audio}"

    def facts(self) -> str:
        """In plain words: "12 s, 360 frames, 640×360, H.264"."""
        s = f"{self.seconds:.3g} s" if self.seconds else "duration not in the header"
        n = f"{self.frames} frames" if self.frames else "frames not in the header"
        return ", ".join([s, n, f"{self.width}×{self.height}", *([self.codec] if self.codec else []),
                          *(["with audio"] if self.audio else [])])


@dataclass
class Clip:
    """A clip to read: its header facts and a way to stream its frames (each call starts from the first)."""
    info: ClipInfo
    source: Callable[[], Iterator[Frame]]
    path: Path | None = None

    def frames(self) -> Iterator[Frame]:
        return _bounded(self.info, self.source())


def _limits() -> tuple[int, float, int]:
    s = settings.current()
    return s.video_max_frames, float(s.video_max_seconds), s.video_max_frame_pixels


def _check_header(info: ClipInfo) -> None:
    max_frames, max_seconds, max_pixels = _limits()
    if info.width * info.height > max_pixels:
        raise VideoError(f"{info.name}: frames of {info.width}×{info.height} are over the limit of {max_pixels:,} "
                         "pixels per frame (SRLAB_VIDEO_MAX_FRAME_PIXELS): downscale the clip first")
    if info.frames and info.frames > max_frames:
        raise VideoError(f"{info.name}: {info.frames} frames, over the limit of {max_frames} "
                         "(SRLAB_VIDEO_MAX_FRAMES): cut the clip first")
    if info.seconds and info.seconds > max_seconds + 1e-6:
        raise VideoError(f"{info.name}: {info.seconds:.1f} s long, over the limit of {max_seconds:g} s "
                         "(SRLAB_VIDEO_MAX_SECONDS): cut the clip first")


def _bounded(info: ClipInfo, frames: Iterator[Frame]) -> Iterator[Frame]:
    """The frames, refused as soon as one passes a bound the header did not tell."""
    max_frames, max_seconds, max_pixels = _limits()
    start = None
    for frame in frames:
        h, w = frame.pixels.shape[:2]
        start = frame.seconds if start is None else start
        if frame.index >= max_frames:
            raise VideoError(f"{info.name}: more than {max_frames} frames (SRLAB_VIDEO_MAX_FRAMES): "
                             "cut the clip first")
        if frame.seconds - start > max_seconds + 1e-6:
            raise VideoError(f"{info.name}: longer than {max_seconds:g} s (SRLAB_VIDEO_MAX_SECONDS): "
                             "cut the clip first")
        if w * h > max_pixels:
            raise VideoError(f"{info.name}: a frame of {w}×{h} is over the limit of {max_pixels:,} pixels "
                             "(SRLAB_VIDEO_MAX_FRAME_PIXELS)")
        yield frame


def open_clip(path: str | Path) -> Clip:
    """A clip from a file, its header checked against the bounds; a VideoError (one line) when it cannot be used."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path.name}: no such file")
    if path.suffix.lower() in PILLOW_SUFFIXES:
        return _open_pillow(path)
    return _open_av(path)


# ---------------------------------------------------------------- FFmpeg containers (PyAV)
CODECS = {"h264": "H.264", "hevc": "H.265 (HEVC)", "vp9": "VP9", "vp8": "VP8", "av1": "AV1",
          "mpeg4": "MPEG-4 Part 2", "prores": "ProRes", "mjpeg": "Motion JPEG", "mpeg2video": "MPEG-2",
          "mpeg1video": "MPEG-1", "theora": "Theora", "gif": "GIF", "png": "PNG", "apng": "APNG", "webp": "WebP"}


def _codec_words(ctx) -> str:
    codec = getattr(ctx, "codec", None)
    if codec is None:  # a codec this FFmpeg does not know
        return ""
    return CODECS.get(codec.name) or (codec.long_name or codec.name).split(" / ")[0].split(" (")[0]


def _av_info(container, name: str) -> ClipInfo:
    if not container.streams.video:
        raise VideoError(f"{name}: no video stream in it")
    stream = container.streams.video[0]
    ctx = stream.codec_context
    tb = stream.time_base or Fraction(1, 90000)
    seconds = (float(stream.duration * tb) if stream.duration else
               container.duration / 1e6 if container.duration else None)
    info = ClipInfo(name=name, width=ctx.width, height=ctx.height, frames=stream.frames or None, seconds=seconds,
                    rate=stream.average_rate, time_base=Fraction(tb), audio=bool(container.streams.audio),
                    container=container.format.name.split(",")[0], codec=_codec_words(ctx))
    if info.width <= 0 or info.height <= 0:
        raise VideoError(f"{name}: the video stream has no frame size")
    return info


def _open_av(path: Path) -> Clip:
    import av

    try:
        with av.open(str(path)) as container:
            info = _av_info(container, path.name)
    except VideoError:
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise VideoError(f"{path.name}: not a clip FFmpeg can read ({_short(exc)})") from None
    _check_header(info)
    return Clip(info, lambda: _frames_av(path, info), path)


def _short(exc: Exception) -> str:
    """The reason in a few words: FFmpeg's own (without its error number and the file's path), Pillow's without
    the object it was given."""
    text = getattr(exc, "strerror", None) or str(exc)
    text = re.sub(r" <[^>]*>", "", text.splitlines()[0] if text else "")
    return text[:160] or type(exc).__name__


def _frames_av(path: Path, info: ClipInfo) -> Iterator[Frame]:
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            first = None
            for index, frame in enumerate(container.decode(stream)):
                pts = frame.pts if frame.pts is not None else index
                first = pts if first is None else first
                yield Frame(index, pts, info.time_base, frame.to_ndarray(format="rgb24"))
    except av.FFmpegError as exc:
        raise VideoError(f"{info.name}: decoding failed ({_short(exc)})") from None


# ---------------------------------------------------------------- animated images (Pillow)
def _pillow_info(source, name: str, suffix: str) -> ClipInfo:
    """The facts of an animated image (a path or a file object), its first frame decoded; a VideoError when Pillow
    cannot read it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(source) as im:
            width, height = im.size
            fmt = im.format or suffix[1:].upper()
            if width * height > _limits()[2]:  # before counting frames, which decodes them
                _check_header(ClipInfo(name, width, height, None, None, None, MS, False, fmt))
            n = getattr(im, "n_frames", 1)
            durations = []
            if fmt != "WEBP":  # WebP tells a frame's duration only once it is decoded: timed as frames come
                for i in range(min(n, _limits()[0] + 1)):
                    im.seek(i)
                    durations.append(int(im.info.get("duration") or 100))
            im.seek(0)
            im.convert("RGB")  # the first frame decodes
    except (UnidentifiedImageError, OSError, EOFError, ValueError, SyntaxError) as exc:
        raise VideoError(f"{name}: not an image clip Pillow can read ({_short(exc)})") from None
    total = sum(durations)
    return ClipInfo(name=name, width=width, height=height, frames=n, seconds=total / 1000 if total else None,
                    rate=Fraction(len(durations) * 1000, total) if total else None, time_base=MS, audio=False,
                    container=fmt, codec=CODECS.get(fmt.lower(), fmt))


def _open_pillow(path: Path) -> Clip:
    info = _pillow_info(path, path.name, path.suffix)
    _check_header(info)
    return Clip(info, lambda: _frames_pillow(path, info), path)


# ---------------------------------------------------------------- an upload, from its bytes
def probe(name: str, data: bytes) -> ClipInfo:
    """An uploaded clip's facts from its bytes, checked against the bounds as `open_clip` checks a file's, before
    any job: the header; where it does not say how many frames, its packets counted (demuxed, not decoded, at most
    SRLAB_VIDEO_MAX_FRAMES + 1); its first frame decoded, so a file whose header reads but whose frames do not is
    refused here too. A VideoError (one line, naming the file) when it cannot be used."""
    import io

    suffix = Path(name).suffix.lower()
    if not data:
        raise VideoError(f"{name}: the file is empty")
    if suffix in PILLOW_SUFFIXES:
        info = _pillow_info(io.BytesIO(data), name, suffix)
        _check_header(info)
        return info
    import av

    try:
        with av.open(io.BytesIO(data)) as container:
            info = _av_info(container, name)
            _check_header(info)  # a frame size over the bound: refused before anything is decoded
            stream = container.streams.video[0]
            if not info.frames:
                counted = 0
                for packet in container.demux(stream):
                    counted += packet.size > 0  # the demuxer's last (flush) packet is empty
                    if counted > _limits()[0]:
                        raise VideoError(f"{name}: more than {_limits()[0]} frames (SRLAB_VIDEO_MAX_FRAMES): cut the "
                                         "clip first")
                info = replace(info, frames=counted or None)
                container.seek(0)
            if next(container.decode(stream), None) is None:
                raise VideoError(f"{name}: no frame in it could be decoded")
    except VideoError:
        raise
    except (av.FFmpegError, OSError, ValueError, StopIteration) as exc:
        raise VideoError(f"{name}: not a clip FFmpeg can read ({_short(exc)})") from None
    return info


def _frames_pillow(path: Path, info: ClipInfo) -> Iterator[Frame]:
    from PIL import Image

    pts = 0
    with Image.open(path) as im:
        for i in range(info.frames or 1):
            im.seek(i)
            pixels = np.asarray(im.convert("RGB"))  # decodes the frame; WebP's duration is known from here
            yield Frame(i, pts, MS, pixels)
            pts += int(im.info.get("duration") or 100)


# ---------------------------------------------------------------- writing
class Writer:
    """An H.264 MP4 written as frames come, each at its input timestamp. `audio_from` (the input clip): its audio
    stream is declared with the video (a stream cannot be added once packets are written) and copied packet for
    packet at the end. libx264 wants even sides: an odd side is padded by one edge row or column (said in
    `notes`)."""

    def __init__(self, path: str | Path, time_base: Fraction, rate: Fraction | None, *,
                 audio_from: Path | None = None, crf: int = 17):
        self.path, self.time_base, self.rate, self.crf = Path(path), time_base, rate, crf
        self.audio_from = audio_from
        self.notes: list[str] = []
        self.frames = 0
        self._container = self._stream = self._audio = None
        self._last_pts = None

    def _open(self, width: int, height: int) -> None:
        import av

        self._container = av.open(str(self.path), mode="w", format="mp4")
        stream = self._container.add_stream("libx264", rate=self.rate or Fraction(25))
        stream.width, stream.height = width + width % 2, height + height % 2
        stream.pix_fmt = "yuv420p"
        stream.time_base = self.time_base
        stream.codec_context.time_base = self.time_base  # else libx264 rounds timestamps to 1/rate
        stream.options = {"crf": str(self.crf), "preset": "medium"}
        if (width % 2) or (height % 2):
            self.notes.append(f"{width}×{height} padded to {stream.width}×{stream.height} by repeating the last "
                              "row/column (H.264 4:2:0 wants even sides)")
        self._stream = stream
        if self.audio_from is not None:
            with av.open(str(self.audio_from)) as src:
                if src.streams.audio:
                    try:
                        self._audio = self._container.add_stream_from_template(src.streams.audio[0])
                    except (av.FFmpegError, ValueError) as exc:
                        self.notes.append(f"audio not kept: {_short(exc)}")

    def write(self, pixels: np.ndarray, pts: int) -> None:
        import av

        h, w = pixels.shape[:2]
        if self._container is None:
            self._open(w, h)
        if w % 2 or h % 2:
            pixels = np.pad(pixels, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1  # a repeated timestamp (rare in inputs): keep the order H.264 needs
        self._last_pts = pts
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
        frame.pts, frame.time_base = pts, self.time_base
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        if self._container is None:
            return
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        if self._audio is not None:
            self._copy_audio()
        self._container.close()
        self._container = None

    def _copy_audio(self) -> None:
        import av

        with av.open(str(self.audio_from)) as src:
            audio_in = src.streams.audio[0]
            for packet in src.demux(audio_in):
                if packet.dts is None:  # the demuxer's flush packet
                    continue
                packet.stream = self._audio
                self._container.mux(packet)
            self.notes.append(f"audio stream ({audio_in.codec_context.name}) copied as it is")


def write_png(path: Path, pixels: np.ndarray) -> None:
    import cv2

    if not cv2.imwrite(str(path), np.ascontiguousarray(pixels[..., ::-1])):
        raise VideoError(f"could not write {path}")


def clip_from_arrays(name: str, frames: list[np.ndarray] | Callable[[], Iterator[np.ndarray]],
                     rate: Fraction = Fraction(24), count: int | None = None) -> Clip:
    """A clip made in memory or by a generator (the built-in pan, tests): constant rate, pts = index."""
    make = (lambda: iter(frames)) if isinstance(frames, list) else frames
    n = len(frames) if isinstance(frames, list) else count
    first = next(make())
    h, w = first.shape[:2]
    tb = 1 / rate
    info = ClipInfo(name=name, width=w, height=h, frames=n, seconds=float(n / rate) if n else None, rate=rate,
                    time_base=Fraction(tb), audio=False, container="generated")
    _check_header(info)
    return Clip(info, lambda: (Frame(i, i, info.time_base, f) for i, f in enumerate(make())))


def frame_at(data: bytes, index: int) -> np.ndarray:
    """Frame `index` (from 0) of an MP4 held as bytes (a job's output), RGB H×W×3 uint8: decoded from the start up
    to it, one frame held at a time, so a page can show any frame without keeping a clip's frames decoded. An
    index past the end gives the last frame; a clip FFmpeg cannot read, a VideoError."""
    import io

    import av

    if index < 0:
        raise VideoError(f"frame {index}: frames count from 0")
    last = None
    try:
        with av.open(io.BytesIO(data), format="mp4") as container:
            for i, frame in enumerate(container.decode(video=0)):
                last = frame
                if i >= index:
                    break
    except av.FFmpegError as exc:
        raise VideoError(f"not a clip FFmpeg can read ({_short(exc)})") from None
    if last is None:
        raise VideoError("the clip has no frames")
    return last.to_ndarray(format="rgb24")
