"""`python -m core fetch face [--list]`: weights no package registry ships, downloaded only when asked, pinned
and verified (core/weights/fetch.py)."""
from __future__ import annotations

from core.cli.common import fail


def add(sub) -> None:
    p = sub.add_parser("fetch", help="download pinned, verified weights no package ships (face: GFPGAN, facexlib)")
    p.add_argument("group", help="what to fetch: face")
    p.add_argument("--list", action="store_true", help="say what would be fetched, from where, how big")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    from tqdm import tqdm

    from core.weights.fetch import MANIFEST, FetchError, fetch, missing

    if args.group not in MANIFEST:
        return fail(f"nothing called {args.group!r} to fetch; known: {', '.join(MANIFEST)}")
    todo = missing(args.group)
    for f in MANIFEST[args.group]:
        size = f"{f.size / 1e6:.0f} MB" if f.size else "size not published"
        print(f"{f.name}: {f.about}, {f.licence}, {size}, {'to fetch' if f in todo else 'present'} ({f.url})")
    if args.list or not todo:
        return 0
    with tqdm(unit="B", unit_scale=True, disable=True if args.quiet else None) as bar:
        def on_bytes(done: int, total: int | None, _speed: float) -> None:
            bar.total, bar.n = total, done
            bar.refresh()
        try:
            paths = fetch(args.group, on_bytes=on_bytes)
        except FetchError as exc:
            return fail(str(exc), 1)
    print(f"verified (sha256) and in place: {', '.join(str(p) for p in paths)}")
    return 0
