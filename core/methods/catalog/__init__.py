"""Every built-in network, one module per family: to add a model, add its entry to its family's module (a new
family: a new module here, named in FAMILIES)."""
from core.methods.catalog import dat, realcugan, realesrgan, realsr, span, srmd, waifu2x

FAMILIES = (realesrgan, span, realcugan, waifu2x, realsr, srmd, dat)
NETWORKS = [network for family in FAMILIES for network in family.NETWORKS]
