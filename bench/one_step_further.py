"""One step past torch-bf16 (issue 11): does any faster path stay within the quality gate?

    python bench/one_step_further.py [--models RealESRGAN_x4plus,realesr-animevideov3] [--sizes 128[,256]]
                                     [--runs 3] [--calibration percentile|minmax] [--skip NAME,...] [--json OUT]

For each model and size, in one process, one candidate after another: build it (export, quantization,
compilation: timed apart as `build_s`), a first run (warm-up, `first_run_s`: includes a lazy compile),
then the median of `--runs` runs on the astronaut crop. Quality: every candidate's output on three real photo
crops (centre crops of scikit-image's astronaut, coffee and chelsea) against the official output — torch fp32
with the converted weights, which equals RealESRGANer to ≥ 75 dB — as the worst PSNR and worst LPIPS (AlexNet)
of the three, on outputs clipped to 0…1. The gate: ≥ 40 dB and LPIPS ≤ 0.01.

Candidates: torch fp32 and torch-bf16 (core.runtime.backends, the references); torch.compile (inductor, freezing) and
torch.jit.trace + freeze over the bf16 channels-last model; ONNX Runtime fp32 and int8 (quantize_static, QDQ,
per-channel int8 weights, uint8 activations, calibrated on 8 crops of other scikit-image photos, all convs or
first/last/upsampling convs in float); OpenVINO fp32 and bf16 (its CPU plugin's bf16 inference precision)
and OpenVINO int8 through NNCF post-training quantization on the same calibration crops.
ONNX Runtime's x86 CPU build has no bf16 path (its only bf16 GEMM switch,
`mlas.enable_gemm_fastmath_arm64_bfloat16`, is ARM64-only): listed, not run.

Then the fastest candidates that pass, with torch-bf16 and torch fp32, are timed again side by side, twice,
to check that the ranking holds. The machine is shared: timings are relative, measured in the same minute;
`uptime` load is recorded before and after.

Needs (not in requirements.txt unless a candidate is kept): onnx==1.23.2 onnxruntime==1.31.1
openvino==2026.4.1 nncf==3.4.0. Before importing NNCF this script records "no" in OpenVINO's telemetry
consent file (~/intel/openvino_telemetry) if there is none: NNCF would otherwise try to send usage data.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MIN_PSNR_DB = 40.0
MAX_LPIPS = 0.01
KEEP_SPEEDUP = 1.15  # over torch-bf16: below this a new backend is not worth its dependencies
NO_X86_BF16_ORT = ("not offered on x86: ONNX Runtime's CPU build has no bf16 convolution; its one bf16 switch "
                   "(mlas.enable_gemm_fastmath_arm64_bfloat16) is ARM64-only and absent from this x86 build")


# ---------------------------------------------------------------- images
def _centre(img: np.ndarray, size: int) -> np.ndarray:
    y0, x0 = (img.shape[0] - size) // 2, (img.shape[1] - size) // 2
    return img[y0:y0 + size, x0:x0 + size]


def test_crops(size: int) -> dict[str, np.ndarray]:
    """Centre crops of three real photos (uint8 RGB); the first one is also the timing input."""
    from skimage import data

    return {name: np.ascontiguousarray(_centre(getattr(data, name)(), size))
            for name in ("astronaut", "coffee", "chelsea")}


def calibration_crops(size: int = 64) -> list[np.ndarray]:
    """Eight crops that overlap no test crop (at 256² or less): the rocket, the camera man (gray, as RGB, like
    the app feeds gray images) and corners of the three test photos."""
    from skimage import data

    s = size
    rocket, astronaut, coffee, chelsea = data.rocket(), data.astronaut(), data.coffee(), data.chelsea()
    camera = np.repeat(data.camera()[..., None], 3, axis=2)
    crops = [rocket[:s, :s], rocket[200:200 + s, 300:300 + s], rocket[-s:, -s:], camera[100:100 + s, 200:200 + s],
             astronaut[:s, :s], astronaut[-s:, -s:], coffee[-s:, -s:], chelsea[:s, :s]]
    return [np.ascontiguousarray(c) for c in crops]


def to_nchw(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(img.astype(np.float32).transpose(2, 0, 1)[None] / 255)


def to_hwc(out: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(out, dtype=np.float32)[0].transpose(1, 2, 0), 0, 1)


# ---------------------------------------------------------------- candidates
@dataclass
class Candidate:
    name: str
    build: Callable[[], Callable[[np.ndarray], np.ndarray]] | None  # → runner: NCHW float32 in, NCHW out
    reference: bool = False
    not_run: str = ""  # why it is listed but not run


@dataclass
class Context:
    spec: object
    workdir: Path
    threads: int
    calibration: str
    _onnx: Path | None = None
    cache: dict = field(default_factory=dict)

    def onnx_path(self) -> Path:
        """The official fp32 module exported once: opset 17, dynamic height and width."""
        if self._onnx is None:
            import torch

            module = bare_module(self.spec, bf16=False)
            path = self.workdir / f"{self.spec.name}.onnx"
            torch.onnx.export(module, torch.rand(1, 3, 64, 64), str(path), opset_version=17, dynamo=False,
                              input_names=["input"], output_names=["output"],
                              dynamic_axes={"input": {2: "height", 3: "width"},
                                            "output": {2: "out_height", 3: "out_width"}})
            self._onnx = path
        return self._onnx


def bare_module(spec, bf16: bool):
    """A private copy of the official module without SR Lab's per-layer progress hooks (a compiled or traced
    graph cannot call back between layers), optionally in bf16 channels-last as the torch-bf16 backend."""
    import torch

    module = copy.deepcopy(spec.torch_module()).eval()
    for sub in module.modules():
        sub._forward_hooks.clear()
    if bf16:
        module = module.to(torch.bfloat16).to(memory_format=torch.channels_last)
    return module


def core_backend(spec, name: str):
    from core.runtime.backends import BACKENDS

    backend = BACKENDS.get(name).build(spec)
    return lambda x: backend(x[0])[None]


def torch_graph_runner(spec, how: str):
    """bf16 channels-last module run through torch.compile (inductor with freezing: weights as constants,
    oneDNN prepacked) or torch.jit.trace + freeze (oneDNN fusions). One graph per input shape."""
    import torch

    module = bare_module(spec, bf16=True)
    graphs = {}

    def run(x: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(x).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            if x.shape not in graphs:
                if how == "compile":
                    import torch._inductor.config as inductor_config

                    inductor_config.freezing = True
                    graphs[x.shape] = torch.compile(module, dynamic=False)
                else:
                    graphs[x.shape] = torch.jit.freeze(torch.jit.trace(module, t).eval())
            out = graphs[x.shape](t)
        return out.float().numpy()

    return run


def ort_session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"input": x})[0]


def float_kept_convs(onnx_path: Path) -> list[str]:
    """The first and last convolutions and every one after the first upsampling (Resize): the layers where a
    quantization error reaches the output least filtered."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    convs = [(i, n.name) for i, n in enumerate(graph.node) if n.op_type == "Conv"]
    first_resize = next((i for i, n in enumerate(graph.node) if n.op_type == "Resize"), len(graph.node))
    kept = {convs[0][1], convs[-1][1]} | {name for i, name in convs if i > first_resize}
    return [name for _, name in convs if name in kept]


