"""Shared app plumbing: the chosen image, the process-wide caches, running a job with a progress bar."""
from __future__ import annotations

import hashlib
import time

import cv2
import numpy as np
import streamlit as st

import core  # noqa: F401  (installs the torchvision shim first)
from core import engine
from core.cache import BoundedCache
from core.jobs import JobQueue
from core.imageio import IMAGE_SUFFIXES, ImageError, LoadedImage, encode_png, load_image
from core.methods import METHODS
from core.samples import SAMPLES

UPLOAD_TYPES = [suffix[1:] for suffix in IMAGE_SUFFIXES]
DISPLAY_MAX = 1024  # px: larger results are shown downsized; the full size is a download


@st.cache_resource(show_spinner="Loading the network (once per server; the first time on a machine it also "
                                 "measures which CPU backend is fastest)…")
def backend(name: str, choice: str):
    from core import backends
    return backends.get(METHODS.get(name), choice)


@st.cache_resource
def job_queue() -> JobQueue:
    """One queue for every session: inference jobs run one at a time (SRLAB_JOB_SLOTS), others wait in line."""
    return JobQueue()


@st.cache_resource
def results() -> BoundedCache:
    """Results of every session, by image hash and settings: 1.5 GB at most, least recently used first out."""
    return BoundedCache(1_500_000_000)


def image_key(image: LoadedImage) -> str:
    h = hashlib.sha1(image.pixels.tobytes())
    h.update(str((image.pixels.shape, image.pixels.dtype)).encode())
    return h.hexdigest()[:16]


@st.cache_data(max_entries=8, show_spinner=False)
def _sample(name: str) -> LoadedImage:
    return SAMPLES[name].image()


def _sticky(widget_key: str, default) -> None:
    """Widget state is dropped when another page renders; keep it under a plain key and restore it."""
    store = widget_key.removesuffix("_w")
    st.session_state.setdefault(store, default)
    st.session_state[widget_key] = st.session_state[store]


def _remember(widget_key: str) -> None:
    st.session_state[widget_key.removesuffix("_w")] = st.session_state[widget_key]


def page_setup(needs_image: bool = True) -> LoadedImage | None:
    """First call of every page: the sidebar picker, any upload error, and the chosen image (a page that
    needs one stops here with a hint when there is none)."""
    image_picker()
    show_upload_error()
    image = current_image()
    if image is None and needs_image:
        st.info("Choose a sample or upload an image in the sidebar.")
        st.stop()
    return image


def image_picker() -> None:
    """Sidebar: choose a sample or upload; the choice lives in session_state and follows across pages."""
    sb = st.sidebar
    _sticky("source_w", "Sample")
    source = sb.radio("Image", ["Sample", "Upload"], horizontal=True, key="source_w", on_change=_remember,
                      args=("source_w",))
    if source == "Sample":
        _sticky("sample_w", "astronaut")
        name = sb.selectbox("Sample", list(SAMPLES), key="sample_w", on_change=_remember, args=("sample_w",),
                            format_func=lambda n: f"{n}: {SAMPLES[n].about}")
        _choose(_sample(name), f"sample:{name}")
    else:
        up = sb.file_uploader("Upload an image", type=UPLOAD_TYPES, key="upload",
                              help="PNG, JPEG, WebP, BMP, TIFF or GIF. The file stays in this server's memory.")
        if up is not None and st.session_state.get("upload_id") != up.file_id:
            st.session_state.upload_id = up.file_id
            try:
                _choose(load_image(up.getvalue(), up.name), f"upload:{up.file_id}")
                st.session_state.pop("upload_error", None)
            except ImageError as exc:
                st.session_state.upload_error = str(exc)
    image = current_image()
    if image is not None:
        sb.image(_thumbnail(image), caption=f"{image.name}: {image.describe()}")
        for note in image.notes:
            sb.caption(note)
    sb.caption("Methods: " + ", ".join(m.name for m in METHODS if m.kind == "network") + " · device: CPU")


def _choose(image: LoadedImage, source_id: str) -> None:
    if st.session_state.get("image_source") != source_id:
        st.session_state.image = image
        st.session_state.image_source = source_id
        st.session_state.image_key = image_key(image)


def current_image() -> LoadedImage | None:
    return st.session_state.get("image")


def show_upload_error() -> None:
    if msg := st.session_state.get("upload_error"):
        st.error(f"That file could not be used: {msg} The previous image is still selected.")


def _thumbnail(image: LoadedImage) -> np.ndarray:
    from ui.slider import to_display
    return to_display(image.pixels, 256)


def result_key(crop: tuple | None, method: str, outscale: float, tile: int = 0, face: bool = False,
               strength: float | None = None, params: dict | None = None, image: str | None = None,
               backend: str = "auto") -> tuple:
    """One key per (image, region, settings), shared by the pages, so no result is computed twice.
    `image`: the input's key; default: the image chosen in the sidebar."""
    return (image or st.session_state.image_key, crop, method, float(outscale), tile, face,
            strength if face else None, tuple(sorted((params or {}).items())), backend)


def run_with_progress(label: str, method: str, image_px: np.ndarray, cache_key: tuple, **kwargs):
    """engine.enhance with a progress bar, elapsed time and time left; cached per image and settings."""
    cache = results()
    if (hit := cache.get(cache_key)) is not None:
        return hit
    spec = METHODS.get(method)
    if spec.kind == "network":
        backend(spec.name, kwargs.get("backend", "auto"))
    h, w = image_px.shape[:2]
    expected = engine.estimate_seconds(method, h, w)
    bar = st.progress(0.0, text=f"{label}: queued")
    # Pressing it (or any widget) reruns the page: Streamlit then stops this run at its next progress update,
    # which cancels the job and frees its place in the queue.
    cancel = st.empty()
    cancel.button("Cancel", key=f"cancel_{label}_{method}")
    queue = job_queue()

    def waiting(place: int) -> None:  # a Streamlit call: raises if the user left or pressed something else
        bar.progress(0.0, text=f"{label}: waiting, {_ordinal(place)} in line ({queue.running} job running). "
                               "Other people are using this server.")

    with queue.slot(on_wait=waiting):
        bar.progress(0.0, text=f"{label}: starting (about {expected:.0f} s)")
        start = time.perf_counter()

        def progress(done: int, total: int, msg: str) -> None:
            elapsed = time.perf_counter() - start
            left = elapsed / done * (total - done)
            bar.progress(done / total, text=f"{label}: {msg}, {elapsed:.1f} s elapsed, about {left:.0f} s left")

        result = engine.enhance(LoadedImage(image_px), method, progress=progress, **kwargs)
    cancel.empty()
    bar.progress(1.0, text=f"{label}: done in {result.stats.elapsed_s:.1f} s")
    png = encode_png(result.pixels)
    cache.put(cache_key, (result, png))
    return result, png


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def nearest_up(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(pixels, size, interpolation=cv2.INTER_NEAREST)
