"""A before/after slider that works offline: two stacked images as data URIs and a range input driving
`clip-path`. streamlit-image-comparison loads its JavaScript from a CDN (blank offline) and deletes other
sessions' temp files, so it is not used."""
from __future__ import annotations

import base64
import html

import cv2
import numpy as np

from core.imageio import encode_png


def to_display(pixels: np.ndarray, max_side: int) -> np.ndarray:
    """8-bit RGB(A) no larger than `max_side` (area-downsized), for the browser."""
    arr = pixels
    if arr.dtype == np.uint16:
        arr = (arr // 257).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 2:
        arr = np.dstack([arr[..., 0]] * 3 + [arr[..., 1]])
    h, w = arr.shape[:2]
    if max(h, w) > max_side:
        f = max_side / max(h, w)
        arr = cv2.resize(arr, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    return arr


def _uri(pixels: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(encode_png(pixels, compression=1)).decode()


def slider_html(before: np.ndarray, after: np.ndarray, before_label: str, after_label: str,
                start: int = 50) -> str:
    """Both images must have the same size (the caller scales `before` up with nearest neighbour)."""
    h, w = after.shape[:2]
    b, a = html.escape(before_label), html.escape(after_label)
    return f"""<!doctype html><html><head><style>
body{{margin:0;font-family:sans-serif}}
.cmp{{position:relative;width:100%;max-width:{w}px;aspect-ratio:{w}/{h};user-select:none;
  background:repeating-conic-gradient(#ddd 0 25%,#fff 0 50%) 0 0/16px 16px}}
.cmp img{{position:absolute;inset:0;width:100%;height:100%;image-rendering:pixelated;display:block}}
.cmp #before{{clip-path:inset(0 {100 - start}% 0 0)}}
.cmp input{{position:absolute;inset:0;width:100%;height:100%;margin:0;opacity:0;cursor:ew-resize}}
.cmp .bar{{position:absolute;top:0;bottom:0;left:{start}%;width:2px;background:#fff;box-shadow:0 0 3px #000;
  pointer-events:none}}
.lbl{{position:absolute;top:8px;padding:2px 6px;background:rgba(0,0,0,.6);color:#fff;font-size:13px;
  border-radius:3px;pointer-events:none}}
</style></head><body>
<div class="cmp" id="cmp" data-testid="sr-slider">
  <img id="after" src="{_uri(after)}" alt="{a}">
  <img id="before" src="{_uri(before)}" alt="{b}">
  <div class="bar" id="bar"></div>
  <span class="lbl" style="left:8px">{b}</span><span class="lbl" style="right:8px">{a}</span>
  <input id="pos" type="range" min="0" max="100" step="0.1" value="{start}" aria-label="before/after position">
</div>
<script>
const pos = document.getElementById('pos'), before = document.getElementById('before'),
      bar = document.getElementById('bar');
pos.addEventListener('input', () => {{
  before.style.clipPath = `inset(0 ${{100 - pos.value}}% 0 0)`;
  bar.style.left = pos.value + '%';
}});
</script></body></html>"""


def slider_height(after: np.ndarray, width: int = 704) -> int:
    h, w = after.shape[:2]
    return int(min(w, width) * h / w) + 8
