"""Issue 47: int8 once more, only as a per-layer mix. All-int8 failed the gate (docs/figures.md: ONNX Runtime
static QDQ 32.5 dB, OpenVINO NNCF 24 dB). Is there a mix — the layers that matter kept in fp32, found by measuring
each one's effect — that keeps ≥ 40 dB and LPIPS ≤ 0.01 from the official output, and is it faster?

    python bench/int8_mix.py [--model RealESRGAN_x4plus] [--size 64] [--time-size 128] [--runs 3] [--json OUT]
                             [--smoke]

1. The official fp32 module exported to ONNX once; ONNX Runtime's static QDQ quantization as in
   bench/one_step_further.py (per-channel int8 weights, uint8 activations, percentile calibration on eight crops
   of other photos), calibrated once (its calibration cache) and reused for every mix.
2. Each layer group's effect: the convolutions of one group (the first conv, each RRDB block, the trunk conv,
   each upsampling conv, the last two) in int8, all else fp32; the worst PSNR over three photo crops (astronaut,
   coffee, chelsea) against the fp32 model's output.
3. Mixes: the groups taken from the least to the most sensitive, int8 on the first k (k doubling, then all);
   each mix's worst PSNR and worst LPIPS (AlexNet) on the crops, and the passing ones timed at --time-size
   beside ONNX Runtime fp32 and the lab's torch fp32 and torch-bf16 backends (round-robin medians).
The gate is one_step_further.py's. The mix that passes with the most int8 is the answer; where none passes,
the bench says so and stops there, as the issue asks.

ONNX Runtime picks its int8 kernels from CPUID (VNNI here where the CPU has it); it cannot be held to AVX2, so
these speeds are this CPU's, not an AVX2 laptop's (bench/speed.py --emulate-avx2 leaves it out for that reason).
Needs onnx==1.23.2 onnxruntime==1.31.1 (not in requirements.txt: nothing here is kept unless a mix passes);
without them it reports "not run" and why.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from one_step_further import (  # (it also puts the project root on sys.path, for `core`)
    MAX_LPIPS,
    MIN_PSNR_DB,
    Context,
    calibration_crops,
    core_backend,
    interleaved_seconds,
    load,
    one_line,
    ort_session,
    test_crops,
    to_hwc,
    to_nchw,
)


def conv_groups(onnx_path: Path) -> dict[str, list[str]]:
    """The model's Conv nodes by the module they belong to: `body.N` (an RRDB block, or one conv of a compact
    network), else the top-level module (`conv_first`, `conv_body`, `conv_up1`, …), in graph order."""
    import onnx

    groups: dict[str, list[str]] = {}
    for node in onnx.load(str(onnx_path), load_external_data=False).graph.node:
        if node.op_type != "Conv":
            continue
        parts = [p for p in node.name.split("/") if p]
        key = parts[1] if len(parts) > 2 and parts[0] == "body" else parts[0]
        groups.setdefault(key, []).append(node.name)
    return groups


class Quantizer:
    """int8 QDQ models of one ONNX model with the convolutions named, calibrated once (ORT's calibration cache)."""

    def __init__(self, ctx: Context):
        self.ctx, self.source = ctx, ctx.onnx_path()
        self.cache = ctx.workdir / "calibration.json"
        self.crops = [to_nchw(c) for c in calibration_crops()]
        self.made = 0

    def session(self, convs: list[str]):
        from onnxruntime.quantization import (
            CalibrationDataReader,
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )

        crops = self.crops

        class Reader(CalibrationDataReader):
            def __init__(self):
                self.feeds = iter([{"input": c} for c in crops])

            def get_next(self):
                return next(self.feeds, None)

        self.made += 1
        out = self.ctx.workdir / f"mix{self.made}.onnx"
        with contextlib.redirect_stdout(sys.stderr):
            quantize_static(str(self.source), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.Percentile, nodes_to_quantize=convs,
                            calibration_cache_path=str(self.cache))
        return ort_session(out, self.ctx.threads)


def scores(run, inputs: dict, references: dict, with_lpips: bool) -> dict:
    from core.quality.metrics import lpips_distance, psnr

    outputs = {n: to_hwc(run(x)) for n, x in inputs.items()}
    found = {"worst_psnr_db": round(min(min(psnr(outputs[n], references[n]), 99.0) for n in outputs), 2)}
    if with_lpips:
        found["worst_lpips"] = round(max(lpips_distance(outputs[n], references[n]) for n in outputs), 5)
        found["passes_gate"] = found["worst_psnr_db"] >= MIN_PSNR_DB and found["worst_lpips"] <= MAX_LPIPS
    return found


def mix_sizes(n: int) -> list[int]:
    sizes, k = [], 1
    while k < n:
        sizes.append(k)
        k *= 2
    return [*sizes, n]


def main() -> int:
    import core  # noqa: F401  (torchvision shim before basicsr)
    from core import methods
    from core.runtime.machine import machine

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="RealESRGAN_x4plus")
    ap.add_argument("--size", type=int, default=64, help="crop size for the quality measures (default 64)")
    ap.add_argument("--time-size", type=int, default=128, help="input size of the timed runs (default 128)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json", metavar="OUT")
    ap.add_argument("--smoke", action="store_true",
                    help="realesr-animevideov3 at 32 px, its first three groups and two mixes: checks the bench runs")
    args = ap.parse_args()
    if args.smoke:
        args.model, args.size, args.time_size = "realesr-animevideov3", 32, 32
    report = {"smoke": args.smoke, "command": "python " + " ".join([f"bench/{Path(__file__).name}", *sys.argv[1:]]),
              "machine": machine(), "model": args.model, "size": args.size,
              "gate": {"min_psnr_db": MIN_PSNR_DB, "max_lpips": MAX_LPIPS}, "load_before": load()}
    started = time.time()
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        report.update(status="not run", why=f"{one_line(exc)} (pip install onnx==1.23.2 onnxruntime==1.31.1)")
        return finish(report, args.json)
    import torch

    torch.set_num_threads(args.threads)
    spec = methods.get(args.model)
    with tempfile.TemporaryDirectory(prefix="int8_mix_") as tmp:
        ctx = Context(spec, Path(tmp), args.threads, "percentile")
        fp32 = ort_session(ctx.onnx_path(), args.threads)
        inputs = {n: to_nchw(c) for n, c in test_crops(args.size).items()}
        references = {n: to_hwc(fp32(x)) for n, x in inputs.items()}
        groups = conv_groups(ctx.onnx_path())
        quantizer = Quantizer(ctx)
        every = [c for convs in groups.values() for c in convs]
        report["all_int8"] = scores(quantizer.session(every), inputs, references, with_lpips=True)
        print(json.dumps({"all int8": report["all_int8"]}), file=sys.stderr, flush=True)
        effect = []
        for name, convs in list(groups.items())[:3] if args.smoke else groups.items():
            found = scores(quantizer.session(convs), inputs, references, with_lpips=False)
            effect.append({"group": name, "convs": len(convs), **found})
            print(json.dumps(effect[-1]), file=sys.stderr, flush=True)
        effect.sort(key=lambda e: -e["worst_psnr_db"])  # least sensitive first
        report["groups"] = effect
        mixes, runners = [], {}
        for k in mix_sizes(len(effect))[:2] if args.smoke else mix_sizes(len(effect)):
            chosen = [e["group"] for e in effect[:k]]
            run = quantizer.session([c for g in chosen for c in groups[g]])
            row = {"int8_groups": k, "int8_convs": sum(len(groups[g]) for g in chosen),
                   "of_convs": len(every), **scores(run, inputs, references, with_lpips=True)}
            mixes.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
            if row["passes_gate"]:
                runners[f"int8 mix ({k} groups)"] = run
            elif not args.smoke:
                break  # more int8 only moves further from the gate: the stop
        report["mixes"] = mixes
        passing = [m for m in mixes if m["passes_gate"]]
        report["best_passing"] = passing[-1] if passing else None
        if runners:
            best = list(runners)[-1]
            timed = {"torch fp32": core_backend(spec, "torch"), "torch-bf16": core_backend(spec, "torch-bf16"),
                     "ONNX Runtime fp32": fp32, best: runners[best]}
            x = to_nchw(test_crops(args.time_size)["astronaut"])
            for run in timed.values():
                run(x)  # warm-up
            report["seconds"] = interleaved_seconds(timed, x, args.runs)
            report["time_size"] = args.time_size
    report["status"] = "ran"
    report["load_after"] = load()
    report["wall_s"] = round(time.time() - started, 1)
    return finish(report, args.json)