def ort_int8(ctx: Context, keep_float: bool):
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    source = ctx.onnx_path()
    crops = [to_nchw(c) for c in calibration_crops()]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.feeds = iter([{"input": c} for c in crops])

        def get_next(self):
            return next(self.feeds, None)

    method = {"percentile": CalibrationMethod.Percentile, "minmax": CalibrationMethod.MinMax}[ctx.calibration]
    excluded = float_kept_convs(source) if keep_float else []
    out = ctx.workdir / f"{ctx.spec.name}.int8{'-mixed' if keep_float else ''}.onnx"
    quantize_static(str(source), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, calibrate_method=method,
                    nodes_to_exclude=excluded)
    return ort_session(out, ctx.threads)


def openvino_runner(ctx: Context, precision: str, static: bool = False, model=None):
    """OpenVINO's CPU plugin on the ONNX file (read directly: no conversion tool). `precision` is its
    inference precision hint: "bf16" runs convolutions in bfloat16 on CPUs with AVX-512 BF16 or AMX."""
    import openvino as ov

    core = ctx.cache.setdefault("ov_core", ov.Core())
    config = {"INFERENCE_PRECISION_HINT": precision, "INFERENCE_NUM_THREADS": ctx.threads,
              "PERFORMANCE_HINT": "LATENCY"}
    source = model if model is not None else core.read_model(str(ctx.onnx_path()))
    compiled = {}

    def run(x: np.ndarray) -> np.ndarray:
        key = x.shape if static else "dynamic"
        if key not in compiled:
            m = source.clone()
            if static:
                m.reshape({m.inputs[0].any_name: list(x.shape)})
            compiled[key] = core.compile_model(m, "CPU", config).create_infer_request()
        return compiled[key].infer({0: x})[0].copy()

    return run


