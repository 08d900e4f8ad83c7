"""Every script in bench/ runs: each with `--smoke` (tiny sizes, the same code path) as a subprocess, as a user would
run it; it exits 0 and writes its JSON with the fields docs/figures.md cites. No time is asserted (a smoke run's
numbers mean nothing); the figures come from the full runs named in docs/figures.md."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


def _speed(out: dict) -> None:
    assert out["smoke"] is True and out["machine"]["cpu"] and out["machine"]["cores"] >= 1
    assert out["emulated"].startswith("AVX2 imitated") and out["backend"] == "torch"  # (run with --emulate-avx2)
    (rec,) = out["records"]
    assert rec["method"] == "realesr-animevideov3" and rec["size"] == 32
    assert rec["official_s"] > 0 and rec["ours_s"] > 0 and rec["speedup"] > 0 and rec["tiles"] == 1
    assert rec["psnr_vs_official_db"] >= 40, rec  # the faithfulness the speed table reports
    assert rec["backend"] and rec["ours_s_per_mpx"] > 0 and rec["peak_rss_mb"] > 0


def _backend_options(out: dict) -> None:
    rows = {r["option"]: r for r in out["rows"]}
    assert {"torch fp32", "torch channels-last", "torch TorchScript frozen", "ncnn fp32",
            "ncnn bf16 storage"} <= set(rows)
    assert rows["torch fp32"]["psnr_vs_fp32_db"] is None
    assert all(r["seconds"] > 0 for r in rows.values())
    assert rows["ncnn fp32"]["psnr_vs_fp32_db"] >= 45 and rows["torch channels-last"]["psnr_vs_fp32_db"] >= 45
    assert rows["torch TorchScript frozen"]["psnr_vs_fp32_db"] >= 45


def _memory(out: dict) -> None:
    assert {(r["method"], r["backend"]) for r in out["rows"]} == {("realesr-animevideov3", "torch"),
                                                                   ("realesr-animevideov3", "ncnn")}
    for r in out["rows"]:
        assert r["sizes"] == [32, 48] and len(r["peak_mb"]) == 2 and isinstance(r["bytes_per_input_pixel"], int)


def _busy_calibration(out: dict) -> None:
    (run,) = out["runs"]
    assert out["method"] == "realesr-animevideov3" and out["cpu"] and run["busy_processes"] == 0
    assert run["backend"] in run["seconds_per_mpx"] and all(v > 0 for v in run["seconds_per_mpx"].values())
    assert 0 <= run["waiting_share"] <= 1 and isinstance(run["flagged"], bool) and run["took_s"] > 0


def _one_step_further(out: dict) -> None:
    (block,) = out["results"]
    rows = {r["candidate"]: r for r in block["rows"]}
    assert block["model"] == "realesr-animevideov3" and block["size"] == 32
    for name in ("torch fp32", "torch-bf16"):  # the references: they always run
        r = rows[name]
        assert r["status"] == "ran" and r["seconds"] > 0 and r["worst_psnr_db"] >= 40 and r["verdict"], r
    assert "torch-bf16 + torch.compile" not in rows  # left out of a smoke run (minutes to compile)
    assert all(r["status"] in ("ran", "failed", "not run") and r.get("verdict") for r in rows.values()), rows


def _int8_mix(out: dict) -> None:
    assert out["smoke"] is True and out["machine"]["cpu"] and out["model"] == "realesr-animevideov3"
    if out["status"] == "not run":  # onnxruntime is a bench-only package, not in requirements.txt
        assert "onnxruntime" in out["why"]
        return
    assert out["all_int8"]["worst_psnr_db"] > 10 and 0 <= out["all_int8"]["worst_lpips"] <= 1
    assert len(out["groups"]) == 3 and len(out["mixes"]) == 2
    assert [e["worst_psnr_db"] for e in out["groups"]] == sorted((e["worst_psnr_db"] for e in out["groups"]),
                                                                 reverse=True)  # least sensitive first
    assert all(m["int8_convs"] <= m["of_convs"] and isinstance(m["passes_gate"], bool) for m in out["mixes"])


def _train(out: dict) -> None:
    assert out["smoke"] is True and out["cpu"] and out["threads"] >= 1
    assert set(out["runs"]) == {"scratch-60s", "animevideov3-gan-2min"}
    for run in out["runs"].values():
        assert run["steps"] >= 1 and run["steps_per_s"] > 0
        for when in ("bicubic", "start", "after"):
            assert run[when]["psnr"] > 10 and 0 <= run[when]["lpips"] <= 1
    assert [t["target"].split(":")[0] for t in out["targets"]][0].startswith("from scratch beats bicubic")


def _upstream_check(out: dict) -> None:
    (row,) = out["rows"]
    assert row["model"].startswith("SRMD") and out["size"] == [48, 40]
    assert row["psnr_db"] is not None or row["upstream"].startswith("not run: "), row  # ran, or says why not


def _app_vs_cli(out: dict) -> None:
    assert out["method"] == "realesr-animevideov3" and out["cpu"]
    assert out["in_process_s"] > 0 and out["app_job_s"] > 0 and out["ratio"] > 0


def _before_class(out: dict) -> None:
    assert out["prepare_s"] > 0 and out["prepare_output"] and out["method"]
    assert out["first_page_s"] > 0 and out["click_to_result_s"] > 0 and out["job_s"] > 0


def _redraw(out: dict) -> None:
    assert out["reruns"] >= 1 and out["cpu"]
    for key in ("seconds", "cpu_s", "runq_s"):
        assert out[key]["n"] == out["reruns"] and out[key]["p95_s"] >= out[key]["p50_s"] >= 0


def _load_test(out: dict) -> None:
    assert out["sessions"] == 2 and out["ray"] == "" and out["completed"] == 2, out["error_samples"]
    assert out["errors"] == 0 and out["lost_jobs"] == 0 and not out["server_crashed"]
    assert out["switched_page_while_waiting"] + out["moved_a_control_while_waiting"] >= 1
    assert out["server"]["jobs_run"] == 2 and out["server"]["page_run_without_job"]["n"] >= 1
    assert out["client_click_to_result"]["p95_s"] > 0 and out["peak_rss_mb"] > 0 and out["cpu"]


def _attribution(out: dict) -> None:
    assert out["timing"] and all(row["seconds"] > 0 and row["peak_rss_mb"] > 0 for row in out["timing"])
    assert {row["method"] for row in out["di"]} >= {"bicubic"} and all(row["di"] >= 0 for row in out["di"])
    assert out["steps"] == 8 and out["cpu"]


def _video(out: dict) -> None:
    assert out["frames"] == 3 and out["cpu"]
    assert [r["method"] for r in out["rows"]] == ["bicubic", "realesr-animevideov3"]
    for row in out["rows"]:
        assert row["fps"] > 0 and row["frames"] == 3 and row["psnr_db"] > 10 and "flicker" in row


def _first_pixels(out: dict) -> None:
    assert out["cpu"] and out["method"] == "realesr-animevideov3" and len(out["rows"]) == 1
    w, u = out["rows"][0]["watched"], out["rows"][0]["unwatched"]
    assert w["tiles"] == u["tiles"] == 4 and w["partials"] == 3  # every tile but the last shown as it lands
    assert 0 < w["first_tile_s"] <= w["total_s"] and 0 < w["first_share"] < 1 and u["total_s"] > 0


def _big_photo(out: dict) -> None:
    assert out["smoke"] is True and out["cpu"] and isinstance(out["avx512_bf16"], bool)
    assert out["method"] == "realesr-animevideov3" and out["input_size"] == [128, 96]
    assert out["output_size"] == [256, 192]
    assert out["resize"].endswith("tile by tile") and out["tiles"] == 12 and out["backend"]
    assert out["run_s"] > 0 and out["s_per_tile"] > 0 and out["peak_rss_mb"] > 0


# script → (how its JSON is asked for, the check); the browser ones start a Streamlit server and a headless Chromium
CHECKS = {
    "speed.py": _speed, "backend_options.py": _backend_options, "memory.py": _memory,
    "busy_calibration.py": _busy_calibration, "one_step_further.py": _one_step_further, "train.py": _train,
    "int8_mix.py": _int8_mix,
    "upstream_check.py": _upstream_check, "attribution.py": _attribution, "video.py": _video,
    "first_pixels.py": _first_pixels, "big_photo.py": _big_photo,
}
BROWSER = {"app_vs_cli.py": _app_vs_cli, "before_class.py": _before_class, "redraw.py": _redraw,
           "load_test.py": _load_test}


def test_every_bench_has_a_smoke_run_here():
    assert {p.name for p in BENCH.glob("*.py") if p.name != "__init__.py"} == set(CHECKS) | set(BROWSER)


SMOKE_ARGS = {"speed.py": ["--emulate-avx2"]}  # its smoke runs the imitation: the plain path is the same code


def _smoke(script: str, tmp_path: Path) -> dict:
    out = tmp_path / "out.json"
    done = subprocess.run([sys.executable, str(BENCH / script), "--smoke", "--json", str(out),
                           *SMOKE_ARGS.get(script, [])], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{script} --smoke exited {done.returncode}:\n{done.stdout[-3000:]}\n" \
                                 f"{done.stderr[-3000:]}"
    assert out.is_file(), f"{script} --smoke wrote no JSON"
    return json.loads(out.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(CHECKS))
def test_a_bench_runs_and_writes_its_figures(script, tmp_path):
    CHECKS[script](_smoke(script, tmp_path))


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("script", sorted(BROWSER))
def test_a_browser_bench_runs_and_writes_its_figures(script, tmp_path):
    BROWSER[script](_smoke(script, tmp_path))
