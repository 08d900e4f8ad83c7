#!/usr/bin/env python3
"""SR Lab's set-up and its commands on Linux, macOS and Windows, with nothing but Python 3.11 (no make, no shell):

    python3.11 scripts/lab.py run [--port 8501]     set up, convert the weights, measure this CPU, start the app
    python3.11 scripts/lab.py test [-- ARGS]         set up with the test tools, `ruff check .`, `pytest ARGS`
    (Windows: py -3.11 scripts\\lab.py run)

Also: setup, dev (setup and the test tools), weights, warm (python -m core prepare), browser (Chromium for the
browser tests), vulkan (the Vulkan loader and Mesa's lavapipe for the vulkan backend's tests), lint, bench
(bench/speed.py --quick), wheels (tests/test_wheels.py: does every pin have a wheel for Windows, macOS and Linux).
`--torch cpu` (the default, or TORCH=cpu): the lightest torch that runs on a CPU; `--torch cuda`: the registry's
CUDA build (Linux). A second run skips what is set up: the stamps in .venv hold a hash of the requirements files
and of this script, and a change to either sets up again. The Makefile calls this.
"""
from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

ROOT = Path(__file__).resolve().parent.parent
VENV = ".venv"
REQUIREMENTS = ("requirements.txt", "requirements-nodeps.txt")
DEV_REQUIREMENTS = "requirements-dev.txt"
BUILDS = ("cpu", "cuda")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# torch's own requirements less the CUDA ones: PyTorch's CPU wheels go in without dependencies, so the registry
# wheel's CUDA requirements never reach the resolver
TORCH_NEEDS = ("filelock", "typing-extensions>=4.10.0", "sympy", "networkx>=2.5.1", "jinja2", "fsspec>=0.8.5")
# a CPU build must import and compute with no GPU library loaded
TORCH_CHECK = ("import torch, torchvision; "
               "torch.nn.functional.conv2d(torch.ones(1, 1, 4, 4), torch.ones(1, 1, 3, 3))")
COMMANDS = ("setup", "dev", "weights", "warm", "browser", "vulkan", "run", "lint", "test", "bench", "wheels")


# ---------------------------------------------------------------- pure parts (tests/test_lab_setup.py)
def venv_bin(venv: PurePath, system: str) -> PurePath:
    """Where a venv keeps its programs: Scripts\\ on Windows, bin/ elsewhere."""
    return venv / "Scripts" if system == "Windows" else venv / "bin"


def venv_python(venv: PurePath, system: str) -> PurePath:
    return venv_bin(venv, system) / ("python.exe" if system == "Windows" else "python")


def pins(text: str) -> dict[str, str]:
    """name (lower case) -> version for every `name==version` line of a requirements file."""
    found = {}
    for line in text.splitlines():
        name, sep, version = line.split("#")[0].strip().partition("==")
        if sep:
            found[name.strip().lower()] = version.strip()
    return found


@dataclass(frozen=True)
class Choice:
    """One way to install torch: `installs` run in order (pip's arguments); if the first fails, the next choice is
    tried. `after` runs once the requirements are in."""
    name: str
    installs: tuple[tuple[str, ...], ...]
    after: tuple[tuple[str, ...], ...]
    says: str
    if_fails: str = ""


