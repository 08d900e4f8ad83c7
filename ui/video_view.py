"""Drawing the Video page's choices and results: an uploaded clip probed when it arrives (its facts in plain words, or
its refusal in one line right under its uploader), the reference of an uploaded clip (uploaded, or made on the spot
by degrading the clip, taken as the truth), the request checked and its time estimated before the run (from this
machine's backend calibration, or from a run of the method on this server), and after a run one frame of every
result on the lab's A/B slider and zoom grid (ui/compare.py), the frame decoded from the job's MP4 bytes when asked
(core.io.video.frame_at) and kept in a bounded store, never a clip's frames all held; the per-frame curves and the
means."""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from core.io.imageio import LoadedImage
from core.io.video import ClipInfo, VideoError, frame_at, probe
from core.quality.degrade import Degradation
from core.quality.metrics import METRICS
from core.serve.cache import BoundedCache
from core.video.degrade import describe
from core.video.measures import CLIP_MEASURES
from ui.compare import ab_slider, zoom_grid
from ui.controls import dataframe, download, nearest_up
from ui.region import region_picker
from ui.state import kept, projector
from ui.words import details

if TYPE_CHECKING:  # (the types only: a page run need not load the clip machinery)
    from core.video.job import ClipComparison, ClipResult

REFERENCES = ["None (no-reference measures)", "Upload the reference clip",
              "Make one: this clip is the truth, degraded frame by frame"]
FRAMES_BYTES = 100_000_000  # decoded frames shown, every session's (a frame per result per position)


@st.cache_resource
def _frames() -> BoundedCache:
    return BoundedCache(FRAMES_BYTES)


def probed(upload, container, slot: str) -> ClipInfo | None:
    """An uploaded clip's facts (core.io.video.probe: header, frames counted, first frame decoded, the
    SRLAB_VIDEO_* bounds), probed once per file (kept in the session by its file id) and drawn right under its
    uploader: "pan.mp4: 12 s, 360 frames, 640×360, H.264", or the refusal in one error line (then None)."""
    if upload is None:
        return None
    key = f"video_probed_{slot}"
    kept_probe = st.session_state.get(key)
    if kept_probe is None or kept_probe[0] != upload.file_id:
        try:
            kept_probe = (upload.file_id, probe(upload.name, upload.getvalue()), None)
        except VideoError as exc:
            kept_probe = (upload.file_id, None, str(exc))
        st.session_state[key] = kept_probe
    _, info, error = kept_probe
    if error:
        container.error(error)
    else:
        container.caption(f"{_plain(upload.name)}: {info.facts()}")
    return info


def _plain(text: str) -> str:
    """A file name shown as it is, not as markdown."""
    return "".join("\\" + c if c in "\\`*_[]<>#|~$" else c for c in text)


@dataclass(frozen=True)
class Reference:
    """An uploaded clip's reference: an uploaded clip (`given`, its `info`; `refused` when it cannot be used), or
    a Degradation, or neither."""
    given: tuple[str, bytes] | None = None
    info: ClipInfo | None = None
    degrade: Degradation | None = None
    refused: bool = False


def reference_panel(container) -> Reference:
    """An uploaded clip's reference: uploaded (probed as the clip is), made on the spot by degrading the clip, or
    none."""
    mode = container.radio("Reference", REFERENCES, persist_state="session", key=kept("video_ref", REFERENCES[0]))
    if mode == REFERENCES[1]:
        ref = container.file_uploader("The reference clip (the same frames at a higher resolution)",
                                      type=["mp4", "webm", "mov", "mkv", "gif", "png", "webp"], key="video_ref_upload")
        info = probed(ref, container, "ref")
        return Reference(given=(ref.name, ref.getvalue()) if ref is not None else None, info=info,
                         refused=ref is not None and info is None)
    if mode == REFERENCES[2]:
        c = container.columns(5)
        scale = c[0].selectbox("Downscale ÷", [2, 3, 4], persist_state="session", key=kept("video_deg_scale", 4))
        blur = c[1].number_input("Blur σ", 0.0, 5.0, step=0.1, persist_state="session", key=kept("video_deg_blur", 0.0))
        noise = c[2].number_input("Noise σ", 0.0, 50.0, step=1.0, persist_state="session",
                                  key=kept("video_deg_noise", 0.0))
        jpeg = c[3].number_input("JPEG (0 off)", 0, 100, step=5, persist_state="session", key=kept("video_deg_jpeg", 0))
        seed = c[4].number_input("Seed", 0, 10_000, persist_state="session", key=kept("video_deg_seed", 0))
        d = Degradation(int(scale), "bicubic", float(blur), float(noise), int(jpeg), int(seed))
        container.caption(f"The uploaded clip is the truth; we {d.plain()} (each frame), and the results are "
                          f"scored against the truth at ×{scale}.")
        details(f"Each frame after {describe(d)} (the Metrics page's degradation).", container=container)
        return Reference(degrade=d)
    return Reference()