def decline_openvino_telemetry() -> None:
    """NNCF sends usage data unless a consent file says no; write "0" there if there is no file yet."""
    consent = Path.home() / "intel" / "openvino_telemetry"
    if not consent.exists():
        consent.parent.mkdir(parents=True, exist_ok=True)
        consent.write_text("0")


def nncf_int8(ctx: Context):
    decline_openvino_telemetry()
    import nncf
    import openvino as ov

    core = ctx.cache.setdefault("ov_core", ov.Core())
    model = core.read_model(str(ctx.onnx_path()))
    crops = [to_nchw(c) for c in calibration_crops()]
    quantized = nncf.quantize(model, nncf.Dataset(crops), subset_size=len(crops), preset=nncf.QuantizationPreset.MIXED)
    return openvino_runner(ctx, "bf16", model=quantized)


def candidates(ctx: Context) -> list[Candidate]:
    spec = ctx.spec
    return [
        Candidate("torch fp32", lambda: core_backend(spec, "torch"), reference=True),
        Candidate("torch-bf16", lambda: core_backend(spec, "torch-bf16"), reference=True),
        Candidate("torch-bf16 + torch.compile", lambda: torch_graph_runner(spec, "compile")),
        Candidate("torch-bf16 + jit.trace/freeze", lambda: torch_graph_runner(spec, "jit")),
        Candidate("ORT fp32", lambda: ort_session(ctx.onnx_path(), ctx.threads)),
        Candidate("ORT bf16", None, not_run=NO_X86_BF16_ORT),
        Candidate("ORT int8 QDQ, all convs", lambda: ort_int8(ctx, keep_float=False)),
        Candidate("ORT int8 QDQ, first/last/upsampling convs fp32", lambda: ort_int8(ctx, keep_float=True)),
        Candidate("OpenVINO fp32", lambda: openvino_runner(ctx, "f32")),
        Candidate("OpenVINO bf16", lambda: openvino_runner(ctx, "bf16")),
        Candidate("OpenVINO bf16, static shape", lambda: openvino_runner(ctx, "bf16", static=True)),
        Candidate("OpenVINO int8 (NNCF, mixed preset)", lambda: nncf_int8(ctx)),
    ]


# ---------------------------------------------------------------- measuring
def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"


