"""A before/after slider that works offline: two stacked images and a range input driving `clip-path`, in a
frame. streamlit-image-comparison loads its JavaScript from a CDN (blank offline) and deletes other sessions' temp
files, so it is not used. The images are served as Streamlit media files (as st.image's are), not inlined: a
frame holding two 1-MB data URIs cost every page run that drew it ~15 ms of the server's time (Streamlit parses,
serialises and hashes the frame's HTML) and the browser a re-parse."""
from __future__ import annotations

import hashlib
import html
import threading
import weakref

import numpy as np
import streamlit as st
from streamlit import runtime

from core.io.imageio import encode_png, to_display  # noqa: F401  (to_display: what the pages import from here)
from core.serve.cache import BoundedCache

DISPLAY_MAX = 1024  # px: larger results are shown downsized; the full size is a download


SLIDER_PNG_CACHE_BYTES = 120_000_000  # ~100 slider images of 1024×683 once encoded: every session's, by content


@st.cache_resource
def _slider_pngs() -> BoundedCache:
    return BoundedCache(SLIDER_PNG_CACHE_BYTES)


@st.cache_data(max_entries=256, show_spinner=False)
def thumbnail(image_key: str, max_side: int, _pixels: np.ndarray) -> np.ndarray:
    """to_display for the image named `image_key`, once per image in this server (the sidebar and the region
    picker draw one on every page run: ~15 ms each time otherwise)."""
    return to_display(_pixels, max_side)


PNG_CACHE_BYTES = 60_000_000  # thumbnails and zoom windows of every session, by content


@st.cache_resource
def _pngs() -> BoundedCache:
    return BoundedCache(PNG_CACHE_BYTES)


def _content_key(pixels: np.ndarray) -> tuple:
    return pixels.shape, pixels.dtype.str, hashlib.blake2b(np.ascontiguousarray(pixels).data, digest_size=16).digest()


def _encoded_once(store: BoundedCache, pixels: np.ndarray) -> tuple[bytes, tuple]:
    """(PNG bytes, content key) of `pixels`, encoded once per content while `store` keeps it."""
    key = _content_key(pixels)
    if (png := store.get(key)) is None:
        png = encode_png(pixels, compression=1)
        store.put(key, png)
    return png, key


def png_of(pixels: np.ndarray) -> bytes:
    """PNG bytes for st.image(..., output_format="PNG"), once per content in this server: st.image encodes an
    array on every page run (~5 ms each, 5 per Enhance run) and sends PNG bytes as they are (its default format
    would decode them and send RGB as JPEG)."""
    return _encoded_once(_pngs(), pixels)[0]


class PerArray:
    """fn(array, *args) once per array object: a cached result is the same object on every rerun, so a page run
    that draws it again only looks up its id (hashing a 1024² image by content took ~4 ms a time). One entry per
    array, for the last `args` asked (a zoom window moves; only where it is now is worth keeping); an entry goes
    when its array does; an fn that returns its own argument is not kept (it would keep the array alive)."""

    def __init__(self, fn):
        self._fn, self._memo, self._lock = fn, {}, threading.Lock()

    def __call__(self, pixels: np.ndarray, *args):
        key = id(pixels)
        with self._lock:
            hit = self._memo.get(key)
        if hit is not None and hit[0]() is pixels and hit[2] == args:
            return hit[1]
        value = self._fn(pixels, *args)
        if value is pixels:
            return value

        def forget(ref, key=key) -> None:
            with self._lock:
                if key in self._memo and self._memo[key][0] is ref:
                    del self._memo[key]

        with self._lock:
            self._memo[key] = (weakref.ref(pixels, forget), value, args)
        return value

    def __len__(self) -> int:
        return len(self._memo)


def _encoded_png(pixels: np.ndarray) -> tuple[bytes, str]:
    """(PNG bytes, a name for them) of `pixels`, encoded once per content in this server (~65 ms for 1024×683 on
    2 cores)."""
    png, key = _encoded_once(_slider_pngs(), pixels)
    return png, key[2].hex()


_png = PerArray(_encoded_png)
shown = PerArray(lambda pixels: to_display(pixels, DISPLAY_MAX))  # what a slider shows of an image


def image_url(pixels: np.ndarray) -> str:
    """A URL the slider's frame loads `pixels` from: Streamlit's media store, which serves a file while a session
    draws it and drops it after (the frame is raw HTML, so the app's base path is added here)."""
    png, name = _png(pixels)
    url = runtime.get_instance().media_file_mgr.add(png, "image/png", f"sr-slider.{name}")
    base = st.get_option("server.baseUrlPath").strip("/")
    return f"/{base}{url}" if base else url


SLIDER_MAX_WIDTH = 704  # px: fits the main column at 1280 px with the sidebar open
LABEL_ROW_PX = 30


