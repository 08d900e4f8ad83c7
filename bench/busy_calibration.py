"""What a busy machine does to the backend measurement: the same network measured on a quiet machine and with
N other busy processes (pure-Python loops) holding the cores, each in a fresh weights folder.

    python bench/busy_calibration.py [--method realesr-animevideov3] [--busy 0 1 2] [--json OUT]

Reports per run the backend chosen, each backend's seconds per input megapixel, the share of its threads'
time spent waiting for a core (core.runtime.calibrate.contention) and whether the record was flagged, and the
CPU.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ONE = """
import json, sys
from core import methods
from core.runtime import calibrate, machine
before = machine.scheduler_times()
record = calibrate.record_for(methods.get(sys.argv[1]))
print(json.dumps({"backend": record["backend"], "took_s": record["took_s"],
                  "waiting_share": round(calibrate.contention(before), 2), "flagged": "contended" in record,
                  "seconds_per_mpx": {n: m["seconds_per_mpx"] for n, m in record["measured"].items()}}))
"""


def measure(method: str, busy: int) -> dict:
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
    try:
        with tempfile.TemporaryDirectory() as weights:  # nothing measured there: it measures now
            env = {**os.environ, "SRLAB_WEIGHTS_DIR": weights, "PYTHONPATH": str(ROOT)}
            out = subprocess.run([sys.executable, "-c", ONE, method], env=env, capture_output=True, text=True,
                                 check=True, timeout=600)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    return {"busy_processes": busy, **json.loads(out.stdout.strip().splitlines()[-1])}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--method", default="realesr-animevideov3")
    ap.add_argument("--busy", type=int, nargs="+", default=[0, 1, 2], help="other busy processes, one run each")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--smoke", action="store_true", help="one quiet run (--busy 0): checks the bench runs")
    args = ap.parse_args()
    if args.smoke:
        args.busy = [0]
    sys.path.insert(0, str(ROOT))
    from core.runtime.machine import describe

    runs = [measure(args.method, n) for n in args.busy]
    report = {"method": args.method, "cpu": describe(), "runs": runs}
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