def prepare(candidate: Candidate, crops: dict[str, np.ndarray], references: dict[str, np.ndarray],
            keep: dict) -> dict:
    """Build, a first run (warm-up), and the quality of the outputs on the three crops. The first candidate
    (torch fp32) fills `references`."""
    from core.quality.metrics import lpips_distance, psnr

    record = {"candidate": candidate.name}
    if candidate.not_run:
        return {**record, "status": "not run", "why": candidate.not_run}
    try:
        t = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):  # the quantizers' progress lines: keep stdout the table
            run = candidate.build()
        record["build_s"] = round(time.perf_counter() - t, 2)
        inputs = {name: to_nchw(img) for name, img in crops.items()}
        t = time.perf_counter()
        run(inputs["astronaut"])
        record["first_run_s"] = round(time.perf_counter() - t, 3)
        outputs = {name: to_hwc(run(x)) for name, x in inputs.items()}
    except Exception as exc:  # a candidate that cannot run here is a result, reported in its row
        return {**record, "status": "failed", "why": one_line(exc)}
    if references:
        psnrs = {n: psnr(outputs[n], references[n]) for n in outputs}
        record["psnr_db"] = {n: round(min(v, 99.0), 2) for n, v in psnrs.items()}
        record["lpips"] = {n: round(lpips_distance(outputs[n], references[n]), 5) for n in outputs}
        record["worst_psnr_db"] = min(record["psnr_db"].values())
        record["worst_lpips"] = max(record["lpips"].values())
        record["passes_gate"] = record["worst_psnr_db"] >= MIN_PSNR_DB and record["worst_lpips"] <= MAX_LPIPS
    else:
        references.update(outputs)  # torch fp32 is the official output
        record.update(worst_psnr_db=99.0, worst_lpips=0.0, passes_gate=True)
    record["status"] = "ran"
    keep[candidate.name] = run
    return record


def interleaved_seconds(runners: dict, x: np.ndarray, runs: int) -> dict[str, float]:
    """Median seconds per runner, timed round-robin (one run each per round, the order rotated every round)
    so that a burst of load from the other users of the CPU falls on all candidates alike."""
    names = list(runners)
    times = {n: [] for n in names}
    for i in range(runs):
        for name in names[i % len(names):] + names[:i % len(names)]:
            t = time.perf_counter()
            runners[name](x)
            times[name].append(time.perf_counter() - t)
    return {n: round(statistics.median(v), 3) for n, v in times.items()}


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def verdict(r: dict) -> str:
    if r["status"] != "ran":
        return f"not kept: {r['why']}"
    if r["candidate"] == "torch fp32":
        return "reference (the official output)"
    if r["candidate"] == "torch-bf16":
        return "reference (today's fastest backend)"
    gain = min([r["vs_bf16"], *r.get("rerun_vs_bf16", [])])  # the least favourable of all timings
    if not r["passes_gate"]:
        why = []
        if r["worst_psnr_db"] < MIN_PSNR_DB:
            why.append(f"{r['worst_psnr_db']:.1f} dB < {MIN_PSNR_DB:.0f}")
        if r["worst_lpips"] > MAX_LPIPS:
            why.append(f"LPIPS {r['worst_lpips']:.3f} > {MAX_LPIPS}")
        although = f", although ×{gain:.2f} torch-bf16" if gain > 1 else ""
        return f"not kept: fails the gate ({', '.join(why)}){although}"
    if gain >= KEEP_SPEEDUP:
        return f"kept: passes, at least ×{gain:.2f} torch-bf16 in every timing"
    return f"not kept: passes but ×{gain:.2f} torch-bf16 (< ×{KEEP_SPEEDUP} is not worth a new backend)"


def stability(rows: list[dict], keep: dict, x: np.ndarray, runs: int, rounds: int = 2) -> dict | None:
    """Time the two fastest passing candidates (other than fp32), torch-bf16 and torch fp32 again, side by
    side, `rounds` times: does the ranking hold?"""
    passing = sorted((r for r in rows if r.get("passes_gate") and r["candidate"] != "torch fp32"),
                     key=lambda r: r["seconds"])
    names = [r["candidate"] for r in passing[:2]]
    names += [n for n in ("torch-bf16", "torch fp32") if n not in names and n in keep]
    if len(names) < 2:
        return None
    return {"candidates": names,
            "rounds": [interleaved_seconds({n: keep[n] for n in names}, x, runs) for _ in range(rounds)]}


