"""The code's shape: one method interface, one request value, imports that run one way, thin pages."""
import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from core.engine import Request, run
from core.interface import Upscaled
from core.methods import METHODS
from tests.conftest import ROOT

TINY = (np.arange(12 * 10 * 3, dtype=np.float32).reshape(12, 10, 3) % 251) / 250  # H×W×C float 0…1


@pytest.mark.parametrize("name", METHODS.names())
def test_every_method_upscales_a_tiny_image_through_the_one_interface(name):
    method = METHODS.get(name)
    scale = getattr(method, "native_scale", 2)
    out = method.upscale(_input(method), _size(method, scale), None)
    assert isinstance(out, Upscaled) and out.summary and out.backend
    h, w = _input(method).shape[:2]
    assert out.pixels.dtype == np.float32 and out.pixels.shape == (h * scale, w * scale, 3)
    gray = method.upscale(_input(method)[..., :1], _size(method, scale), None)
    assert gray.pixels.shape == (h * scale, w * scale, 1)


def _input(method) -> np.ndarray:
    # Real-CUGAN ×4 reflect-pads 19 px: its graph needs inputs larger than that
    return np.pad(TINY, ((0, 12), (0, 14), (0, 0)), mode="reflect") if "CUGAN" in method.name else TINY


def _size(method, scale: int) -> tuple[int, int]:
    h, w = _input(method).shape[:2]
    return w * scale, h * scale


def test_the_request_is_the_cache_key_and_the_call(astronaut_lr):
    a = Request.make("bicubic", outscale=3, params={}, image_key="k")
    b = Request.make("bicubic", outscale=3.0, image_key="k")
    assert a == b and hash(a) == hash(b) and {a: 1}[b] == 1
    assert Request.make("bicubic", face=False, face_strength=0.9) == Request.make("bicubic")  # strength unused
    assert Request.make("bilateral", params={"d": 5}) != Request.make("bilateral", params={"d": 7})
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.method = "nearest"
    cropped = dataclasses.replace(a, crop=(10, 20, 32, 16))
    out = run(astronaut_lr, cropped)
    assert out.pixels.shape == (48, 96, 3)
    assert np.array_equal(out.pixels, run(astronaut_lr[20:36, 10:42], a).pixels)


def _core_imports() -> dict[str, set[str]]:
    graph = {}
    for path in (ROOT / "core").glob("*.py"):
        name = f"core.{path.stem}"
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("core"):
                if node.module == "core":  # `from core import x` names modules
                    deps |= {f"core.{alias.name}" for alias in node.names}
                else:
                    deps.add(node.module)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("core.")}
        graph[name] = {d for d in deps if (ROOT / (d.replace(".", "/") + ".py")).exists()} - {name}
    return graph


def test_no_import_cycle_among_core_modules():
    graph = _core_imports()
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " → ".join(path[path.index(dep):] + [dep]))
            if dep not in state:
                visit(dep, path + [dep])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_core_never_imports_streamlit_and_pages_stay_thin():
    for path in (ROOT / "core").glob("*.py"):
        assert "import streamlit" not in path.read_text(), path.name
    for path in (ROOT / "pages").glob("*.py"):
        lines = len(Path(path).read_text().splitlines())
        assert lines <= 125, f"{path.name} has {lines} lines: move logic into ui/ or core/"