# ---------------------------------------------------------------- before the run: the request checked, its time
@dataclass(frozen=True)
class Input:
    """What the methods will run on: frames of width×height (an uploaded clip's, or its degraded copy's), how
    many, and the scale (None: each method's native scale, ×4 for a classical one)."""
    width: int
    height: int
    frames: int | None
    outscale: float | None


def run_input(info: ClipInfo, reference: Reference) -> Input:
    """As core.video.job.compare will see it: a clip made into the truth runs on its degraded copy at the
    downscale factor; with a reference clip the scale is the reference's width ÷ the clip's."""
    if reference.degrade is not None:
        s = reference.degrade.scale
        return Input(info.width // s, info.height // s, info.frames, float(s))
    outscale = reference.info.width / info.width if reference.info is not None else None
    return Input(info.width, info.height, info.frames, outscale)


def check_run(methods: list[str], clip: Input) -> None:
    """Every method's request checked on the clip's frames as the job checks it (core.video.processing.check_clip:
    the scale, SRLAB_MAX_OUTPUT_PIXELS, the parameters): an EnhanceError naming the method, at once, before any
    job is queued."""
    from core.pipeline.engine import EnhanceError
    from core.video.processing import check_clip

    for m in methods:
        try:
            check_clip(m, clip.width, clip.height, clip.outscale)
        except EnhanceError:
            raise
        except (KeyError, ValueError) as exc:
            raise EnhanceError(f"{m} on {clip.width}×{clip.height} frames: {exc}") from None


RUNS_KEPT = 64  # (method, frame size) measurements of finished runs this server keeps
_runs: OrderedDict[tuple[str, int, int], float] = OrderedDict()  # (method, frame width, height) → seconds a frame
_runs_lock = threading.Lock()
NEAR = 1.5  # a run on frames within this factor of pixels stands for another size (scaled by the pixels)


def remember_run(result: ClipComparison, clip: Input) -> None:
    """A finished run's pace, per method (its frames ÷ its seconds, decoding, encoding and scoring included), for
    the estimates of later runs on this server."""
    with _runs_lock:
        for m, r in result.methods.items():
            if r.fps and not r.resumed:
                _runs[(m, clip.width, clip.height)] = 1 / r.fps
                _runs.move_to_end((m, clip.width, clip.height))
        while len(_runs) > RUNS_KEPT:
            _runs.popitem(last=False)


def _earlier_run(method: str, width: int, height: int) -> tuple[float, str] | None:
    """(seconds a frame of width×height, the frame size it was measured at) from a run here on frames of a near
    size, scaled by the pixels."""
    pixels = width * height
    with _runs_lock:
        near = [(abs(np.log(w * h / pixels)), w, h, s) for (m, w, h), s in _runs.items() if m == method
                and 1 / NEAR <= w * h / pixels <= NEAR]
    if not near:
        return None
    _, w, h, s = min(near)
    return s * pixels / (w * h), f"{w}×{h}"


@dataclass(frozen=True)
class Estimate:
    method: str
    seconds: float | None   # the whole clip; None: not measured yet
    words: str


def estimate(methods: list[str], clip: Input) -> list[Estimate]:
    """This machine's expected time for each method on the clip, before the run: a network run on each frame from
    its backend calibration (core.quality.ranking.expected_time, as Which model? estimates) × the frames; any
    method from a finished run of it here on frames of a near size; else not measured yet (nothing is measured
    now). The calibration's time is the network's alone (decoding, encoding and scoring come on top)."""
    from core.methods import as_sequence, for_clips, is_network
    from core.quality.ranking import expected_time
    from core.runtime import calibrate

    n = clip.frames or 0
    out = []
    for m in methods:
        spec = for_clips(m)
        per_frame = None
        if n and is_network(spec) and not as_sequence(spec):
            try:
                per_frame = expected_time(spec, clip.height, clip.width)
            except ValueError:
                per_frame = None
            if per_frame is not None:
                record = calibrate.measured(spec)
                where = ("made while this machine was busy, so likely too long" if record.get("contended")
                         else "made on a quiet machine")
                out.append(Estimate(m, per_frame * n, f"{m} {_about(per_frame * n)} ({per_frame:.2g} s a "
                                    f"frame, the network alone, by the backend calibration {where})"))
                continue
        if n and (earlier := _earlier_run(m, clip.width, clip.height)) is not None:
            per_frame, size = earlier
            out.append(Estimate(m, per_frame * n, f"{m} {_about(per_frame * n)} ({per_frame:.2g} s a "
                                f"frame, from a run here on {size} frames)"))
            continue
        out.append(Estimate(m, None, m))
    return out


def total(estimates: list[Estimate]) -> float | None:
    """The run's expected seconds when every method's is known (the job's time left from its first second)."""
    return sum(e.seconds for e in estimates) if estimates and all(e.seconds is not None for e in estimates) \
        else None


def estimate_words(estimates: list[Estimate], frames: int | None, width: int, height: int) -> str:
    """One caption beside Run: the run's expected time, each method's and where it comes from, and the methods
    not measured yet."""
    if not estimates:
        return ""
    if not frames:
        return f"Time not estimated: the clip does not say how many frames it has ({width}×{height} frames)."
    whole = total(estimates)
    known = [e.words for e in estimates if e.seconds is not None]
    unknown = [e.method for e in estimates if e.seconds is None]
    what = f"{frames} frames of {width}×{height}"
    words = (f"{_about(whole).capitalize()} on this machine for {what}: " if whole is not None else
             f"On this machine, for {what}: " if known else f"{what[0].upper()}{what[1:]}") + "; ".join(known) + "."
    if unknown:
        them = "it" if len(unknown) == 1 else "them"
        words += f" Not measured yet: {', '.join(unknown)} (a run here measures {them})."
    return words


def _about(seconds: float) -> str:
    if seconds < 1:
        return "under 1 s"
    if seconds < 90:
        return f"about {seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"about {minutes} min" if minutes < 90 else f"about {minutes / 60:.1f} h"


def _frame(job_id: str, name: str, data: bytes, index: int) -> np.ndarray:
    key = (job_id, name, index)
    if (pixels := _frames().get(key)) is None:
        pixels = frame_at(data, index)
        _frames().put(key, pixels)
    return pixels


def frame_view(job_id: str, result: ClipComparison) -> None:
    """A frame slider; that frame of every result (and of the reference, and the input nearest-neighbour
    upscaled) on the A/B slider, and the same region of each zoomed."""
    methods = result.methods
    count = min(len(r.rows) for r in methods.values())
    st.subheader("One frame, A/B")
    if st.session_state.get("video_frame", 0) >= count:
        st.session_state.video_frame = 0
    index = st.slider("Frame", 0, max(1, count - 1), persist_state="session", key=kept("video_frame", 0),
                      disabled=count < 2, help="Each frame is decoded from the results' MP4s when shown")
    index = min(index, count - 1)
    named = [(m, _frame(job_id, m, r.video, index)) for m, r in methods.items()]  # short: the slider's labels
    h, w = named[0][1].shape[:2]  # share a frame as wide as the image; what each is, the caption below says
    if result.reference is not None:
        named.append(("reference", _frame(job_id, "reference", result.reference, index)))
    src = _frame(job_id, "input", result.input, index)
    named.append((f"input ×{result.scale:g}", nearest_up(src, (w, h))))
    same = [(label, px[:h, :w]) for label, px in named if px.shape[0] >= h and px.shape[1] >= w]  # (H.264 pads
    # an odd side by one)
    left_out = [label for label, px in named if px.shape[0] < h or px.shape[1] < w]
    ab_slider(same, key="video_ab")
    what = [f"{m}: {r.what}" for m, r in methods.items()]
    what += ["reference: the truth"] if result.reference is not None else []
    st.caption(f"Frame {index} (of 0–{count - 1}). " + "; ".join(what) + f"; input ×{result.scale:g}: the input "
               "frame nearest-neighbour upscaled (each pixel a square)."
               + (f" Of another size, not shown: {', '.join(left_out)}." if left_out else ""))
    details("Frames are decoded from the H.264 MP4s (as downloaded, CRF 17); the scores were measured on the frames "
            "before encoding.")
    first = _frame(job_id, "input", result.input, 0)
    area = region_picker(LoadedImage(first, name="the clip's first frame"), f"video:{job_id}")
    zoom_grid(same, area, None, (first.shape[1], first.shape[0]))


def _heading(measure: str) -> str:
    if measure in CLIP_MEASURES:
        m = CLIP_MEASURES[measure]
        return f"{m.label} ({m.unit}) ↓" if m.unit else m.label
    return METRICS.get(measure).heading


def how_plain(method: str) -> str:
    """How a method went through the clip, in plain words (the exact way, with its windows, under Details)."""
    from core.methods import as_sequence, for_clips

    if as_sequence(for_clips(method)):
        return "a video network, it looks at the neighbouring frames too"
    return "each frame on its own"


CLIP_DECIMALS = {"flicker": 2, "change": 3}  # the clip measures' shown decimals: more mean nothing here
FLICKER_WORDS = ("**Flicker** says how much a result jumps about from one frame to the next beyond the real "
                 "movement, measured against the true clip's own change along the same motion. 0: as steady as "
                 "the true clip; above 0: it flickers (detail that comes and goes); below 0: steadier than the "
                 "true clip, usually because it is smoother (less fine detail to change).")


def shown_value(measure: str, value: float) -> str:
    """A clip's mean as the page writes it: a measure's own decimals (Metric.format), the flicker's two."""
    if measure in CLIP_MEASURES:
        return "n/a" if value is None or np.isnan(value) else f"{value:.{CLIP_DECIMALS.get(measure, 3)}f}"
    return METRICS.get(measure).format(value)


def _steadiness(value: float) -> str:
    return ": steadier than the true clip" if value < 0 else ": as steady as the true clip" if value == 0 else ""


def flicker_conclusion(summary: dict[str, dict]) -> str:
    """One plain line from the clip's mean flicker per method, compared as shown (two decimals): which flickers
    least, and most."""
    values = {m: round(s["flicker"], CLIP_DECIMALS["flicker"]) for m, s in summary.items()
              if s.get("flicker") is not None and np.isfinite(s["flicker"])}
    if not values:
        return ""
    least, most = min(values, key=values.get), max(values, key=values.get)
    low, high = shown_value("flicker", values[least]), shown_value("flicker", values[most])
    if len(values) == 1:
        return f"{least}: flicker {low}{_steadiness(values[least])}."
    if values[least] == values[most]:
        return f"They flicker about as much as each other ({low}{_steadiness(values[least])})."
    return f"{least} flickers least ({low}{_steadiness(values[least])}); {most} most ({high})."


def curves(results: dict[str, ClipResult]) -> None:
    """The per-frame curves (PSNR, flicker, SSIM, LPIPS; or change and sharpness without a reference) as the
    handout draws them (charts.frame_curve: every method name whole in the legend, below), the clip's means at
    the decimals that mean something, and the flicker in plain words with a one-line conclusion."""
    from core.quality.charts import frame_curve
    from ui.charts import font_size, show, width

    table = pd.concat([pd.DataFrame(r.rows).assign(method=m) for m, r in results.items()])
    shown = [c for c in ("psnr_db", "flicker", "ssim", "lpips", "change", "sharpness") if c in table]
    summaries = {m: r.summary for m, r in results.items()}
    if "flicker" in shown:
        st.markdown(FLICKER_WORDS + " " + flicker_conclusion(summaries))
    charts = st.columns(1 if projector() else 2)
    for spot, measure in zip(charts * 4, shown[:4]):
        title = _heading(measure)
        with spot:
            show(frame_curve(table, measure, title, font_size=font_size(), width=width(),
                             height=320 if projector() else 220,
                             zero="as steady as the true clip" if measure == "flicker" else None),
                 f"{title} per frame")
    summary = pd.DataFrame(summaries).T
    for measure in summary.columns:
        summary[measure] = [shown_value(measure, v) for v in summary[measure]]
    dataframe(summary.rename(columns=_heading), key="video_summary")
    details("Flicker (×10⁻³) = 1000 · (E(output) − E(reference)), E the mean squared error, on 0…1, of frame t "
            "warped onto frame t+1 along the reference's optical flow (OpenCV DIS, medium) against frame t+1, "
            "inside the warp; the clip's value is the mean over its frame pairs (core/video/measures.py)."
            if "flicker" in shown else "",
            *(f"{m}: {METRICS.get(m).about}." for m in shown if m in METRICS))


def handout_button(result: ClipComparison, name: str) -> None:
    """The handout: one self-contained HTML file (a few frames of each result, the curves, the means), made when
    it is downloaded."""
    from core.video.handout import video_html

    measures = {k for r in result.methods.values() for row in r.rows for k in row} - {"frame"}
    download("Download handout (HTML, prints on A4)",
             lambda: video_html(result, name=name, headings={m: _heading(m) for m in measures},
                                font_size=20 if projector() else 14),
             "sr-lab-video.html", "text/html", key="video_handout",
             help="The clip, what each method did, the first, middle and last frames of every result beside the "
                  "reference and the input, the per-frame curves and the means: one file, readable offline.")
