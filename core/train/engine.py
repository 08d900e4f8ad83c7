"""One training loop for every preset: check everything → split the data → build the network (its own copy) →
validation pairs and baselines → (cache a frozen trunk's features) → steps until the time or step budget is
spent → a model and its card.

The engine reports only through `on_event(TrainEvent)`: every step, and with validation scores and a preview
image every `validate_every` steps. `on_event` may raise (the job service raises Cancelled there): the run
stops at once, after writing its checkpoint when it has a folder; `resume=True` continues that same run.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from core import settings
from core.io.imageio import LoadedImage
from core.io.output import whole_file
from core.io.pixels import to_uint8
from core.methods.classical import pillow_bicubic
from core.pipeline.engine import Cancelled
from core.quality import metrics
from core.runtime.machine import describe, threads
from core.train import data, models
from core.train.checks import check, native_scale
from core.train.config import SCRATCH, TrainConfig, TrainError, losses_text
from core.train.losses import Losses
from core.train.save import TrainResult, read_checkpoint, trained_state, write_checkpoint

BOUNDS = ("seconds", "max_steps", "validate_every", "checkpoint_every")  # may change when a run resumes
_RATE_WINDOW = 20  # steps over which steps/s is measured
WARMUP_STEPS = 10  # steps timed before a run without max_steps fixes its step count from this machine's pace
OVERRUN = 3.0      # a run with a fixed step count stops anyway at this many times its length (a busy machine)
FIXED = ("measured", "recorded")  # how a step count was fixed (else "given": max_steps, or none: on time)


def steps_file() -> Path:
    """Each run's step count as this machine first fixed it, by everything but the seed: the same preset, length
    and seed then make the same model here (a run that stopped on time would make a different one each time)."""
    return settings.current().weights_dir / "training_steps.json"


def _steps_key(config: TrainConfig) -> str:
    run = {k: v for k, v in config.to_dict().items() if k not in ("seed", "preset", "max_steps", "checkpoint_every")}
    return json.dumps({"run": run, "cpu": describe(), "threads": threads()}, sort_keys=True)


def recorded_steps(config: TrainConfig) -> int | None:
    try:
        return json.loads(steps_file().read_text()).get(_steps_key(config))
    except (OSError, ValueError):
        return None


def _record_steps(config: TrainConfig, steps: int) -> None:
    path = steps_file()
    try:
        saved = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        saved = {}
    saved[_steps_key(config)] = steps
    with whole_file(path, per_process=True) as part:
        part.write_text(json.dumps(saved, indent=1))


def length_line(config: TrainConfig, saved_run: dict | None = None) -> str:
    """Said before a run: how long it is, honestly. A fixed step count (the same seed then makes the same model)
    was fitted to the preset's length on the run that fixed it; on a busy machine the same steps take longer.
    `saved_run`: a resumed run's record (core.train.save.read_run), whose count it keeps."""
    length = f"{min(config.seconds, settings.current().train_max_seconds):g} s"
    if config.max_steps:
        return f"at most {config.max_steps} steps (--steps), stopping at {length} if they take longer"
    steps = (saved_run or {}).get("max_steps") or recorded_steps(config)
    if steps:
        return (f"{steps} steps (fixed on this machine: about {length} on a quiet machine; longer while the machine "
                "is busy)")
    return (f"about {length}: the step count is fixed from this machine's pace after {WARMUP_STEPS} steps and "
            "recorded, so later runs of these settings make the same steps (longer while the machine is busy)")


@dataclass(frozen=True, kw_only=True)
class ValidationScores:
    psnr: float   # dB, RGB, mean over the validation crops
    ssim: float
    lpips: float  # AlexNet, v0.1

    def as_dict(self) -> dict:
        return {k: round(v, 4) for k, v in dataclasses.asdict(self).items()}


@dataclass(frozen=True, kw_only=True)
class RunInfo:
    """What the run is, sent once when setup is done."""
    model: str
    architecture: str
    trains: str
    trainable_params: int
    total_params: int
    scale: int
    data: dict                 # train / validation image names, how the validation was held out
    degradation: list[str]
    losses: str
    seconds: float             # the time budget after the settings' cap
    notes: list[str]
    low_res: np.ndarray        # the first validation crop: input, bicubic and reference (uint8 H×W×3)
    bicubic: np.ndarray
    reference: np.ndarray