def finish(report: dict, out: str | None) -> int:
    if out:
        Path(out).write_text(json.dumps(report, indent=1))
    print(markdown(report))
    return 0


def markdown(report: dict) -> str:
    lines = [f"`{report['command']}` — {report['machine']['cpu']}", ""]
    if report["status"] != "ran":
        return "\n".join([*lines, f"not run: {report['why']}"])
    a = report["all_int8"]
    lines += [f"All convolutions int8: worst {a['worst_psnr_db']} dB, LPIPS {a['worst_lpips']}.", "",
              "| group (one in int8, rest fp32) | convs | worst PSNR dB |", "|---|---|---|"]
    lines += [f"| {e['group']} | {e['convs']} | {e['worst_psnr_db']} |" for e in report["groups"]]
    lines += ["", "| mix: least sensitive groups in int8 | convs int8 | worst PSNR dB | worst LPIPS | gate |",
              "|---|---|---|---|---|"]
    lines += [f"| {m['int8_groups']} | {m['int8_convs']} / {m['of_convs']} | {m['worst_psnr_db']} | "
              f"{m['worst_lpips']} | {'pass' if m['passes_gate'] else 'fail'} |" for m in report["mixes"]]
    if report.get("seconds"):
        lines += ["", f"Seconds at {report['time_size']}² (round-robin medians): " +
                  ", ".join(f"{n} {s}" for n, s in report["seconds"].items())]
    elif not report["best_passing"]:
        lines += ["", "No mix passes the gate: stopped here."]
    return "\n".join([*lines, f"load: {report['load_before']} → {report['load_after']}"])


if __name__ == "__main__":
    raise SystemExit(main())
