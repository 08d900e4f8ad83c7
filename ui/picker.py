"""The image picker: drawn by the entry file in the sidebar, so it keeps its state on every page."""
from __future__ import annotations

import streamlit as st

from core.io.imageio import IMAGE_SUFFIXES, ImageError, LoadedImage, image_key, load_image
from core.io.samples import SAMPLES
from ui.slider import png_of, thumbnail
from ui.state import current_image, current_image_key, hold, kept

UPLOAD_TYPES = [suffix[1:] for suffix in IMAGE_SUFFIXES]


@st.cache_data(max_entries=16, show_spinner=False)
def _sample(name: str) -> LoadedImage:
    return SAMPLES[name].image()


@st.cache_resource(show_spinner=False)
def _decode_every_sample() -> None:
    """On the server's first page run (~0.4 s): no student's first pick of a sample decodes it during class."""
    for name in SAMPLES:
        _sample(name)


def image_picker() -> None:
    _decode_every_sample()
    sb = st.sidebar
    source = sb.radio("Image", ["Sample", "Upload"], horizontal=True,
                      persist_state="session", key=kept("source_w", "Sample"))
    if source == "Sample":
        name = sb.selectbox("Sample", list(SAMPLES), persist_state="session", key=kept("sample_w", "astronaut"),
                            format_func=lambda n: SAMPLES[n].title, help="\n\n".join(
                                f"**{s.title}**: {s.about}" for s in SAMPLES.values()))
        _choose(_sample(name), f"sample:{name}")
        st.session_state.pop("upload_error", None)
    else:
        up = sb.file_uploader("Upload an image", type=UPLOAD_TYPES, key="upload",
                              help="PNG, JPEG, WebP, BMP, TIFF, GIF or HEIC. The file stays in this server's memory.")
        if up is not None and st.session_state.get("upload_id") != up.file_id:
            st.session_state.upload_id = up.file_id
            try:
                loaded = load_image(up.getvalue(), up.name)
                hold("image", loaded.pixels.nbytes + up.size)  # replaces the previous image's share
                _choose(loaded, f"upload:{up.file_id}")
                st.session_state.pop("upload_error", None)
            except ImageError as exc:
                st.session_state.upload_error = str(exc)
        if up is None:
            st.session_state.pop("upload_error", None)  # the refused file was removed: its error goes with it
        if msg := st.session_state.get("upload_error"):  # under the uploader it is about, not atop every page
            sb.error(f"That file could not be used: {msg} The previous image is still selected.")
    image = current_image()
    if image is not None:
        small = thumbnail(current_image_key() or image_key(image.pixels), 256, image.pixels)
        sb.image(png_of(small), caption=f"{image.name}: {image.describe()}", output_format="PNG")
        for note in image.notes:
            sb.caption(note)


def _choose(image: LoadedImage, source_id: str) -> None:
    if st.session_state.get("image_source") != source_id:
        st.session_state.image = image
        st.session_state.image_source = source_id
        st.session_state.image_key = image_key(image.pixels)


def chosen_sample() -> str | None:
    """The sample's name when the image is a built-in sample (its clean original is a true reference)."""
    source = st.session_state.get("image_source", "")
    return source.split(":", 1)[1] if source.startswith("sample:") else None