@dataclass(frozen=True, kw_only=True)
class TrainEvent:
    phase: str                         # "setup", "ready" (info + baselines), "step", "done"
    step: int
    max_steps: int | None
    elapsed_s: float
    time_left_s: float
    message: str                       # one line, for a log or a status bar
    loss: float | None = None          # this step's total training loss
    losses: dict[str, float] = field(default_factory=dict)  # its weighted terms (and "discriminator")
    steps_per_s: float | None = None
    validation: ValidationScores | None = None  # every `validate_every` steps, at "ready" (the start) and at "done"
    baselines: dict[str, ValidationScores] | None = None  # "bicubic" and "start" (the model untrained): flat lines
    preview: np.ndarray | None = None  # the model's output on the first validation crop, uint8 H×W×3
    info: RunInfo | None = None        # at "ready"
    past: dict | None = None           # at "ready" of a resumed run: its "history" and step "losses" so far


OnEvent = Callable[[TrainEvent], None]


def train(images: Sequence[LoadedImage | np.ndarray] | None, config: TrainConfig, on_event: OnEvent | None = None,
          *, checkpoint_dir: str | Path | None = None, resume: bool = False) -> TrainResult:
    """Train or fine-tune on `images` (clean pictures; pairs are made from them). Raises TrainError for a request
    that cannot run, and whatever `on_event` raises."""
    return _Run(images, config, on_event, Path(checkpoint_dir) if checkpoint_dir else None, resume).run()


