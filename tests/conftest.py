import contextlib
import os
import platform
from pathlib import Path

import numpy as np
import pytest

import core  # noqa: F401  (installs the torchvision shim before any test imports basicsr)
from scripts.lab import chromium_hint, find_chromium

ROOT = Path(__file__).resolve().parent.parent

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


def ncnn_reference(spec, chw: np.ndarray) -> np.ndarray:
    """The ncnn runtime on the model's files, set up directly (not through core/backends.py): a reference."""
    import ncnn

    param, bin_ = spec.ncnn.files()
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.load_param(str(param))
    net.load_model(str(bin_))
    ex = net.create_extractor()
    data = np.ascontiguousarray(chw, dtype=np.float32)  # ncnn.Mat borrows this memory: keep it alive
    ex.input(spec.ncnn.input_blob, ncnn.Mat(data))
    _, out = ex.extract(spec.ncnn.output_blob)
    return np.array(out).copy()


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs ../shared/data ({path} missing)")
    return path




def use_settings(monkeypatch, **changes) -> None:
    """Other settings for one test (core.settings is read once per process)."""
    import dataclasses

    from core import settings

    monkeypatch.setattr(settings, "_settings", dataclasses.replace(settings.current(), **changes))


@pytest.fixture(autouse=True)
def _apptest_runs_the_entry_file(monkeypatch):
    """AppTest resets Streamlit's "pages/ folder" flag before every run, so with our pages/ folder it replays
    the old multipage mode from the second run on and runs a page without the entry file (no sidebar picker).
    A real server runs st.navigation on its first run, which clears the flag for good; do the same here."""
    from streamlit.runtime.pages_manager import PagesManager

    init = PagesManager.__init__

    def init_without_pages_folder(self, *args, **kwargs):
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init_without_pages_folder)


def settle(at, timeout_s: float = 300):
    """Wait until this AppTest session's jobs have ended (they run on the job service's workers, not in the
    page run), then run the page again to draw their results, as the page's watcher does in a browser."""
    import time

    from core.serve.jobs import service

    deadline = time.monotonic() + timeout_s
    owner = at.session_state["owner"]
    while service().jobs_of(owner, finished=False):
        assert time.monotonic() < deadline, "jobs still running after the timeout"
        time.sleep(0.05)
    return at.run()


def click(at, key: str, timeout_s: float = 300):
    """Press a button that starts a job, and wait for the job as the page would."""
    at.button(key=key).click().run()
    return settle(at, timeout_s)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test leaves a screenshot of its page in test-artifacts/ (what the user would have seen), and
    of every page it opened itself and left open (a test of two sessions makes its own)."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    funcargs = getattr(item, "funcargs", {})
    shown = {name: funcargs.get(name) for name in ("page", "offline_page", "second_page")}
    browser = funcargs.get("browser")
    if browser is not None and hasattr(browser, "contexts"):  # pages a test opened itself (its sessions)
        try:
            for i, page in enumerate(p for c in browser.contexts for p in c.pages):
                shown.setdefault(f"open{i}", page)
        except Exception:  # a closed browser: nothing to show
            pass
    safe = "".join(c if c.isalnum() else "_" for c in item.name)[:120]
    for name, page in shown.items():
        if page is not None and hasattr(page, "screenshot"):
            ARTIFACTS.mkdir(exist_ok=True)
            try:
                page.screenshot(path=str(ARTIFACTS / f"failed_{safe}_{name}.png"), full_page=True)
            except Exception:  # a closed page or browser: nothing to show
                pass


# ---------------------------------------------------------------- the browser tests' shared fixtures
# Chromium (or Chrome, Edge) where the system or Playwright has it, SRLAB_CHROMIUM first; None: the browser tests skip
CHROMIUM = find_chromium()
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]


class _Server(str):
    """The server's URL, which also knows the server's process id."""
    pid: int


@pytest.fixture(scope="module")
def server(artifacts):
    """The app on a free loopback port, one per test module."""
    from scripts import local_server

    log = open(artifacts / "streamlit-server.log", "wb")  # a file, not a pipe: a full pipe would block the server
    proc, address = local_server.start(log)
    url = _Server(address)
    url.pid = proc.pid
    yield url
    local_server.stop(proc)
    log.close()


def pytest_collection_modifyitems(config, items):
    """Without a browser, the tests that need one are skipped before they start: pytest -ra folds them into one line
    per file, saying why (CI fails instead, in the fixture)."""
    if CHROMIUM is not None or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason=f"no Chromium found: {chromium_hint(platform.system())}")
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium driven by Playwright (it never downloads a browser of its own)."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            raise RuntimeError("CI needs Debian's chromium for the browser test (make browser installs it)")
        pytest.skip(f"no Chromium found: {chromium_hint(platform.system())}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def tab(browser):
    """Opens browser tabs, each in a context of its own (its own cookies and session), all closed after the test:
    `tab(size=(1280, 720), downloads=False, loopback_only=False)` → a Playwright page with `page.size`;
    `loopback_only`: every request that leaves 127.0.0.1 is blocked and listed in `page.blocked`. Projector mode
    is a click in the loaded page: tests.browser_steps.projector_on(page)."""
    from urllib.parse import urlparse

    contexts = []

    def open_tab(size: tuple[int, int] = (1280, 720), *, downloads: bool = False, loopback_only: bool = False):
        context = browser.new_context(viewport={"width": size[0], "height": size[1]}, accept_downloads=downloads)
        contexts.append(context)
        page = context.new_page()
        page.size, page.blocked = size, []

        def only_loopback(route):
            host = urlparse(route.request.url).hostname or ""
            if route.request.url.startswith(("data:", "blob:", "about:")) or host in ("127.0.0.1", "localhost"):
                route.continue_()
            else:
                page.blocked.append(route.request.url)
                route.abort()

        if loopback_only:
            page.route("**/*", only_loopback)
        return page

    yield open_tab
    for context in contexts:
        with contextlib.suppress(Exception):  # (one the test closed itself: a tab closed mid-job)
            context.close()


@pytest.fixture
def offline_page(tab, server):
    """A page at 1400×1800 whose every request that leaves loopback is blocked (and listed in `page.blocked`)."""
    return tab((1400, 1800), loopback_only=True)


@pytest.fixture
def downloading_page(tab, server):
    """A page at 1280×720 that accepts downloads (the tests read what arrives)."""
    return tab(downloads=True)
