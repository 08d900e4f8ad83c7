"""Measuring the backends once per machine and model, for `auto`: every candidate on a real photo crop (its
output compared with fp32), the close ones repeated; the fastest per input pixel within the faithfulness gate
(≥ 45 dB PSNR from fp32) is chosen. The measurements, with the CPU's flags, the GPU `auto` may use (a real Vulkan
device, never a software one) and the library versions they were made with, are saved in
weights/backend_choice.json; a change of any measures again. A GPU is measured like the CPU backends and goes
through the same gate against the CPU's fp32 output: one whose output is wrong is refused, with the dB it missed
by. A backend emulated on this CPU (bf16 without native bf16) is never timed. Only the
candidates that can still win are repeated, and a slow model's are repeated at the probe's size within a time
budget, so measuring one network takes seconds, not minutes, on a slow CPU too.
"""
from __future__ import annotations

import json
import os
import statistics
import threading
import time
from pathlib import Path

import numpy as np

from core import settings
from core.io.pixels import to_float
from core.runtime import backends, machine
from core.runtime.backends import RunnableNetwork
from core.runtime.progress import steps

MIN_PSNR_DB = 45.0
PROBE_SIZE = 64                 # every candidate, once after a warm-up
CALIBRATION_SIZES = (128, 256)  # the contenders; 256 only where 128 is quick (then 128² is mostly overhead)
QUICK_S = 0.25                  # a 128² median under this is also timed at 256²
CONTENDER = 1.3                 # a probe within this factor of the fastest probe is measured properly
SLOW_S = 1.0                    # a model whose fastest 128² run is predicted slower: its contenders stay at 64²
BUDGET_S = 13.0                 # a slow model's repeats stop here (the warm-ups and probes come first)
CONTENDED_SHARE = 0.2           # threads waiting for a core over this share of their time: a busy machine

_records: dict[tuple[Path, str], dict] = {}  # this process's copy of the saved measurements
_file_lock = threading.Lock()
_spec_locks: dict[str, threading.Lock] = {}


def choice_file() -> Path:
    return settings.current().weights_dir / "backend_choice.json"


def _saved() -> dict:
    try:
        saved = json.loads(choice_file().read_text()) if choice_file().is_file() else {}
    except (OSError, json.JSONDecodeError):
        saved = {}
    return saved if saved.get("machine") == machine.machine() else {"machine": machine.machine(), "models": {}}


def _still_valid(spec: RunnableNetwork, record: dict | None) -> bool:
    return bool(record) and record.get("sha256") == spec.sha256 and set(record["measured"]) == set(
        backends.candidates(spec))


def saved_pace(spec: RunnableNetwork) -> tuple[float, bool] | None:
    """(seconds per input megapixel on the backend `auto` chose, whether it was measured on a busy machine) from
    this machine's saved measurement of `spec`, or None. Not checked against the backends present, as `measured`
    is (asking whether torch sees a GPU loads torch, 1.5 s): for an estimate a page shows before any job runs."""
    record = _records.get((choice_file(), spec.name)) or _saved()["models"].get(spec.name)
    if not record or record.get("sha256") != spec.sha256:
        return None
    chosen = record.get("measured", {}).get(record.get("backend"), {})
    return (chosen["seconds_per_mpx"], bool(record.get("contended"))) if "seconds_per_mpx" in chosen else None


def measured(spec: RunnableNetwork) -> dict | None:
    """This machine's measurements for `spec` (None before the first calibration here)."""
    key = (choice_file(), spec.name)
    if key in _records:
        return _records[key]
    record = _saved()["models"].get(spec.name)
    if _still_valid(spec, record):
        _records[key] = record
        return record
    return None