def torch_choices(build: str, system: str, versions: Mapping[str, str], cpu_index: str = CPU_INDEX) -> list[Choice]:
    """The ways to install torch for `build` on `system` ('Linux', 'Darwin', 'Windows'), in the order to try them."""
    if build not in BUILDS:
        raise ValueError(f"--torch {build} is not a build: cpu (the default) or cuda")
    torch, vision = versions["torch"], versions["torchvision"]
    stack = (f"torch=={torch}", f"torchvision=={vision}", f"numpy=={versions['numpy']}")
    registry = ("install", "-q", *stack)
    if system != "Linux":
        # the registry's torch for Windows and macOS is the CPU build already (on Apple silicon it also runs on the
        # GPU, mps); PyTorch's CPU index is not asked
        what = {"Darwin": "CPU, and the GPU through mps on Apple silicon"}.get(system, "CPU only")
        says = f"torch {torch}: the registry's build for {system} ({what})"
        if build == "cuda":
            says += "; the registry has no CUDA build for it: see pytorch.org for PyTorch's own CUDA wheels"
        return [Choice("registry", (registry,), (), says)]
    if build == "cuda":
        return [Choice("cuda", (registry,), (), f"torch {torch}: the registry's CUDA build (--torch cuda)")]
    cpu_only = ("install", "-q", "--no-deps", "--timeout", "5", "--retries", "0", "--index-url", cpu_index,
                f"torch=={torch}+cpu", f"torchvision=={vision}+cpu")
    return [
        Choice("cpu-index", (cpu_only, ("install", "-q", *TORCH_NEEDS, stack[2])), (),
               f"torch {torch}: PyTorch's CPU build, from {cpu_index}",
               f"torch: {cpu_index} did not answer; the registry's build instead, less triton"),
        # triton is a compiler for NVIDIA GPUs that a CPU never loads; it goes after the rest, since resolving
        # torch's requirements would bring it back. The CUDA libraries stay: torch links them at import.
        Choice("registry-cpu", (registry,), (("uninstall", "-q", "-y", "triton"),),
               f"torch {torch}: the registry's build less triton (--torch cuda keeps it)"),
    ]


def digest(parts: Mapping[str, bytes], build: str) -> str:
    """What a stamp records: the build and the bytes of every file the set-up depends on."""
    h = hashlib.sha256(build.encode())
    for name in sorted(parts):
        h.update(b"\0" + name.encode() + b"\0" + hashlib.sha256(parts[name]).digest())
    return h.hexdigest()


def stamp_name(build: str) -> str:
    return f".installed-{build}"


def is_current(stamp_text: str | None, wanted: str) -> bool:
    """A stamp counts when it holds exactly this digest (an empty stamp from the old Makefile does not)."""
    return stamp_text is not None and stamp_text.strip() == wanted


def other_builds(stamps: Sequence[str], build: str) -> list[str]:
    """The builds other than `build` whose stamps are in the venv: their torch goes before this one's goes in."""
    return sorted({s.removeprefix(".installed-") for s in stamps} - {build, "dev"})


def pip_command(python: PurePath, args: Sequence[str]) -> list[str]:
    return [str(python), "-m", "pip", *args]


def chromium_candidates(system: str, env: Mapping[str, str], home: PurePath) -> list[PurePath]:
    """Where a Chromium-family browser that Playwright can drive usually is, most wanted first (Chromium, then
    Chrome, then Edge, which every Windows 10/11 has)."""
    path = PureWindowsPath if system == "Windows" else PurePosixPath
    found = []
    if system == "Windows":
        bases = [path(env[k]) for k in ("PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA") if env.get(k)]
        for rel in (("Chromium", "Application", "chrome.exe"), ("Google", "Chrome", "Application", "chrome.exe"),
                    ("Microsoft", "Edge", "Application", "msedge.exe")):
            found += [base.joinpath(*rel) for base in bases]
    elif system == "Darwin":
        for app in ("Chromium.app/Contents/MacOS/Chromium", "Google Chrome.app/Contents/MacOS/Google Chrome",
                    "Microsoft Edge.app/Contents/MacOS/Microsoft Edge"):
            found += [path("/Applications", app), home / "Applications" / app]
    else:
        found += [path(p) for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/snap/bin/chromium",
                                    "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable")]
    return found


