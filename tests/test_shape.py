"""The code's shape: one method interface, one request value, imports that run one way, thin pages."""
import ast
import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from core.methods import METHODS
from core.methods.contract import Upscaled
from core.pipeline.engine import Request, run
from tests.conftest import ROOT

TINY = (np.arange(12 * 10 * 3, dtype=np.float32).reshape(12, 10, 3) % 251) / 250  # H×W×C float 0…1


@pytest.mark.parametrize("name", METHODS.names())
def test_every_method_upscales_a_tiny_image_through_the_one_interface(name):
    method = METHODS.get(name)
    scale = method.native_scale or 2
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


# core/'s layers, lowest first: a module imports from its own layer and the ones before it, never after.
LAYERS = [
    ("core.compat", "core.registry", "core.settings"),  # foundation
    ("core.io",),        # decoding, output files, batches, samples
    ("core.weights",),   # where weights come from
    ("core.runtime",),   # backends, the one choice of backend and tile, tiling, progress
    ("core.methods",),   # the contract, the catalogue, classical methods, user models
    ("core.pipeline",),  # one request: validate → plan → method → faces → alpha
    ("core.quality",),   # measures, scoring, degradation, benches
    ("core.video",),     # clips through methods, their measures, the built-in pan
    ("core.train",),     # training and fine-tuning
    ("core.serve",),     # the job service, the results cache, Ray
    ("core.cli", "core.__main__", "core"),  # the command line (and the package's own __init__)
]


def _layer(module: str) -> int:
    for i, prefixes in enumerate(LAYERS):
        if module in prefixes or any(module.startswith(p + ".") for p in prefixes if p != "core"):
            return i
    raise AssertionError(f"{module} is in no layer of tests/test_shape.py")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The core modules `path` imports (`from core.x import y` names module core.x.y when that is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "core":
            found.add(node.module)
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if (ROOT / (sub.replace(".", "/") + ".py")).exists() or (ROOT / sub.replace(".", "/")).is_dir():
                    found.add(sub)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "core"}
    return found


CORE = sorted((ROOT / "core").rglob("*.py"))


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_run_down_the_layers(path):
    module = _module_name(path)
    for imported in _imports(path):
        if imported == "core" or imported == module:
            continue  # `from core import settings` is caught by its full name
        low, high = LAYERS[_layer(imported)][0], LAYERS[_layer(module)][0]
        assert _layer(imported) <= _layer(module), f"{module} (layer {high}) imports {imported} (layer {low}), above it"


def _kind_tests(path: Path) -> list[int]:
    """Lines that compare a `.kind` (not numpy's `dtype.kind`): asking which kind of method one holds."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                if isinstance(side, ast.Attribute) and side.attr == "kind" and not (
                        isinstance(side.value, ast.Attribute) and side.value.attr == "dtype"):
                    lines.append(node.lineno)
    return lines


def test_nothing_outside_the_methods_package_asks_which_kind_of_method_it_holds():
    app = [*(ROOT / "ui").glob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "streamlit_app.py"]
    outside = [p for p in [*CORE, *app] if "core/methods" not in str(p)]
    found = {str(p.relative_to(ROOT)): _kind_tests(p) for p in outside}
    assert not {k: v for k, v in found.items() if v}


def test_no_module_guesses_a_method_field_with_getattr():
    for path in [*CORE, *(ROOT / "ui").glob("*.py"), *(ROOT / "pages").glob("*.py")]:
        text = path.read_text()
        for field in ("native_scale", "kind", "purpose", "family", "params"):
            assert f'getattr(spec, "{field}"' not in text and f'getattr(method, "{field}"' not in text, path


def test_layers_hold_across_packages_not_only_without_cycles():
    """The direction, tested on a known edge: the engine (pipeline) may use methods, never the job service."""
    engine = ROOT / "core" / "pipeline" / "engine.py"
    assert not any(i.startswith("core.serve") or i.startswith("core.quality") for i in _imports(engine))


def test_core_never_imports_streamlit_and_pages_stay_thin():
    for path in CORE:
        assert "import streamlit" not in path.read_text(), path.name
    for path in (ROOT / "pages").glob("*.py"):
        lines = len(Path(path).read_text().splitlines())
        assert lines <= 125, f"{path.name} has {lines} lines: move logic into ui/ or core/"


def test_drawing_the_pages_imports_no_torch():
    """Torch takes ~1.5 s to import on 2 cores: a page that only draws must not pay it (on a Ray cluster the
    server runs no network and would pay it in a student's first page run); a job imports it when it runs."""
    import subprocess
    import sys

    pages = tuple(sorted(p.stem for p in (ROOT / "pages").glob("*.py")))  # Start and Train too
    script = ("import sys\nfrom streamlit.testing.v1 import AppTest\n"
              "at = AppTest.from_file('streamlit_app.py', default_timeout=120).run()\n"
              f"for page in {pages}:\n"
              "    at.switch_page(f'pages/{page}.py').run()\n"
              "    assert not at.exception, (page, at.exception)\n"
              "    print(page, 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [w for page in pages for w in (page, "False")]


def _app_files() -> list[Path]:
    return [*(ROOT / "ui").glob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "streamlit_app.py"]


def test_ui_submits_tasks_defined_in_core_and_computes_no_job():
    """What a job computes lives in core/serve/tasks/ (the CLI and Ray run the same code): the app passes the
    service nothing but a task's `work`, and no function of ui/ or pages/ takes a job's context."""
    submits = []
    for path in _app_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.Lambda)):
                args = [a.arg for a in [*node.args.args, *node.args.kwonlyargs]]
                assert "ctx" not in args, f"{path.name}:{node.lineno} takes a job's context: make it a task in core"
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "submit"
                    and isinstance(node.func.value, ast.Call)):  # job_service().submit(...)
                submits.append(ast.unparse(node.args[0]))
    assert submits == ["task.work"]