def slider_size(after: np.ndarray, max_width: int | None = SLIDER_MAX_WIDTH) -> tuple[int, int]:
    """The width the slider is drawn at (never wider than the image or `max_width`; None: the page's width)
    and the frame height that holds it at that width: labels above, image below."""
    h, w = after.shape[:2]
    shown_w = w if max_width is None else min(w, max_width)
    return shown_w, LABEL_ROW_PX + -(-shown_w * h // w) + 4


PROJECTOR_MAX_IMAGE_PX = 700  # px tall at most without script (a 1080-px screen); with it, the window's height
PROJECTOR_ROOM_PX = 240  # of the window's height left for the app's header, the labels and a caption below


def slider_html(before: np.ndarray, after: np.ndarray, before_label: str, after_label: str,
                start: int = 50, max_width: int | None = SLIDER_MAX_WIDTH, font_px: int = 13) -> str:
    """Both images must have the same size (the caller scales `before` up). `max_width` None: as wide as the
    page (projector mode), but no taller than PROJECTOR_MAX_IMAGE_PX. A Full screen button fills the screen with
    it, labels included (the frame allows fullscreen)."""
    h, w = after.shape[:2]
    width = (f"min(100%, {PROJECTOR_MAX_IMAGE_PX * w // h}px)" if max_width is None
             else f"{slider_size(after, max_width)[0]}px")
    b, a = html.escape(before_label), html.escape(after_label)
    fit_js = PROJECTOR_ROOM_PX if max_width is None else 0
    return f"""<!doctype html><html><head><style>
body{{margin:0;font-family:sans-serif;overflow:hidden}}
.labels{{display:flex;justify-content:space-between;gap:8px;width:{width};max-width:100%;
  min-height:{LABEL_ROW_PX}px;align-items:center;font-size:{font_px}px;color:#222}}
.labels span{{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}}
.labels button{{font-size:{font_px}px;flex:none;cursor:pointer}}
.cmp{{position:relative;width:{width};max-width:100%;aspect-ratio:{w}/{h};user-select:none;
  background:repeating-conic-gradient(#ddd 0 25%,#fff 0 50%) 0 0/16px 16px}}
#wrap:fullscreen{{display:flex;flex-direction:column;width:100vw;height:100vh;background:#000}}
#wrap:fullscreen .labels{{width:100%;color:#fff;padding:0 8px;box-sizing:border-box}}
#wrap:fullscreen .cmp{{flex:1;width:100%;max-width:100%;aspect-ratio:auto;background:#000}}
.cmp img{{position:absolute;inset:0;width:100%;height:100%;object-fit:contain;image-rendering:pixelated;
  display:block}}
.cmp #before{{clip-path:inset(0 {100 - start}% 0 0)}}
.cmp input{{position:absolute;inset:0;width:100%;height:100%;margin:0;opacity:0;cursor:ew-resize}}
.cmp .bar{{position:absolute;top:0;bottom:0;left:{start}%;width:2px;background:#fff;box-shadow:0 0 3px #000;
  pointer-events:none}}
</style></head><body>
<div id="wrap"><div class="labels" data-testid="sr-slider-labels"><span title="{b}">◀ {b}</span>
  <button id="full" type="button" title="Fill the screen (Esc to come back)">Full screen</button>
  <span title="{a}">{a} ▶</span></div>
<div class="cmp" id="cmp" data-testid="sr-slider">
  <img id="after" src="{html.escape(image_url(after))}" alt="{a}">
  <img id="before" src="{html.escape(image_url(before))}" alt="{b}">
  <div class="bar" id="bar"></div>
  <input id="pos" type="range" min="0" max="100" step="0.1" value="{start}" aria-label="before/after position">
</div></div>
<script>
const pos = document.getElementById('pos'), before = document.getElementById('before'),
      bar = document.getElementById('bar'), wrap = document.getElementById('wrap');
pos.addEventListener('input', () => {{
  before.style.clipPath = `inset(0 ${{100 - pos.value}}% 0 0)`;
  bar.style.left = pos.value + '%';
}});
// the labels go full screen with the images: without them nobody can tell which side is which
const fitTo = {fit_js};  // projector mode: no taller than the window leaves room for (labels and caption in sight)
if (fitTo) {{
  let room = screen.availHeight;
  try {{ room = window.top.innerHeight; }} catch (e) {{}}  // a frame of another origin: the screen's height
  const w = Math.max(240, room - fitTo) * {w} / {h} + 'px';
  for (const e of document.querySelectorAll('.labels, .cmp')) e.style.width = `min(100%, ${{w}})`;
}}
document.getElementById('full').addEventListener('click', () => wrap.requestFullscreen && wrap.requestFullscreen());
// A page run stopped by a quicker click drops the media files it had not drawn yet, and the next run serves them
// again at the same URL: an image fetched in between is asked for again, not left broken.
for (const img of [before, document.getElementById('after')]) {{
  let tries = 0;
  const again = () => {{
    if (tries++ < 5) setTimeout(() => {{ img.src = img.src.split('?')[0] + '?try=' + tries; }}, 250 * tries);
  }};
  img.addEventListener('error', again);
  if (img.complete && !img.naturalWidth) again();  // failed before this script ran
}}
</script></body></html>"""
