"""`python -m core ...`: the same engine as the app, for files and folders. One module per command, each with
`add(subparsers)` and `run(args)`."""
from __future__ import annotations

import argparse
import sys

from core.cli import attribute, bench, degrade, enhance, fetch, methods, metrics, prepare, train, video

COMMANDS = (methods, fetch, metrics, prepare, enhance, degrade, bench, train, attribute, video)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m core", description="SR Lab: super-resolution on the command line")
    sub = ap.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
