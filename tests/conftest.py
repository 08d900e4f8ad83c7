import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import core  # noqa: E402,F401  (installs the torchvision shim before any test imports basicsr)

SHARED = ROOT.parent / "shared" / "data"
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """A real photo with a face that every fresh clone has (scikit-image's bundled data)."""
    from skimage import data
    return data.astronaut()


@pytest.fixture(scope="session")
def astronaut_lr(astronaut) -> np.ndarray:
    """The astronaut at 128×128 (area-downscaled ×4): a real low-resolution input."""
    import cv2
    return cv2.resize(astronaut, (128, 128), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs ../shared/data ({path} missing)")
    return path


os.environ.setdefault("SRLAB_TEST", "1")