def playwright_browsers(system: str, env: Mapping[str, str], home: PurePath) -> PurePath:
    """The folder where `playwright install chromium` puts its browsers."""
    path = PureWindowsPath if system == "Windows" else PurePosixPath
    if env.get("PLAYWRIGHT_BROWSERS_PATH") not in (None, "", "0"):
        return path(env["PLAYWRIGHT_BROWSERS_PATH"])
    if system == "Windows":
        return path(env.get("LOCALAPPDATA") or home / "AppData" / "Local") / "ms-playwright"
    if system == "Darwin":
        return home / "Library" / "Caches" / "ms-playwright"
    return path(env.get("XDG_CACHE_HOME") or home / ".cache") / "ms-playwright"


# inside a Playwright chromium-NNNN folder, by system (the newer layout first)
PLAYWRIGHT_CHROMES = {
    "Windows": ("chrome-win64/chrome.exe", "chrome-win/chrome.exe"),
    "Darwin": ("chrome-mac-arm64/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing",
               "chrome-mac-x64/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing",
               "chrome-mac/Chromium.app/Contents/MacOS/Chromium"),
    "Linux": ("chrome-linux64/chrome", "chrome-linux/chrome"),
}


def find_chromium(system: str | None = None, env: Mapping[str, str] | None = None, home: Path | None = None,
                  which: Callable[[str], str | None] = shutil.which) -> str | None:
    """The browser for the browser tests: SRLAB_CHROMIUM, chromium on PATH, the usual install places, then
    Playwright's own download. None when there is none."""
    system = system or platform.system()
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    candidates = [env.get("SRLAB_CHROMIUM"), which("chromium"), which("chromium-browser"),
                  *chromium_candidates(system, env, home)]
    browsers = Path(playwright_browsers(system, env, home))
    if browsers.is_dir():
        for folder in sorted(browsers.glob("chromium-*"), key=lambda p: p.name, reverse=True):
            candidates += [folder / rel for rel in PLAYWRIGHT_CHROMES.get(system, PLAYWRIGHT_CHROMES["Linux"])]
    return next((str(p) for p in candidates if p and os.path.isfile(p)), None)


def chromium_hint(system: str) -> str:
    if system == "Linux":
        return ("as root `python3.11 scripts/lab.py browser` installs Debian's chromium; or sudo apt-get install "
                "chromium; or set SRLAB_CHROMIUM")
    return ("install Chromium or Google Chrome (Windows' Edge also works), or `python -m playwright install chromium` "
            "in .venv, or set SRLAB_CHROMIUM to the browser's program")


# ---------------------------------------------------------------- running
VULKAN_PACKAGES = ("libvulkan1", "mesa-vulkan-drivers")  # the loader, and Mesa's drivers (lavapipe among them)


def vulkan_loader(system: str) -> str | None:
    """The Vulkan loader library where this machine has one (None: the Vulkan tests will skip)."""
    import ctypes.util

    return ctypes.util.find_library("vulkan-1" if system == "Windows" else "vulkan")


def run_command(cmd: Sequence[str], cwd: Path, quiet: bool = False, env: Mapping[str, str] | None = None) -> int:
    """One program with its arguments (no shell); its exit status (127: not found)."""
    sink = subprocess.DEVNULL if quiet else None
    try:
        return subprocess.run(list(cmd), cwd=cwd, stdout=sink, stderr=sink,
                              env=None if env is None else {**os.environ, **env}).returncode
    except FileNotFoundError:
        return 127


class Failed(Exception):
    pass