def main() -> int:
    import torch

    import core  # noqa: F401  (torchvision shim before basicsr)
    from core import methods

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="RealESRGAN_x4plus,realesr-animevideov3")
    ap.add_argument("--sizes", default="128")
    ap.add_argument("--runs", type=int, default=5, help="timed rounds (≥ 3)")
    ap.add_argument("--calibration", choices=("percentile", "minmax"), default="percentile",
                    help="activation ranges for int8 (percentile 99.999 or min/max); default percentile")
    ap.add_argument("--skip", default="", help="comma-separated candidate names to leave out")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json", metavar="OUT")
    ap.add_argument("--smoke", action="store_true", help="realesr-animevideov3 at 32 px, 3 runs, no torch.compile or "
                                                          "jit trace (minutes each): checks the bench runs")
    args = ap.parse_args()
    if args.smoke:
        args.models, args.sizes, args.runs = "realesr-animevideov3", "32", 3
        args.skip = ",".join(filter(None, [args.skip, "torch-bf16 + torch.compile", "torch-bf16 + jit.trace/freeze"]))
    if args.runs < 3:
        ap.error("--runs must be at least 3")
    torch.set_num_threads(args.threads)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    started = time.time()
    report = {"smoke": args.smoke, "command": "python " + " ".join([f"bench/{Path(__file__).name}", *sys.argv[1:]]),
              "load_before": load(), "machine": None, "gate": {"min_psnr_db": MIN_PSNR_DB, "max_lpips": MAX_LPIPS},
              "threads": args.threads, "calibration": args.calibration, "results": []}
    from core.runtime.machine import machine
    report["machine"] = machine()
    with tempfile.TemporaryDirectory(prefix="one_step_") as tmp:
        for model_name in args.models.split(","):
            spec = methods.get(model_name)
            ctx = Context(spec, Path(tmp), args.threads, args.calibration)
            for size in [int(s) for s in args.sizes.split(",")]:
                crops, references, keep, rows = test_crops(size), {}, {}, []
                for candidate in candidates(ctx):
                    if candidate.name in skip:
                        continue
                    row = prepare(candidate, crops, references, keep)
                    row.update(model=model_name, size=size)
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr, flush=True)
                timing_input = to_nchw(crops["astronaut"])
                seconds = interleaved_seconds(keep, timing_input, args.runs)
                for r in rows:
                    if r["status"] == "ran":
                        r["seconds"] = seconds[r["candidate"]]
                        r["vs_fp32"] = round(seconds["torch fp32"] / r["seconds"], 2)
                        r["vs_bf16"] = round(seconds["torch-bf16"] / r["seconds"], 2)
                check = stability(rows, keep, timing_input, args.runs)
                for r in rows:
                    if check and r["candidate"] in check["candidates"]:
                        r["rerun_vs_bf16"] = [round(rnd["torch-bf16"] / rnd[r["candidate"]], 2)
                                              for rnd in check["rounds"]]
                    r["verdict"] = verdict(r)
                report["results"].append({"model": model_name, "size": size, "rows": rows, "rerun": check})
                keep.clear()
    report["load_after"] = load()
    report["wall_s"] = round(time.time() - started, 1)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    print(markdown(report))
    return 0


def markdown(report: dict) -> str:
    lines = [f"`{report['command']}` — {report['machine']['cpu']}, {report['threads']} threads, "
             f"wall {report['wall_s']} s", f"load before: {report['load_before']}",
             f"load after: {report['load_after']}", ""]
    for block in report["results"]:
        lines += [f"### {block['model']}, {block['size']}² (median of the runs; shared CPU: compare within the table)",
                  "", "| candidate | s | × fp32 | × bf16 | worst PSNR dB | worst LPIPS | gate | verdict |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in block["rows"]:
            if r["status"] != "ran":
                lines.append(f"| {r['candidate']} | — | — | — | — | — | — | {r['verdict']} |")
                continue
            lines.append(f"| {r['candidate']} | {r['seconds']:.3f} | {r['vs_fp32']:.2f} | {r['vs_bf16']:.2f} | "
                         f"{r['worst_psnr_db']:.1f} | {r['worst_lpips']:.4f} | "
                         f"{'pass' if r['passes_gate'] else 'fail'} | {r['verdict']} |")
        if block["rerun"]:
            names = block["rerun"]["candidates"]
            lines += ["", "Re-run side by side (s): " + "; ".join(
                f"round {i + 1}: " + ", ".join(f"{n} {rnd[n]:.3f}" for n in names)
                for i, rnd in enumerate(block["rerun"]["rounds"]))]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
