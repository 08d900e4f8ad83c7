"""PyTorch definitions of the architectures we can run on torch (the official ones, from their packages):
architecture apart from weights, as timm keeps them. A catalogue entry names one with its parameters."""
from __future__ import annotations


def rrdbnet(**params):
    """ESRGAN's RRDBNet (basicsr): Real-ESRGAN x4plus / anime_6B."""
    from basicsr.archs.rrdbnet_arch import RRDBNet
    return RRDBNet(**params)


def srvgg_compact(**params):
    """Real-ESRGAN's SRVGGNetCompact (realesrgan): realesr-animevideov3."""
    from realesrgan.archs.srvgg_arch import SRVGGNetCompact
    return SRVGGNetCompact(**params)
