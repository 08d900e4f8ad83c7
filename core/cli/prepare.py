"""`python -m core prepare [--all]`: before class, convert (or verify) every network's weights and measure the
backends of the default networks (`--all`: of every network), a line per model, so the first use in the app
neither converts nor measures."""
from __future__ import annotations

import sys
import time

# The networks the pages start with (Enhance, Baselines, Metrics, Batch): measured by `make run`.
DEFAULT_NETWORKS = ("RealESRGAN_x4plus", "realesr-animevideov3", "SPAN_x4")


def add(sub) -> None:
    p = sub.add_parser("prepare", help="convert or verify the networks' weights and measure the backends of the "
                                       "default networks (make run does this)")
    p.add_argument("--all", action="store_true", help="measure every network, not only the default ones")
    p.add_argument("--no-measure", action="store_true", help="weights only (make test does this)")
    p.set_defaults(func=run)


def run(args) -> int:
    from core.methods import networks
    from core.runtime import calibrate, machine
    from core.weights.resolve import WeightsUnavailable

    failed = 0
    for m in networks():
        try:
            info = m.weights_info()
            print(f"{m.name}: {info.origin} ({info.path})")
        except WeightsUnavailable as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr)
    if args.no_measure:
        return 1 if failed else 0
    to_measure = [m for m in networks() if args.all or m.name in DEFAULT_NETWORKS]
    print(f"measuring the backends of {len(to_measure)} network(s) on {machine.describe()}", flush=True)
    if not machine.native_bf16():
        print("  torch-bf16 is not timed: this CPU has no native bfloat16 (it would be emulated)", flush=True)
    gpu = machine.gpu()
    print(f"  vulkan is measured on {gpu.describe()}" if gpu else f"  vulkan is not measured: {machine.vulkan_note()}",
          flush=True)
    start = time.perf_counter()
    for m in to_measure:
        t = time.perf_counter()
        saved = calibrate.measured(m)
        again = bool(saved and saved.get("contended"))  # made on a busy machine: its times are too slow
        record = calibrate.record_for(m, again=again) if m.measured_auto else {}
        plan = m.plan(256, 256)
        note = " (measured again: the saved measurement was made while the machine was busy)" if again else ""
        if record.get("contended"):
            note += (f" — this machine is busy now (its threads waited for a core {record['contended']:.0%} of "
                     "the time): the times are too slow; run this again when it is idle")
        print(f"  {m.name}: {plan.label} ({time.perf_counter() - t:.1f} s){note}", flush=True)
    print(f"measured in {time.perf_counter() - start:.1f} s; saved for this machine", flush=True)
    return 1 if failed else 0