def record_for(spec: RunnableNetwork, on_step=None, again: bool = False) -> dict:
    """The measurements for `spec`, measuring now if this machine has none (`on_step(fraction)` may raise to
    cancel), or `again` (`python -m core prepare` for one made on a busy machine). Two jobs of the same model
    measure once; other models are not held up."""
    if not again and (record := measured(spec)) is not None:
        return record
    with _file_lock:
        lock = _spec_locks.setdefault(spec.name, threading.Lock())
    with lock:
        if not again and (record := measured(spec)) is not None:
            return record
        record = calibrate(spec, on_step=on_step)
        with _file_lock:  # read again: another model may have been saved meanwhile
            saved = _saved()
            saved["models"][spec.name] = record
            path = choice_file()
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}.{threading.get_ident()}")
            tmp.write_text(json.dumps(saved, indent=1))
            os.replace(tmp, path)
            _records[(path, spec.name)] = record
        return record


def calibration_image(size: int = 64) -> np.ndarray:
    import cv2
    from skimage import data

    face = data.astronaut()[30:222, 130:322]  # a face: skin, eyes, hair
    return np.ascontiguousarray(to_float(cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA))
                                .transpose(2, 0, 1))


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import peak_signal_noise_ratio

    return 99.0 if np.array_equal(a, b) else min(99.0, float(peak_signal_noise_ratio(b, a, data_range=1.0)))


def is_contender(measurement: dict) -> bool:
    """Whether a backend was measured beyond its probe (records saved before the flag: timed at 128²)."""
    return measurement.get("contender", str(CALIBRATION_SIZES[0]) in measurement["seconds"])


