"""Weights that no package registry ships, fetched only when the user asks (`python -m core fetch face`, or the
Enhance page's button): pinned URL, size and sha256; a resumable download into a temporary file, verified,
then renamed into the weights folder in one step. Two sessions asking at once download once (a file lock).

urllib (standard library) does the transfer: it honours the usual proxy variables (https_proxy, no_proxy).
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from core.weights.resolve import weights_dir

CHUNK = 1 << 20
CONNECT_TIMEOUT_S = 10.0

# (bytes done, bytes total or None, bytes per second) after every chunk
OnBytes = Callable[[int, int | None, float], None]


@dataclass(frozen=True)
class WeightFile:
    name: str
    url: str
    sha256: str
    size: int | None      # bytes, where published; None: checked by sha256 only
    licence: str
    about: str


# URLs as in the upstream code (GFPGAN's inference_gfpgan.py; facexlib's model loaders); sizes and sha256 as
# listed, identically, by several public model managers and verification scripts (GFPGAN and facexlib publish
# none themselves). See the README's "Face restoration".
MANIFEST: dict[str, tuple[WeightFile, ...]] = {
    "face": (
        WeightFile("GFPGANv1.4.pth", "https://github.com/TencentARC/GFPGAN/releases/download/v1.3.0/GFPGANv1.4.pth",
                   "e2cd4703ab14f4d01fd1383a8a8b266f9a5833dacee8e6a79d3bf21a1b6be5ad", 348_632_874,
                   "Apache-2.0 (GFPGAN)", "GFPGAN v1.4 face restorer"),
        WeightFile("detection_Resnet50_Final.pth",
                   "https://github.com/xinntao/facexlib/releases/download/v0.1.0/detection_Resnet50_Final.pth",
                   "6d1de9c2944f2ccddca5f5e010ea5ae64a39845a86311af6fdf30841b0a5a16d", 109_497_761,
                   "MIT (facexlib; RetinaFace)", "RetinaFace face detector"),
        WeightFile("parsing_parsenet.pth",
                   "https://github.com/xinntao/facexlib/releases/download/v0.2.2/parsing_parsenet.pth",
                   "3d558d8d0e42c20224f13cf5a29c79eba2d59913419f945545d8cf7b72920de2", 85_331_193,
                   "facexlib code MIT; the weights' own licence is not stated upstream",
                   "face parser (which pixels are face)"),
    ),
}


class FetchError(RuntimeError):
    """One line for the user: what failed and what to do."""


def total_bytes(group: str) -> int:
    return sum(f.size or 0 for f in MANIFEST[group])


def missing(group: str, folder: Path | None = None) -> list[WeightFile]:
    folder = folder or weights_dir()
    return [f for f in MANIFEST[group] if not (folder / f.name).is_file()]


def fetch(group: str, *, folder: Path | None = None, on_bytes: OnBytes | None = None,
          timeout: float = CONNECT_TIMEOUT_S, manifest: dict[str, tuple[WeightFile, ...]] = MANIFEST) -> list[Path]:
    """Download every file of `group` that is not there yet; returns the paths. Raises FetchError."""
    if group not in manifest:
        raise FetchError(f"nothing called {group!r} to fetch; known: {', '.join(manifest)}")
    folder = folder or weights_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return [fetch_file(entry, folder, on_bytes=on_bytes, timeout=timeout) for entry in manifest[group]]


def fetch_file(entry: WeightFile, folder: Path, *, on_bytes: OnBytes | None = None,
               timeout: float = CONNECT_TIMEOUT_S) -> Path:
    final = folder / entry.name
    with open(folder / f".{entry.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second session waits here, then finds the file done
        if final.is_file():
            return final
        part = folder / f".{entry.name}.part"
        _download(entry, part, on_bytes, timeout)
        _verify(entry, part)
        os.replace(part, final)  # atomic: a reader sees no file or the whole verified file
    return final


def _download(entry: WeightFile, part: Path, on_bytes: OnBytes | None, timeout: float) -> None:
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(entry.url, headers={"User-Agent": "SR-Lab"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        # an opener of its own, built now: urlopen's shared one keeps the proxy variables of the process's first
        # request, so a proxy set (or unset) later would be ignored until the server restarts
        response = urllib.request.build_opener().open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and entry.size and have >= entry.size:  # the part is already complete
            return
        raise FetchError(f"{entry.name}: the server answered {exc.code} {exc.reason} for {entry.url}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"{entry.name}: cannot reach {urllib.request.urlparse(entry.url).netloc} ({reason}); "
                         "check the network or proxy (https_proxy) and run the fetch again: it resumes") from None
    with response:
        resumed = response.status == 206
        length = response.headers.get("Content-Length")
        total = (have if resumed else 0) + int(length) if length else entry.size
        done = have if resumed else 0
        start, start_done = time.monotonic(), done
        with open(part, "ab" if resumed else "wb") as out:
            while True:
                try:
                    chunk = response.read(CHUNK)
                except OSError as exc:
                    raise FetchError(f"{entry.name}: the transfer stopped after {done:,} bytes ({exc}); run the "
                                     "fetch again: it resumes") from None
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                if on_bytes:
                    on_bytes(done, total, (done - start_done) / max(time.monotonic() - start, 1e-6))
    if total and done < total:
        raise FetchError(f"{entry.name}: the transfer stopped after {done:,} of {total:,} bytes; run the fetch "
                         "again: it resumes")


def _verify(entry: WeightFile, part: Path) -> None:
    size = part.stat().st_size
    digest = hashlib.sha256()
    with open(part, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    if (entry.size is not None and size != entry.size) or digest.hexdigest() != entry.sha256:
        part.unlink()
        raise FetchError(f"{entry.name}: the download does not match its pinned size and sha256 ({size:,} bytes, "
                         f"sha256 {digest.hexdigest()[:12]}…, expected {entry.sha256[:12]}…); it was deleted")
