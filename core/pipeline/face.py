"""Optional face restoration: GFPGAN v1.4 (arch 'clean', runs on CPU) with facexlib's detector and parser.

Its weights are not on any package registry: `python -m core fetch face` (or the Enhance page's button)
downloads them, pinned and verified (core/weights/fetch.py), into the weights folder.
Built here rather than through `GFPGANer`, which loads facexlib weights from a path relative to the working
directory (downloading them if absent) and crashes on gray and RGBA input (upstream #483, #55).
"""
from __future__ import annotations

import threading

import cv2
import numpy as np

from core.io.pixels import to_float, to_uint8
from core.weights import resolve as _weights
from core.weights.fetch import missing, total_bytes

_lock = threading.Lock()
_restorer = None


class FaceWeightsMissing(RuntimeError):
    pass


def availability() -> tuple[bool, str]:
    if not missing("face"):
        return True, "GFPGAN v1.4 ready"
    return False, (f"Face restoration needs its weights (about {total_bytes('face') / 1e6:.0f} MB, fetched once): "
                   "run `python -m core fetch face`, or press 'Fetch face weights' on the Enhance page.")


class FaceRestorer:
    def __init__(self):
        import torch
        from facexlib.utils.face_restoration_helper import FaceRestoreHelper
        from gfpgan.archs.gfpganv1_clean_arch import GFPGANv1Clean

        self.net = GFPGANv1Clean(out_size=512, num_style_feat=512, channel_multiplier=2, decoder_load_path=None,
                                 fix_decoder=False, num_mlp=8, input_is_latent=True, different_w=True, narrow=1,
                                 sft_half=True)
        self.net.load_state_dict(_weights.load_checkpoint(_weights.weights_dir() / "GFPGANv1.4.pth"), strict=True)
        self.net.eval()
        # model_rootpath: absolute, so facexlib finds the user's files instead of downloading into the cwd.
        self.helper = FaceRestoreHelper(1, face_size=512, crop_ratio=(1, 1), det_model="retinaface_resnet50",
                                        save_ext="png", use_parse=True, device=torch.device("cpu"),
                                        model_rootpath=str(_weights.weights_dir()))

    def restore(self, low_bgr: np.ndarray, up_bgr: np.ndarray, outscale: float,
                landmarks: list[np.ndarray] | None = None) -> tuple[np.ndarray, int]:
        """Restore faces found in `low_bgr` and paste them into `up_bgr` (both uint8 BGR)."""
        import torch
        from basicsr.utils import img2tensor, tensor2img
        from torchvision.transforms.functional import normalize

        h = self.helper
        h.clean_all()
        h.upscale_factor = outscale
        h.read_image(low_bgr)
        if landmarks is None:
            h.get_face_landmarks_5(only_center_face=False, eye_dist_threshold=5)
        else:  # fixed landmarks: tests, and callers that found faces already
            h.all_landmarks_5 = [np.asarray(lm, np.float32) for lm in landmarks]
        h.align_warp_face()
        for crop in h.cropped_faces:
            t = img2tensor(to_float(crop, np.float64), bgr2rgb=True, float32=True)
            normalize(t, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), inplace=True)
            with torch.inference_mode():
                out = self.net(t[None], return_rgb=False)[0]
            h.add_restored_face(tensor2img(out.squeeze(0), rgb2bgr=True, min_max=(-1, 1)).astype(np.uint8))
        if not h.cropped_faces:
            return up_bgr, 0
        h.get_inverse_affine(None)
        pasted = h.paste_faces_to_input_image(upsample_img=up_bgr)
        if pasted.shape[:2] != up_bgr.shape[:2]:
            pasted = cv2.resize(pasted, (up_bgr.shape[1], up_bgr.shape[0]), interpolation=cv2.INTER_LANCZOS4)
        return pasted, len(h.cropped_faces)


def _get_restorer() -> FaceRestorer:
    global _restorer
    if _restorer is None:
        ok, why = availability()
        if not ok:
            raise FaceWeightsMissing(why)
        _restorer = FaceRestorer()
    return _restorer


def _to_bgr8(color: np.ndarray) -> np.ndarray:
    rgb = np.repeat(color, 3, axis=2) if color.shape[2] == 1 else color
    return cv2.cvtColor(to_uint8(rgb), cv2.COLOR_RGB2BGR)


def restore_faces(low: np.ndarray, up: np.ndarray, outscale: float, strength: float,
                  landmarks: list[np.ndarray] | None = None) -> tuple[np.ndarray, str]:
    """Blend GFPGAN's faces into `up` (float H×W×C, C 1 or 3) with `strength` 0…1; gray stays gray.

    Only the change GFPGAN makes is added, so pixels outside faces keep their full (e.g. 16-bit) precision.
    """
    if not 0 <= strength <= 1:
        raise ValueError("face strength must be between 0 and 1")
    with _lock:  # the helper keeps per-call state
        restorer = _get_restorer()
        up_bgr = _to_bgr8(up)
        pasted, n = restorer.restore(_to_bgr8(low), up_bgr, outscale, landmarks)
    delta = cv2.cvtColor(pasted, cv2.COLOR_BGR2RGB).astype(np.float32) - cv2.cvtColor(up_bgr, cv2.COLOR_BGR2RGB)
    if up.shape[2] == 1:
        delta = cv2.cvtColor(delta, cv2.COLOR_RGB2GRAY)[..., None]
    out = np.clip(up + strength * delta / 255.0, 0, 1)
    return out, f"GFPGAN v1.4, strength {strength:g}, {n} face{'s' if n != 1 else ''}"
