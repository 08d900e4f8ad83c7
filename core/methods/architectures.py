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


def dat(**params):
    """Dual Aggregation Transformer (spandrel's copy of the official code): DAT-light. Built on the CPU even where
    the loader asks for the meta device: its __init__ calls `.item()` on a tensor and keeps its RGB mean as a
    plain tensor, neither of which survives meta construction. Its __init__ also calls `torch.meshgrid` without
    `indexing` (the old default, "ij", is what it means): torch's warning about that would reach every user."""
    import warnings

    import torch
    from spandrel.architectures.DAT import DAT

    with torch.device("cpu"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="torch.meshgrid", category=UserWarning)
        return DAT(**params)
