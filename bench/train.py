"""Training on this CPU: every preset of core/train/presets.py on the built-in photos, with the validation on
whole photos the training never sees (the engine's seeded split).

    python bench/train.py [--quick] [--json OUT.json] [--presets a,b]

Per preset: steps, steps/s (training time after setup, validation included), and the validation PSNR / LPIPS of
bicubic, of the starting model and after training. Then the targets: the from-scratch net beats bicubic's PSNR
within its 60 s; fine-tuning animevideov3 with L1 on downscale + noise raises its PSNR by ≥ 0.5 dB within 2 min;
the perceptual + GAN run ends with a lower LPIPS than the L1 run. Last, what caching x4plus's frozen trunk
saves: a few steps with the trunk recomputed against a few with its features cached. `--quick` cuts every budget
(scratch 20 s, fine-tunes 40 s, x4plus 60 s on 32 cached patches): the targets are for the full budgets.
A speed is a property of the CPU (named in the output) and of what else runs on it (the load average is printed).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# --smoke: the loop, validation, losses and cards of two presets in seconds; no figure means anything
SMOKE = {"scratch-60s": dict(seconds=60, max_steps=3, validate_every=2),  # a few steps, however busy the machine
         "animevideov3-gan-2min": dict(seconds=60, max_steps=2, validate_every=1)}
QUICK = {"scratch-60s": dict(seconds=20), "animevideov3-style-2min": dict(seconds=40),
         "animevideov3-gan-2min": dict(seconds=40), "x4plus-last-5min": dict(seconds=60, cache_patches=32)}


def run_preset(name: str, images, changes: dict) -> dict:
    from core.train.engine import train
    from core.train.presets import config

    events = []
    result = train(images, config(name, **changes), lambda e: events.append(e) if e.validation else None)
    card, v = result.card, result.card["validation"]
    train_s = card["seconds"]["total"] - card["seconds"]["setup"]
    beat = next((e for e in events if e.phase == "step" and e.validation.psnr > v["bicubic"]["psnr"]), None)
    return {"preset": name, "steps": card["steps"], "steps_per_s": card["steps"] / train_s if train_s else 0.0,
            "seconds": card["seconds"], "trainable_params": card["trainable_params"],
            "total_params": card["total_params"], "bicubic": v["bicubic"], "start": v["start"], "after": v["model"],
            "beat_bicubic_at": {"step": beat.step, "elapsed_s": round(beat.elapsed_s, 1)} if beat else None,
            "data": card["data"], "history": result.history}


def trunk_cache_effect(images, steps: int) -> dict:
    """Seconds per step of x4plus's head training with the frozen trunk recomputed, and with it cached."""
    import statistics

    from core.train.engine import train
    from core.train.presets import config

    out = {}
    for cached in (False, True):
        at = []
        cfg = config("x4plus-last-5min", cache_trunk=cached, max_steps=steps + 1, validate_every=10 ** 6,
                     cache_patches=16, seconds=900)
        result = train(images, cfg, lambda e: at.append(e.elapsed_s) if e.phase in ("ready", "step") else None)
        per_step = [b - a for a, b in zip(at[1:], at[2:])]  # the first step warms up: not counted
        out["cached" if cached else "recomputed"] = {"s_per_step": statistics.median(per_step),
                                                     "setup_s": result.card["seconds"]["setup"]}
    return out


