"""Issue 48.5 on the Enhance page: a 12-MP phone photo's full-image request is checked before the click, and the
verdict sits beside the button — a scale that works named, the button off where nothing can run, the size and
this machine's time where it can (the refusal used to land below the fold after a click that looked dead)."""
import io

import numpy as np
from PIL import Image

from tests.test_app import new_app


def _phone_jpeg() -> bytes:
    y, x = np.mgrid[0:3024, 0:4032]
    rgb = np.dstack([(x * 255 // 4031), (y * 255 // 3023), ((x + y) % 256)]).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def test_a_phone_photo_says_beside_the_button_which_scale_works_and_how_big_and_long_it_is():
    at = new_app()
    at.radio(key="source_w").set_value("Upload").run()
    at.file_uploader(key="upload").upload("IMG_0001.jpg", _phone_jpeg(), "image/jpeg").run()
    assert not at.exception
    full = at.button(key="enh_full")
    notes = [c.value for c in at.caption if c.value.startswith("Full image")]
    assert full.disabled and len(notes) == 1 and "×2.25 or less works" in notes[0], notes  # ×4: 195 MP > 64
    at.radio(key="enh_scale").set_value("×2").run()
    notes = [c.value for c in at.caption if c.value.startswith("Full image")]
    assert not at.button(key="enh_full").disabled and notes[0].startswith("Full image: 8064×6048 (49 MP)"), notes