class _Run:
    def __init__(self, images, config: TrainConfig, on_event: OnEvent | None, folder: Path | None, resume: bool):
        self.t0 = time.perf_counter()
        self.config, self.on_event, self.folder = config, on_event or (lambda event: None), folder
        self.split = check(images, config)
        self.scale = native_scale(config)
        self.degradation = dataclasses.replace(config.degradation, scale=self.scale)
        self.fingerprint = data.fingerprint([*self.split.train, *self.split.validation])
        self.saved = None
        if resume:
            if folder is None:
                raise TrainError("resume needs the checkpoint folder")
            self.saved = read_checkpoint(folder)
            _same_run(self.saved[1], config, self.fingerprint, folder)
        cap = settings.current().train_max_seconds
        self.budget = min(config.seconds, cap)
        self.notes = [f"time budget capped at {cap:g} s (SRLAB_TRAIN_MAX_SECONDS)"] if config.seconds > cap else []
        self.step, self.elapsed_before, self.started, self.validation_s = 0, 0.0, False, 0.0
        self.history: list[dict] = []
        self.step_losses: list[float] = []
        self.rng = np.random.default_rng([config.seed, 3])
        self.max_steps, self.steps_from = config.max_steps, "given" if config.max_steps else None
        if self.saved and self.saved[1].get("max_steps") and self.steps_from is None:
            self.max_steps, self.steps_from = self.saved[1]["max_steps"], self.saved[1]["steps_from"]
        elif self.max_steps is None and (recorded := recorded_steps(config)):
            self.max_steps, self.steps_from = recorded, "recorded"

    # ---------------------------------------------------------------- reporting
    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.t0

    def emit(self, phase: str, message: str, **fields) -> None:
        left = max(0.0, self.budget - self.elapsed())
        rate = fields.get("steps_per_s")
        if self.max_steps and rate:  # a fixed step count: its own pace says when it ends, not the length
            by_steps = (self.max_steps - self.step) * (1 / rate + self.validation_s / self.config.validate_every)
            left = by_steps if self.steps_from in FIXED else min(left, by_steps)
        self.on_event(TrainEvent(phase=phase, step=self.step, max_steps=self.max_steps,
                                 elapsed_s=self.elapsed(), time_left_s=left, message=message, **fields))

    # ---------------------------------------------------------------- the run
    def run(self) -> TrainResult:
        torch.set_num_threads(threads())
        try:
            return self._run()
        except (Cancelled, KeyboardInterrupt):
            if self.started and self.folder:
                self._checkpoint()
            raise

    def _run(self) -> TrainResult:
        c = self.config
        self.emit("setup", f"loading {c.base}" if c.base != SCRATCH else "building the compact CNN")
        self.model = models.build(c)
        self.loss = Losses(c.losses, c.seed, c.learning_rate)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=c.learning_rate, betas=(0.9, 0.99))
        self._check_memory()
        self._validation_setup()
        self.pool = self._cache_pool() if self.model.frozen_prefix and c.cache_trunk else None
        self.maker = data.PairMaker(self.split.train, self.degradation, c.patch, self.rng)
        past = None
        if self.saved:
            self._restore()
            tv = time.perf_counter()  # where it stands now, measured: the first point after the resume is real
            now, _ = self._validate()
            self.validation_s = time.perf_counter() - tv
            if not self.history or self.history[-1]["step"] != self.step:
                self.history.append({"step": self.step, "elapsed_s": round(self.elapsed(), 2), **now.as_dict()})
            past = {"history": list(self.history), "losses": list(self.step_losses)}
        else:
            tv = time.perf_counter()
            start, _ = self._validate()
            self.validation_s = time.perf_counter() - tv
            self.baselines = {"bicubic": self.bicubic, "start": start}
            self.history.append({"step": 0, "elapsed_s": round(self.elapsed(), 2), **start.as_dict()})
        self.setup_s = self.elapsed() - self.elapsed_before
        self.started = True
        self.emit("ready", f"{self.model.name}: {self.model.trainable_params:,} of {self.model.total_params:,} "
                           "parameters train", validation=None if past else self.baselines["start"],
                  baselines=self.baselines, preview=self._preview(), info=self._info(), past=past)
        stopped = self._loop()
        scores, preview = self._validate()
        if not self.history or self.history[-1]["step"] != self.step:
            self.history.append({"step": self.step, "elapsed_s": round(self.elapsed(), 2), **scores.as_dict()})
        if self.folder:
            self._checkpoint()
        card = self._card(scores, stopped)
        self.emit("done", f"done after {self.step} steps ({stopped}): PSNR {scores.psnr:.2f} dB, LPIPS "
                          f"{scores.lpips:.3f}", validation=scores, baselines=self.baselines, preview=preview)
        self.model.module.eval()
        return TrainResult(model=self.model, card=card, history=self.history, losses=self.step_losses)

    def _loop(self) -> str:
        c, times = self.config, collections.deque(maxlen=_RATE_WINDOW)
        reserve = self.validation_s  # time kept for the last validation
        while True:
            if self.max_steps is not None and self.step >= self.max_steps:
                return "max steps" if self.steps_from == "given" else "its fixed step count"
            if self.steps_from in FIXED:
                if self.elapsed() >= min(OVERRUN * c.seconds, settings.current().train_max_seconds):
                    return (f"time limit ({OVERRUN:g}× its length or SRLAB_TRAIN_MAX_SECONDS) before its fixed "
                            "step count: this machine was slower than when the count was fixed")
            elif self.elapsed() + reserve >= self.budget:
                if self.steps_from is None and self.step:  # ended before its count was fixed: what it made is
                    self.max_steps, self.steps_from = self.step, "measured"  # the count every later run makes
                    _record_steps(self.config, self.step)
                return "time budget"
            t = time.perf_counter()
            loss, parts = self._train_step()
            self.step += 1
            self.step_losses.append(loss)
            times.append(time.perf_counter() - t)
            rate = len(times) / sum(times)
            if self.max_steps is None and len(times) == WARMUP_STEPS:  # this process's own steps: a resumed run
                self._fix_steps(list(times)[1:], reserve)              # times its own (its first pays warm-up too)
            extra = {}
            if self.step % c.validate_every == 0:
                tv = time.perf_counter()
                scores, preview = self._validate()
                reserve = time.perf_counter() - tv
                self.history.append({"step": self.step, "elapsed_s": round(self.elapsed(), 2), **scores.as_dict()})
                extra = dict(validation=scores, baselines=self.baselines, preview=preview)
            of = f" of {self.max_steps}" if self.max_steps else ""
            self.emit("step", f"step {self.step}{of}: loss {loss:.4f}, {rate:.2f} steps/s", loss=loss, losses=parts,
                      steps_per_s=rate, **extra)
            if self.folder and self.step % c.checkpoint_every == 0:
                self._checkpoint()

    def _fix_steps(self, times: list[float], reserve: float) -> None:
        """The step count that fits the rest of the length at this pace (steps and their validations), fixed
        now and recorded for every later run of the same settings here."""
        per_step = sum(times) / len(times) + reserve / self.config.validate_every
        left = self.budget - self.elapsed() - reserve
        self.max_steps, self.steps_from = self.step + max(1, int(left / per_step)), "measured"
        _record_steps(self.config, self.max_steps)

    def _train_step(self) -> tuple[float, dict[str, float]]:
        if self.pool is not None:
            idx = self.rng.choice(len(self.pool[0]), self.config.batch, replace=False)
            features, hr = tuple(f[idx] for f in self.pool[1:]), self.pool[0][idx]
        else:
            pairs = self.maker.batch(self.config.batch)
            features, hr = self.model.prefix(torch.from_numpy(pairs.lr)), torch.from_numpy(pairs.hr)
        sr = self.model.head(*features)
        loss, parts = self.loss.generator(sr, hr)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        d_loss = self.loss.discriminator_step(sr, hr)
        if d_loss is not None:
            parts["discriminator"] = d_loss
        return float(loss.detach()), parts

    # ---------------------------------------------------------------- setup
    def _check_memory(self) -> None:
        """Refuses a run whose estimate is over SRLAB_TRAIN_MAX_MB: autograd's saved tensors for one sample,
        measured on a probe, × batch × 2 (their gradients), + weights, gradients and Adam's two moments, + the
        cached features."""
        c, cap = self.config, settings.current().train_max_mb
        params = {p.data_ptr() for p in self.model.module.parameters()}
        saved = 0

        def pack(t):
            nonlocal saved
            if t.data_ptr() not in params:
                saved += t.numel() * t.element_size()
            return t

        lr = torch.zeros(1, 3, c.patch, c.patch)
        hr = torch.zeros(1, 3, c.patch * self.scale, c.patch * self.scale)
        features = self.model.prefix(lr)
        with _eval(self.loss.disc), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            self.loss.generator(self.model.head(*features), hr)
        per_patch = sum(f.numel() for f in features) + hr.numel()
        cached = 4 * c.cache_patches * per_patch if self.model.frozen_prefix and c.cache_trunk else 0
        weights = 4 * (self.model.total_params + 3 * self.model.trainable_params)
        need = (2 * saved * c.batch + weights + cached) / 2 ** 20
        if need > cap:
            raise TrainError(f"this run needs about {need:,.0f} MB (batch {c.batch} of {c.patch}² crops, "
                             f"{self.model.name}), over SRLAB_TRAIN_MAX_MB={cap}: use a smaller batch or patch")
        self.memory_mb = need

    def _validation_setup(self) -> None:
        pairs = data.validation_pairs(self.split.validation, self.degradation, self.config.val_side)
        self.val_hr = [hr.transpose(1, 2, 0) for _, hr in pairs]
        self.val_lr = [lr.transpose(1, 2, 0) for lr, _ in pairs]
        self.val_features = []
        for i, (lr, _) in enumerate(pairs):
            self.emit("setup", f"validation crop {i + 1} of {len(pairs)}")
            self.val_features.append(self.model.prefix(torch.from_numpy(lr)[None]))
        bicubic = [np.clip(pillow_bicubic(lr, (hr.shape[1], hr.shape[0])), 0, 1)
                   for lr, hr in zip(self.val_lr, self.val_hr)]
        self.bicubic_preview = bicubic[0]
        self.bicubic = _scores(bicubic, self.val_hr)

    def _cache_pool(self) -> tuple:
        """Fixed training patches and the frozen trunk's features for them, computed once, in chunks short
        enough for a cancel to land within a second or two."""
        c = self.config
        maker = data.PairMaker(self.split.train, self.degradation, c.patch, np.random.default_rng([c.seed, 2]))
        pairs = maker.batch(c.cache_patches)
        chunk, parts = 2, []
        for i in range(0, c.cache_patches, chunk):
            self.emit("setup", f"computing the frozen trunk's features: patch {i + 1}–"
                               f"{min(i + chunk, c.cache_patches)} of {c.cache_patches}")
            parts.append(self.model.prefix(torch.from_numpy(pairs.lr[i:i + chunk])))
        features = tuple(torch.cat(f) for f in zip(*parts))
        return (torch.from_numpy(pairs.hr), *features)

    # ---------------------------------------------------------------- validation
    def _validate(self) -> tuple[ValidationScores, np.ndarray]:
        with torch.no_grad():
            outs = [self.model.head(*f)[0].clamp(0, 1).numpy().transpose(1, 2, 0) for f in self.val_features]
        return _scores(outs, self.val_hr), _u8(outs[0])

    def _preview(self) -> np.ndarray:
        with torch.no_grad():
            return _u8(self.model.head(*self.val_features[0])[0].clamp(0, 1).numpy().transpose(1, 2, 0))

    def _info(self) -> RunInfo:
        m = self.model
        return RunInfo(model=m.name, architecture=m.architecture, trains=m.trains, trainable_params=m.trainable_params,
                       total_params=m.total_params, scale=self.scale, data=self.split.describe(),
                       degradation=self.degradation.steps(), losses=losses_text(self.config.losses),
                       seconds=self.budget, notes=self.notes, low_res=_u8(self.val_lr[0]),
                       bicubic=_u8(self.bicubic_preview), reference=_u8(self.val_hr[0]))

    # ---------------------------------------------------------------- checkpoints and the card
    def _checkpoint(self) -> None:
        state = {"model": trained_state(self.model), "optimizer": self.optimizer.state_dict(),
                 "losses": self.loss.state_dict(), "step": self.step}
        run = {"config": self.config.to_dict(), "fingerprint": self.fingerprint, "step": self.step,
               "elapsed_s": self.elapsed(), "rng": self.rng.bit_generator.state, "history": self.history,
               "step_losses": self.step_losses, "max_steps": self.max_steps, "steps_from": self.steps_from,
               "baselines": {k: dataclasses.asdict(v) for k, v in self.baselines.items()}}
        write_checkpoint(self.folder, state, json.loads(json.dumps(run)))

    def _restore(self) -> None:
        state, run = self.saved
        missing = self.model.module.load_state_dict(state["model"], strict=False).missing_keys
        trained = {k for k, p in self.model.module.named_parameters() if p.requires_grad}
        if trained & set(missing):
            raise TrainError(f"{self.folder}: the checkpoint does not hold this network's trained weights")
        self.optimizer.load_state_dict(state["optimizer"])
        self.loss.load_state_dict(state["losses"])
        self.step, self.elapsed_before = state["step"], run["elapsed_s"]
        self.t0 = time.perf_counter()
        self.rng.bit_generator.state = run["rng"]
        self.history, self.step_losses = run["history"], run["step_losses"]
        self.baselines = {k: ValidationScores(**v) for k, v in run["baselines"].items()}
        self.resumed_from = self.step

    def _card(self, scores: ValidationScores, stopped: str) -> dict:
        c, m = self.config, self.model
        return {
            "name": m.name, "base": m.base, "architecture": m.architecture, "trains": m.trains,
            "trainable_params": m.trainable_params, "total_params": m.total_params, "scale": self.scale,
            "preset": c.preset or None, "data": self.split.describe(),
            "degradation": {**dataclasses.asdict(self.degradation), "steps": self.degradation.steps()},
            "losses": dict(c.losses), "steps": self.step, "batch": c.batch, "patch": c.patch,
            "learning_rate": c.learning_rate, "seed": c.seed, "stopped": stopped,
            "step_count": {"fixed": self.max_steps, "how": {
                "given": "given (max_steps)", "measured": "fixed by this run from this machine's pace, recorded",
                "recorded": "as this machine first fixed it for these settings", None: "none: stopped on time"}[
                self.steps_from]},
            "resumed_from_step": getattr(self, "resumed_from", None),
            "frozen_trunk_cached": self.pool is not None,
            "validation": {"model": scores.as_dict(), **{k: v.as_dict() for k, v in self.baselines.items()},
                           "measured_on": f"centre crops (≤ {c.val_side * self.scale} px) of the validation images, "
                                          "PSNR and SSIM on RGB, LPIPS AlexNet"},
            "cpu": describe(), "threads": torch.get_num_threads(),
            "seconds": {"setup": round(self.setup_s, 1), "total": round(self.elapsed(), 1), "budget": self.budget},
            "memory_estimate_mb": round(self.memory_mb), "notes": self.notes,
            "config": c.to_dict(), "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }


def _same_run(run: dict, config: TrainConfig, fingerprint: str, folder: Path) -> None:
    saved, given = run["config"], json.loads(json.dumps(config.to_dict()))
    for key in given:
        if key not in BOUNDS and saved.get(key) != given[key]:
            raise TrainError(f"{folder} is a checkpoint of another run: its {key} is {saved.get(key)!r}, "
                             f"not {given[key]!r}")
    if run["fingerprint"] != fingerprint:
        raise TrainError(f"{folder} was trained on other images: give the same images to resume it")


def _scores(outputs: list[np.ndarray], references: list[np.ndarray]) -> ValidationScores:
    rows = [(metrics.psnr(o, r), float(metrics.ssim(o, r)), metrics.lpips_distance(o, r))
            for o, r in zip(outputs, references)]
    psnr, ssim, lpips = (float(np.mean(col)) for col in zip(*rows))
    return ValidationScores(psnr=psnr, ssim=ssim, lpips=lpips)


def _u8(img: np.ndarray) -> np.ndarray:
    return to_uint8(img)


@contextlib.contextmanager
def _eval(module):
    """No spectral-norm update while the memory probe runs the discriminator."""
    if module is None:
        yield
        return
    module.eval()
    try:
        yield
    finally:
        module.train()
