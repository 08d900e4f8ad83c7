"""Drawing an enhanced result: the crop region, the slider, the zoom grid, the statistics and the download."""
from __future__ import annotations

import numpy as np
import streamlit as st

from core.io.imageio import ImageError, LoadedImage
from core.io.output import FORMATS, MIME, SUFFIXES, OutputOptions, encode, result_name
from core.pipeline.engine import EnhanceResult, Request
from core.quality.metrics import NO_REFERENCE, indicators
from core.serve import timing
from ui.compare import ab_slider, beside_input, zoom_grid
from ui.controls import download as download_button
from ui.jobs import described_at_once, descriptions
from ui.region import Region
from ui.state import budget, hold, kept, method, own_models

MAX_OWN_MODELS = 3  # per session: each may hold hundreds of MB of weights


def full_image_note(request: Request, image: LoadedImage) -> tuple[bool, str]:
    """(can the full image be enhanced, one line for beside its button): the request checked on the full image
    before the click (a refusal there, with the scale that works, instead of a dead click whose message lands
    below the fold), and this machine's measured time for the network when there is one."""
    from core import settings
    from core.pipeline.engine import EnhanceError, check, largest_scale, plan
    from core.runtime.calibrate import saved_pace

    try:
        _, (out_w, out_h), _ = check(request, image.width, image.height, own_models())
    except EnhanceError as exc:
        limit = settings.current().max_output_pixels
        try:
            scale, (out_w, out_h), _ = plan(request, image.width, image.height, method(request.method))
        except EnhanceError:
            return False, f"Full image: {exc}"
        if out_w * out_h <= limit:
            return False, f"Full image: {exc}"
        works = largest_scale(image.width, image.height, limit)
        return False, (f"Full image at ×{scale:g}: too big for this server ({out_w}×{out_h} would be "
                       f"{out_w * out_h / 1e6:.0f} megapixels; its limit is {limit / 1e6:.0f}). "
                       + (f"×{works:g} or less works." if works else "Crop or shrink the image first."))
    spec = method(request.method)
    size = f"{out_w}×{out_h} ({out_w * out_h / 1e6:.0f} MP)"
    pace = saved_pace(spec) if spec.native_scale else None
    if pace is None:
        return True, f"Full image: {size}" + ("" if spec.native_scale else ", seconds")
    # the network's pace on this machine (tile overlaps and the resize add a little)
    seconds = pace[0] * image.width * image.height / 1e6
    when = "measured while the computer was busy" if pace[1] else "when nothing else runs"
    return True, f"Full image: {size}, about {_duration(seconds)} on this computer ({when})"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))}\u00a0s"
    if seconds < 5400:
        return f"{round(seconds / 60)}\u00a0min"
    return f"{seconds / 3600:.1f}\u00a0h"


def show_enhanced(image: LoadedImage, request: Request, result: EnhanceResult, png: bytes, area: Region) -> None:
    timing.note(drew_result=True)  # SRLAB_TIMING_LOG: the load test reports these runs apart as well
    s = result.stats
    crop = request.crop
    src = image.pixels if crop is None else image.pixels[crop[1]:crop[1] + crop[3], crop[0]:crop[0] + crop[2]]
    what = f"crop {crop[2]}×{crop[3]} at ({crop[0]}, {crop[1]})" if crop else "full image"
    st.subheader(f"Result: {s.method} on the {what}")
    size = f"fit {request.fit[0]}×{request.fit[1]} (×{s.outscale:.3g})" if request.fit else f"×{s.outscale:g}"
    st.caption(f"{s.how()}. Settings of this result: scale {size}, backend {s.backend}, face: {s.face}.")

    named = beside_input(src, request, result, method(request.method))
    st.markdown("**Before / after** (choose any two)")
    ab_slider([named[0], named[2], named[1]], key="enh_ab")
    st.markdown("**Zoom** (the same region of each, at one magnification, pixels shown as squares)")
    zoom_grid(named, area, crop, (image.width, image.height), per_row=3)

    st.markdown("**Statistics**")
    rows = s.rows(len(png))
    st.table({"": [r[0] for r in rows], "value": [r[1] for r in rows]})
    for note in s.notes:
        st.caption(note)
    no_reference_measures(src, request, result)
    download(image, request, result, png)


def show_so_far(image: LoadedImage, job, request: Request, part, area: Region) -> None:
    """A running job's result as its tiles land (ui.jobs.SoFar): the slider against bicubic and the zoom work on
    it; the area still to come is the bicubic stand-in, dimmed, and said to be."""
    st.session_state.setdefault("so_far_drawn", {})[job.id] = part.done  # the watcher reruns on the next tile
    native = method(request.method).native_scale
    st.subheader(f"Result so far: {part.done} of {part.tiles} tiles ({part.share:.0%} of the image)")
    st.caption(f"The network's ×{native:g} output where its tiles are done; the dimmed area is bicubic standing in "
               "until its tiles land (not the network's work, not a result). The finished result replaces this"
               + ("; its Lanczos resize, colour fix and faces come after the network." if request.outscale not in
                  (None, native) or request.fit or request.face or request.colour_fix != "off" else "."))
    named = [(f"bicubic ×{native:g}", part.stand_in), (f"{request.method} so far (dimmed: not done yet)", part.picture)]
    ab_slider(named, key="enh_so_far_ab")
    zoom_grid(named, area, request.crop, (image.width, image.height), per_row=2)


