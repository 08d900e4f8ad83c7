"""The one place that patches the third-party stack; `core/__init__.py` installs it first.

basicsr 1.4.2 (used by realesrgan and gfpgan) imports `torchvision.transforms.functional_tensor`, which
torchvision removed in 0.17 (upstream BasicSR #663, Real-ESRGAN #879). We alias the old name to the new
private module lazily, so importing `core` does not import torch.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

_OLD = "torchvision.transforms.functional_tensor"
_NEW = "torchvision.transforms._functional_tensor"


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname != _OLD:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return importlib.import_module(_NEW)

    def exec_module(self, module):  # the aliased module is already executed
        sys.modules[_OLD] = module


def install() -> None:
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())