def targets(runs: dict) -> list[tuple[str, bool | None]]:
    lines = []
    s = runs.get("scratch-60s")
    if s:
        beat = s["beat_bicubic_at"]
        lines.append((f"from scratch beats bicubic: PSNR {s['after']['psnr']:.2f} vs {s['bicubic']['psnr']:.2f} dB"
                      + (f", first at step {beat['step']} ({beat['elapsed_s']:.0f} s)" if beat else ", never")
                      + f", run {s['seconds']['total']:.0f} s", s["after"]["psnr"] > s["bicubic"]["psnr"]
                      and s["seconds"]["total"] <= 61))
    a = runs.get("animevideov3-style-2min")
    if a:
        gain = a["after"]["psnr"] - a["start"]["psnr"]
        lines.append((f"animevideov3 + L1 gains ≥ 0.5 dB: {gain:+.2f} dB in {a['seconds']['total']:.0f} s",
                      gain >= 0.5 and a["seconds"]["total"] <= 121))
    g = runs.get("animevideov3-gan-2min")
    if a and g:
        lines.append((f"perceptual + GAN LPIPS below the L1 run's: {g['after']['lpips']:.3f} vs "
                      f"{a['after']['lpips']:.3f}", g["after"]["lpips"] < a["after"]["lpips"]))
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short budgets (the targets are for the full ones)")
    ap.add_argument("--json", metavar="OUT", help="write every number to this JSON file")
    ap.add_argument("--presets", help="comma-separated preset names (default: all)")
    ap.add_argument("--trunk-cache-only", action="store_true", help="only the x4plus frozen-trunk measurement")
    ap.add_argument("--smoke", action="store_true", help="two presets for a few seconds each: checks the bench runs")
    args = ap.parse_args()
    if args.smoke:
        args.presets, args.trunk_cache_only = ",".join(SMOKE), False

    import core  # noqa: F401  (the torchvision shim before basicsr)
    from core.runtime.machine import describe, machine, threads
    from core.train.data import builtin_images
    from core.train.presets import PRESETS

    names = [] if args.trunk_cache_only else args.presets.split(",") if args.presets else list(PRESETS)
    images = builtin_images()
    load_before = os.getloadavg()
    print(f"CPU: {describe()}; {threads()} threads; load average {load_before[0]:.2f} at start")
    runs = {}
    if names:
        print(f"{'preset':<26} {'steps':>6} {'steps/s':>8} {'s':>6}   {'PSNR bicubic':>12} {'start':>6} → {'after':<6}"
              f" {'LPIPS bicubic':>13} {'start':>6} → {'after':<6}")
    for name in names:
        budget = SMOKE[name] if args.smoke else QUICK.get(name, {}) if args.quick else {}
        r = runs[name] = run_preset(name, images, budget)
        b, s, a = r["bicubic"], r["start"], r["after"]
        print(f"{name:<26} {r['steps']:>6} {r['steps_per_s']:>8.2f} {r['seconds']['total']:>6.0f}   "
              f"{b['psnr']:>12.2f} {s['psnr']:>6.2f} → {a['psnr']:<6.2f} {b['lpips']:>13.3f} {s['lpips']:>6.3f} → "
              f"{a['lpips']:<6.3f}", flush=True)
    first = next(iter(runs.values()))["data"] if runs else None
    if first:
        print(f"trained on {', '.join(first['train'])}; validated on {', '.join(first['validation'])} "
              f"({first['held_out']}; centre crops ≤ 256 px, PSNR on RGB, LPIPS AlexNet)")
    goals = targets(runs)
    for text, met in goals:
        quick = " (quick run: shorter budgets)" if args.quick or args.smoke else ""
        print(f"target: {text}: {'met' if met else 'NOT met'}{quick}")
    cache = None
    if "x4plus-last-5min" in names or args.trunk_cache_only:
        cache = trunk_cache_effect(images, 2 if args.quick else 4)
        r, c = cache["recomputed"]["s_per_step"], cache["cached"]["s_per_step"]
        print(f"x4plus frozen trunk, batch 8 × 32² patches: {r:.2f} s per step recomputing it, {c:.2f} s with its "
              f"features cached (×{r / c:.1f}, median step after the first); the cache costs one trunk pass per "
              f"patch at setup: setup {cache['cached']['setup_s']:.0f} s with 16 patches cached, "
              f"{cache['recomputed']['setup_s']:.0f} s without")
    load_after = os.getloadavg()
    print(f"load average {load_after[0]:.2f} at the end (other processes on this machine slow every figure)")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "cpu": describe(), "threads": threads(),
                                               "quick": args.quick, "smoke": args.smoke,
                                               "load_average": [load_before, load_after],
                                               "runs": runs, "targets": [{"target": t, "met": m} for t, m in goals],
                                               "trunk_cache": cache}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