def no_reference_measures(src, request: Request, result: EnhanceResult) -> None:
    no_reference_table([("input", src), ("result", result.pixels)], request, "enh", descriptions().get(request))


def no_reference_table(named: list[tuple[str, np.ndarray]], made_by, key: str, made: list | None = None) -> None:
    """Without a true reference only descriptive measures are honest: one column per image, in an expander;
    `made`: the values the job already measured; else measured here at once up to a megapixel in all (~1.5 s
    per megapixel on 2 cores), larger on request."""
    measured = st.session_state.setdefault(f"{key}_measured", {})
    with st.expander("No-reference measures (there is no true image to score against)"):
        values = made if made is not None else measured.get(made_by)
        if values is None:
            if not described_at_once(*(p for _, p in named)) and not st.button("Measure", key=f"{key}_measure"):
                return
            measured.clear()  # one set of results at a time: memory stays bounded
            values = measured[made_by] = [indicators(p) for _, p in named]
        rows = [m for m in NO_REFERENCE if m.name in values[0]]
        st.table({"measure": [m.heading for m in rows],
                  **{name: [m.format(v[m.name]) for m in rows] for (name, _), v in zip(named, values)},
                  "what it says": [m.about for m in rows]})
        st.caption("They describe an image; they cannot say which restore is right. PSNR, SSIM and LPIPS need the "
                   "true high-resolution image: the Metrics page makes one by degrading a clean image.")


def download(image: LoadedImage, request: Request, result: EnhanceResult, png: bytes) -> None:
    """The full-size file in the chosen format, with the input's ICC profile, DPI and EXIF and how it was made
    (`png`: the job's PNG of the result, so the default format costs the page run nothing)."""
    s = result.stats
    c1, c2 = st.columns([1, 2])
    fmt = c1.radio("File format", FORMATS, horizontal=True, persist_state="session", key=kept("enh_format", "png"),
                   format_func=str.upper, help="PNG keeps 16 bits and transparency; JPEG and WebP are smaller.")
    quality = c2.slider("Quality (JPEG/WebP; WebP 100 = lossless)", 50, 100,
                        persist_state="session", key=kept("enh_quality", 92),
                        disabled=fmt == "png")
    options = OutputOptions(fmt, quality)
    encoded = st.session_state.setdefault("enh_encoded", {})
    if (request, options) not in encoded:
        encoded.clear()  # one result's files at a time: memory stays bounded
        encoded[(request, options)] = encode(result.pixels, options, image.metadata, s.summary, png=png)
    data, notes = encoded[(request, options)]
    kept_meta = [name for name, v in [("ICC profile", image.metadata.icc_profile), ("EXIF", image.metadata.exif),
                                      ("DPI", image.metadata.dpi and fmt != "webp")] if v]
    st.caption("The file says how it was made (PNG text / EXIF software and description)" +
               (f" and keeps the input's {', '.join(kept_meta)}" if kept_meta else "") + ". " + " ".join(notes))
    out_w, out_h = s.output_size
    size = f"{out_w}x{out_h}" if request.fit else f"x{s.outscale:g}"
    download_button(f"Download full-size {fmt.upper()} ({out_w}×{out_h}, {len(data) / 1e6:.1f} MB)", data,
                    result_name(image.name, s.method, size + ("_crop" if request.crop else ""), SUFFIXES[fmt]),
                    MIME[fmt], key="enh_download")


def user_model_uploader() -> None:
    """A .pth / .safetensors the user brings: detected by spandrel, kept in memory, listed under Method."""
    from core.methods.user import SUFFIXES, UserModelError, load_user_model

    up = st.file_uploader("Model file (.pth, .safetensors)", type=[s.lstrip(".") for s in SUFFIXES],
                          key="enh_user_model", help="ESRGAN, Real-ESRGAN compact, SPAN, SwinIR, HAT, DAT and "
                          "other architectures spandrel knows; read without running code, never saved to disk.")
    for name in list(own_models()):  # this session's models, each removable (they hold memory)
        left, right = st.columns([3, 1])
        left.caption(f"{name}: {own_models()[name].detected}")
        if right.button("Remove", key=f"enh_remove_{name}"):
            del own_models()[name]
            budget().remove(f"model {name}")
            if st.session_state.get("enh_method") == name:
                st.session_state.enh_method_next = "RealESRGAN_x4plus"
            st.rerun()
    if up is None or st.session_state.get("enh_user_model_id") == up.file_id:
        if msg := st.session_state.get("enh_user_model_msg"):
            (st.error if msg.startswith("!") else st.success)(msg.lstrip("!"))
        return
    st.session_state.enh_user_model_id = up.file_id
    try:
        if len(own_models()) >= MAX_OWN_MODELS:
            raise UserModelError(f"this session holds {MAX_OWN_MODELS} models already, the most one session may: "
                                 f"remove one first ({', '.join(own_models())})")
        spec = load_user_model(up.getvalue(), up.name)
        hold(f"model {spec.name}", spec.nbytes)
    except (UserModelError, ImageError) as exc:  # ImageError: the session's memory bound (SessionFull)
        st.session_state.enh_user_model_msg = f"!{exc}"
    else:
        own_models()[spec.name] = spec
        st.session_state.enh_method_next = spec.name  # set before the Method box is drawn, on the rerun
        st.session_state.enh_user_model_msg = f"{spec.name}: {spec.detected}. Chosen under Method; runs on torch fp32."
    st.rerun()