def test_nothing_outside_the_methods_package_tells_a_network_by_its_native_scale():
    """`core.methods.is_network` / `select(network=…)` are the one question; `native_scale is (not) None` stood in
    for it in four places."""
    for path in [*CORE, *_app_files()]:
        if "core/methods" not in str(path):
            text = path.read_text()
            assert "native_scale is not None" not in text and "native_scale is None" not in text, path


def test_every_network_offers_what_the_runtime_needs():
    from core.methods import networks
    from core.runtime.backends import RunnableNetwork

    assert all(isinstance(n, RunnableNetwork) for n in networks())


def test_every_download_button_goes_through_the_one_helper_that_does_not_rerun():
    """Issue 41: a download that reran the page lost a second one clicked within a second. `ui.controls.download`
    sets on_click="ignore"; the browser test checks Train, Metrics and Baselines, this one every other page
    (Video's MP4s and handout, Which model?, Batch, Enhance, the attribution report) by construction."""
    callers = []
    for path in _app_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "download_button":
                callers.append(f"{path.name}:{node.lineno}")
    assert callers == ["controls.py:53"], callers
    import inspect

    from ui.controls import download

    assert 'on_click="ignore"' in inspect.getsource(download)


def test_every_test_module_that_opens_a_browser_is_marked_so():
    """`-m "not browser"` must start no Chromium (issue 45: the walkthrough had no marker)."""
    here = Path(__file__).resolve().parent
    unmarked = []
    for path in sorted(here.glob("test_*.py")):
        tree = ast.parse(path.read_text())
        opens = any(isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
                    and any(a.arg in ("browser", "offline_page", "downloading_page") for a in node.args.args)
                    for node in ast.walk(tree))
        if opens and "pytest.mark.browser" not in path.read_text():
            unmarked.append(path.name)
    assert unmarked == []


# A pixel conversion by hand: an integer image divided by its dtype's maximum, or a float image scaled to 255 and
# rounded or truncated to uint8 (issue 45: six copies of one, ten of the other, before core/io/pixels.py).
BY_HAND = re.compile(r"astype\([^)]*\)\s*/\s*(255|65535|maxval)\b|/\s*maxval\b|\*\s*255(\.0)?\s*\+\s*0\.5"
                     r"|65535\.0 if|\*\s*255\)\s*\.astype\(\s*(np\.)?[\"']?uint8")
NOT_AN_IMAGE = {"bench/memory.py": "makes a random test image from random numbers"}


def test_pixel_conversions_live_in_one_module():
    sources = [p for d in ("core", "ui", "pages", "bench", "scripts") for p in (ROOT / d).rglob("*.py")]
    found = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in sources + [ROOT / "streamlit_app.py"]
             if p.relative_to(ROOT).as_posix() not in ("core/io/pixels.py", *NOT_AN_IMAGE)
             for n, line in enumerate(p.read_text().splitlines(), 1) if BY_HAND.search(line)]
    assert not found, "convert through core.io.pixels (to_float, from_float, to_uint8):\n" + "\n".join(found)


def test_pages_submit_through_ui_jobs_and_follow_with_one_call():
    """Issue 45: a page neither builds a task nor asks a job's State; it submits through ui/jobs' submit_* and
    follows its job with jobs.follow (progress, the outcome's line, the job back) — one idiom at every site."""
    for path in [*(ROOT / "pages").glob("*.py"), ROOT / "streamlit_app.py"]:
        text = path.read_text()
        assert "core.serve.tasks" not in text, f"{path.name} builds a task: add a submit_* to ui/jobs.py"
        assert "import State" not in text and "jobs.watch(" not in text and "jobs.outcome(" not in text, path.name
    for path in (ROOT / "ui").glob("*.py"):
        text = path.read_text()
        if path.name != "jobs.py":
            assert "jobs.submit(" not in text, f"{path.name} submits beside ui/jobs.py"
            assert "jobs.watch(" not in text and "jobs.outcome(" not in text, f"{path.name}: use jobs.follow"


def test_nothing_outside_the_methods_package_branches_on_what_a_method_consumes():
    """Issue 45: a clip's code asks `methods.as_sequence(m)` (a declared SequenceMethod, or None), never the
    string `consumes`."""
    compared = re.compile(r"consumes\s*(==|!=|\bin\b|\bis\b)|(==|!=)\s*\w*\.consumes\b")
    outside = [p for p in [*CORE, *(ROOT / "ui").glob("*.py"), *(ROOT / "pages").glob("*.py")]
               if "core/methods" not in p.as_posix()]
    found = [f"{p.relative_to(ROOT)}:{n}" for p in outside for n, line in enumerate(p.read_text().splitlines(), 1)
             if compared.search(line)]
    assert not found, found


def test_browser_tests_open_their_tabs_through_the_one_fixture():
    """Issue 45: a tab (its context, size, downloads, loopback guard) is opened by conftest's `tab` fixture, and
    projector mode switched on by tests.browser_steps.projector_on, not set up again in each module."""
    for path in (ROOT / "tests").glob("test_*.py"):
        text = path.read_text() if path.name != "test_shape.py" else ""  # (this test names what it looks for)
        assert ".new_context(" not in text, f"{path.name}: use the tab fixture"
        assert 'get_by_text("Projector mode").click()' not in text, f"{path.name}: use browser_steps.projector_on"