class Lab:
    """The set-up and the commands. `runner` runs one command (tests record instead); `system` is platform.system()."""

    def __init__(self, root: Path = ROOT, build: str = "cpu", system: str | None = None,
                 runner: Callable[..., int] = run_command, python: str = sys.executable,
                 env: Mapping[str, str] | None = None, say: Callable[[str], None] | None = None):
        self.root, self.build, self.system = root, build, system or platform.system()
        self.runner, self.base_python = runner, python
        self.env = os.environ if env is None else env
        self.venv = root / VENV
        self.python = venv_python(self.venv, self.system)
        self.say = say or (lambda line: print(f"lab: {line}", flush=True))

    # -- helpers
    def call(self, cmd: Sequence[str], quiet: bool = False, env: Mapping[str, str] | None = None) -> int:
        return self.runner([str(c) for c in cmd], cwd=self.root, quiet=quiet, env=env)

    def must(self, cmd: Sequence[str], **kw) -> None:
        code = self.call(cmd, **kw)
        if code != 0:
            raise Failed(f"`{' '.join(str(c) for c in cmd)}` failed (exit {code})")

    def pip(self, *args: str, **kw) -> None:
        self.must(pip_command(self.python, args), **kw)

    def py(self, *args: str) -> None:
        self.must([str(self.python), *args])

    def _read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def _stamp(self, name: str) -> str | None:
        path = self.venv / name
        return path.read_text() if path.is_file() else None

    def setup_digest(self) -> str:
        parts = {name: self._read(name) for name in REQUIREMENTS}
        parts["scripts/lab.py"] = Path(__file__).read_bytes()
        return digest(parts, self.build)

    # -- the steps
    def setup(self) -> None:
        """.venv with the app's pinned packages and the lightest torch for this machine (see torch_choices)."""
        wanted = self.setup_digest()
        if is_current(self._stamp(stamp_name(self.build)), wanted):
            return
        self.say(f"setting up {VENV} (--torch {self.build}): the pinned packages, a few minutes; pip is quiet")
        if sys.version_info[:2] != (3, 11):
            self.say(f"SR Lab's pins are checked on Python 3.11; this is {platform.python_version()}: going on")
        stamps = sorted(p.name for p in self.venv.glob(".installed*")) if self.venv.is_dir() else []
        for path in stamps:
            (self.venv / path).unlink()
        if not os.path.isfile(self.python):
            self.say(f"creating {VENV} with {self.base_python}")
            self.must([self.base_python, "-m", "venv", str(self.venv)])
        elif other_builds(stamps, self.build):  # switching builds: the other torch goes first
            self.pip("uninstall", "-q", "-y", "torch", "torchvision")
        # basicsr's setup.py needs torch at build time: torch first, then basicsr built against it
        # (--no-build-isolation) instead of pip fetching a second torch into a build environment; that needs
        # setuptools and wheel in the venv
        self.pip("install", "-q", "setuptools", "wheel")
        versions = pins(self._read("requirements.txt").decode())
        choices = torch_choices(self.build, self.system, versions, self.env.get("TORCH_CPU_INDEX") or CPU_INDEX)
        for i, choice in enumerate(choices):
            last = i == len(choices) - 1
            first, *rest = choice.installs
            if self.call(pip_command(self.python, first), quiet=not last) == 0:
                for args in rest:
                    self.pip(*args)
                break
            if last:
                raise Failed(f"torch: `{' '.join(pip_command(self.python, first))}` failed")
            self.say(choice.if_fails)
        self.pip("install", "-q", "--no-build-isolation", "-r", "requirements.txt")
        self.pip("install", "-q", "--no-build-isolation", "--no-deps", "-r", "requirements-nodeps.txt")
        for args in choice.after:
            self.pip(*args)
        self.py("-c", TORCH_CHECK)
        self.say(choice.says)
        (self.venv / stamp_name(self.build)).write_text(wanted + "\n")

    def dev(self) -> None:
        """setup, and the test tools (requirements-dev.txt)."""
        self.setup()
        wanted = digest({DEV_REQUIREMENTS: self._read(DEV_REQUIREMENTS), "setup": self.setup_digest().encode()}, "dev")
        if is_current(self._stamp(".installed-dev"), wanted):
            return
        self.say(f"installing the test tools ({DEV_REQUIREMENTS})")
        self.pip("install", "-q", "-r", DEV_REQUIREMENTS)
        (self.venv / ".installed-dev").write_text(wanted + "\n")

    def weights(self) -> None:
        """The weights only: a test measures a backend when it first needs one."""
        self.setup()
        self.py("-m", "core", "prepare", "--no-measure")

    def warm(self) -> None:
        """The weights, and this machine's backend measurements for the default networks: ready before class."""
        self.setup()
        self.py("-m", "core", "prepare")

    def browser(self) -> None:
        """A Chromium for the browser tests: found where the system or Playwright has it; on Linux as root, Debian's
        chromium installed; else the browser tests skip, saying why."""
        found = find_chromium(self.system, self.env)
        if found:
            return
        is_root = hasattr(os, "geteuid") and os.geteuid() == 0
        if self.system == "Linux" and is_root and shutil.which("apt-get"):
            self.say("installing Debian's chromium for the browser tests")
            self.must(["apt-get", "update", "-qq"])
            self.must(["apt-get", "install", "-y", "-qq", "chromium"], quiet=True,
                      env={"DEBIAN_FRONTEND": "noninteractive"})
            return
        self.say(f"no Chromium found: the browser tests will be skipped ({chromium_hint(self.system)})")

    def vulkan(self) -> None:
        """The Vulkan loader and Mesa's drivers, for the vulkan backend's tests (lavapipe, a software device: they
        check its output, not its speed): on Linux as root, Debian's packages; elsewhere without a loader the
        Vulkan tests skip, saying why."""
        is_root = hasattr(os, "geteuid") and os.geteuid() == 0
        if self.system == "Linux" and is_root and shutil.which("apt-get") and shutil.which("dpkg"):
            if self.call(["dpkg", "-s", *VULKAN_PACKAGES], quiet=True) != 0:
                self.say("installing Debian's libvulkan1 and mesa-vulkan-drivers for the Vulkan tests")
                self.must(["apt-get", "update", "-qq"])
                self.must(["apt-get", "install", "-y", "-qq", *VULKAN_PACKAGES], quiet=True,
                          env={"DEBIAN_FRONTEND": "noninteractive"})
            return
        if vulkan_loader(self.system) is None:
            hint = ("as root: apt-get install libvulkan1 mesa-vulkan-drivers" if self.system == "Linux"
                    else "a GPU driver with Vulkan installs it")
            self.say(f"no Vulkan loader found: the Vulkan tests will be skipped ({hint})")

    def run(self, port: int) -> int:
        self.warm()
        return self.call([str(self.python), "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port)])

    def lint(self) -> None:
        self.dev()
        self.py("-m", "ruff", "check", ".")

    def test(self, args: Sequence[str]) -> int:
        self.dev()
        self.lint()
        self.weights()
        self.browser()
        self.vulkan()
        return self.call([str(self.python), "-m", "pytest", *args])

    def bench(self) -> int:
        self.weights()
        return self.call([str(self.python), "bench/speed.py", "--quick"])

    def wheels(self) -> int:
        self.dev()
        return self.call([str(self.python), "tests/test_wheels.py"])


def main(argv: Sequence[str] | None = None, lab_factory: Callable[..., Lab] = Lab) -> int:
    import argparse

    if sys.version_info < (3, 11):
        print(f"lab: SR Lab needs Python 3.11 (this is {platform.python_version()})", file=sys.stderr)
        return 2
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(prog="lab.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("--torch", default=os.environ.get("TORCH") or "cpu", choices=BUILDS,
                        help="cpu (default): the lightest torch for a CPU; cuda: the registry's CUDA build (Linux)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8501), help="for run")
    opts = parser.parse_args(argv)
    if extra and opts.command != "test":
        parser.error("arguments after -- go to pytest: only with test")
    lab = lab_factory(build=opts.torch)
    try:
        if opts.command == "run":
            return lab.run(opts.port)
        if opts.command == "test":
            return lab.test(extra)
        if opts.command in ("bench", "wheels"):
            return getattr(lab, opts.command)()
        getattr(lab, opts.command)()
        return 0
    except Failed as e:
        print(f"lab: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