def calibrate(spec: RunnableNetwork, on_step=None) -> dict:
    """Every candidate runs twice at 64² (a warm-up, then a timed probe; its output is the one compared with
    fp32). The contenders, within CONTENDER× of the fastest probe, are timed three times at 128², and at 256² too
    when 128² is quick (a fast model's 128² time is mostly per-call overhead). For a slow model (its fastest
    128² run predicted over SLOW_S: per-call overhead is small at 64² already) each contender is timed once more
    at 64², while the measurement is within BUDGET_S. The others keep their probe. `on_step(fraction)` after
    every run; it may raise to cancel."""
    start, scheduled = time.perf_counter(), machine.scheduler_times()
    names = backends.candidates(spec)
    # fp32 on the CPU: torch where the network has it, else ncnn (a GPU's output is compared with it, never its own)
    reference_name = next((n for n in ("torch", "ncnn") if n in names), names[-1])
    probe_img, x = calibration_image(PROBE_SIZE), calibration_image(CALIBRATION_SIZES[0])
    planned = 2 * len(names) + 3 * len(names)
    done = [0]

    def timed(runner, img) -> float:
        fraction = min(0.99, done[0] / planned)
        # a cancel is seen between two layers of a torch pass (its step hooks), not only between runs
        with steps(runner.steps, 1, (lambda _: on_step(fraction)) if on_step else None):
            t = time.perf_counter()
            runner(img)
            took = time.perf_counter() - t
        done[0] += 1
        if on_step:
            on_step(min(0.99, done[0] / planned))
        return took

    runners, outputs, probe, failed = {}, {}, {}, {}
    for name in names:
        try:
            runners[name] = backends.built(spec, name)
            with steps(runners[name].steps, 1, (lambda _: on_step(done[0] / planned)) if on_step else None):
                outputs[name] = np.clip(runners[name](probe_img), 0, 1)
            done[0] += 1
            probe[name] = timed(runners[name], probe_img)
        except backends.DeviceFailed as exc:  # a GPU that will not run: left out, and said
            failed[name] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    names = [n for n in names if n not in failed]
    fastest = min(probe.values())
    slow = fastest * (CALIBRATION_SIZES[0] / PROBE_SIZE) ** 2 > SLOW_S
    report = {}
    for name in sorted(names, key=probe.get):  # the likeliest winners first, while the budget lasts
        timings = {PROBE_SIZE: probe[name]}
        contender = probe[name] <= CONTENDER * fastest
        if contender and slow:
            if time.perf_counter() - start + probe[name] <= BUDGET_S:
                timings[PROBE_SIZE] = statistics.median([probe[name], timed(runners[name], probe_img)])
        elif contender:
            timings = {CALIBRATION_SIZES[0]: statistics.median(timed(runners[name], x) for _ in range(3))}
            if timings[CALIBRATION_SIZES[0]] < QUICK_S:
                big = calibration_image(CALIBRATION_SIZES[1])
                timings[CALIBRATION_SIZES[1]] = statistics.median(timed(runners[name], big) for _ in range(3))
        largest = max(timings)
        report[name] = {"seconds": {str(k): round(v, 4) for k, v in timings.items()},
                        "probe_s": round(probe[name], 4),  # the 64² run that decided `contender`
                        "seconds_per_mpx": round(timings[largest] / (largest * largest / 1e6), 3),
                        "contender": contender,
                        "psnr_vs_fp32_db": round(_psnr(outputs[name], outputs[reference_name]), 1)}  # 99: no ∞ in JSON
    report = {name: report[name] for name in names}
    for name, error in failed.items():  # kept in the record (else it would measure again), never chosen
        report[name] = {"seconds": {}, "probe_s": 0.0, "seconds_per_mpx": 0.0, "contender": False,
                        "psnr_vs_fp32_db": 0.0, "failed": error}
    usable = [n for n in names if report[n]["psnr_vs_fp32_db"] >= MIN_PSNR_DB]
    # contenders against each other: a probe that lost the probe round (one noisy run) does not win on it
    contenders = [n for n in usable if is_contender(report[n])] or usable
    chosen = min(contenders, key=lambda n: report[n]["seconds_per_mpx"])
    skipped = [b.name for b in backends.BACKENDS if b.runs(spec) and b.emulated_here()]
    why = (f"{backends.LABELS[chosen]}: fastest of {', '.join(contenders)} at "
           f"{report[chosen]['seconds_per_mpx']:.3g} s per input megapixel")
    if skipped:
        why += f" ({', '.join(skipped)} not timed: emulated on this CPU, no native bf16)"
    for name, error in failed.items():
        why += f"; {backends.label(name)} failed: {error}"
    for name in names:  # a GPU whose output is wrong (a driver bug, fp16 overflow) is refused, with the distance
        if (missed := MIN_PSNR_DB - report[name]["psnr_vs_fp32_db"]) > 0:
            why += (f"; {backends.label(name)} refused: its probe output is {report[name]['psnr_vs_fp32_db']:g} dB "
                    f"from {reference_name}'s, {missed:.1f} dB under the {MIN_PSNR_DB:g} dB gate")
    record = {"backend": chosen, "sha256": spec.sha256, "measured": report, "why": why,
              "took_s": round(time.perf_counter() - start, 1)}
    # too slow then (torch fp32 27x beside one busy process: bench/busy_calibration.py), and said so
    if (busy := contention(scheduled)) > CONTENDED_SHARE:
        record["contended"] = round(busy, 2)
        record["why"] += "; " + busy_note(record)
    if on_step:
        on_step(1.0)
    return record


def busy_note(record: dict) -> str:
    """What a job's statistics add for a record measured on a busy machine ("" for one measured quietly)."""
    if not record.get("contended"):
        return ""
    return (f"measured while this machine was busy (its threads waited for a core {record['contended']:.0%} of the "
            "time), so these times are too slow: python -m core prepare measures again")


def contention(before: tuple[float, float] | None) -> float:
    """The share of its threads' time since `before` (machine.scheduler_times) that this process spent waiting
    for a core: ~0 on an idle machine, ~1/3 with one other busy process on 2 cores; 0 where it cannot be read."""
    after = machine.scheduler_times()
    if before is None or after is None:
        return 0.0
    ran, waited = max(0.0, after[0] - before[0]), max(0.0, after[1] - before[1])
    return waited / (ran + waited) if ran + waited > 0 else 0.0
