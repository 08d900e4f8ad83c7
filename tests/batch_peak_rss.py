"""Read a batch zip through core.io.batch as the Batch page does, in a fresh process, and print its peak RSS as
JSON: `python -m tests.batch_peak_rss ZIP [--method bicubic --outscale 2]` (tests/test_batch.py runs it).

The peak is /proc/self/status's VmHWM, this process's own: getrusage's ru_maxrss keeps the parent's peak across
fork and exec (Linux), so under pytest it reports the test runner's memory, not ours."""
import argparse
import json
from pathlib import Path

from core.io.batch import ResultsZip, open_batch
from core.io.imageio import ImageError, encode_png
from core.pipeline.engine import Request, run


def _peak_rss_kb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("zip", type=Path)
    parser.add_argument("--method", default="")
    parser.add_argument("--outscale", type=float, default=2)
    args = parser.parse_args()
    report = {"refused": "", "members": 0, "done": 0, "zip_bytes": 0}
    try:
        batch = open_batch([(args.zip.name, args.zip.read_bytes())])
        report["members"] = len(batch)
        if args.method:
            request = Request.make(args.method, outscale=args.outscale)
            with ResultsZip() as results:
                for member in batch:
                    image = member.load()
                    results.add(member.name, encode_png(run(image, request).pixels))
                    image = None  # released before the next is decoded
                results.finish([{"file": m.name} for m in batch])
                report.update(done=results.done, zip_bytes=results.nbytes)
    except ImageError as exc:
        report["refused"] = str(exc)
    report["peak_rss_mb"] = _peak_rss_kb() / 1024
    print(json.dumps(report))


if __name__ == "__main__":
    main()
