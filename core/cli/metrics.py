"""`python -m core metrics`: every measure, its direction, unit and meaning."""
from __future__ import annotations


def add(sub) -> None:
    p = sub.add_parser("metrics", help="list every metric: direction, unit, what it measures")
    p.set_defaults(func=run)


def run(args) -> int:
    from core.quality.metrics import METRICS

    for full in (True, False):
        print("Full reference (scored against the true image):" if full else
              "\nNo reference (describe one image; they cannot say which restore is right):")
        for m in METRICS:
            if m.full_reference == full:
                print(f"  {m.name:12} {m.heading:14} {'default' if m.default else 'opt-in ':8} {m.about}")
    from core.video.measures import CLIP_MEASURES

    print("\nClips (python -m core video; each frame also gets the measures above):")
    for c in CLIP_MEASURES.values():
        arrow = {True: "↑", False: "↓", None: ""}[c.higher_is_better]
        need = "reference" if c.needs_reference else "no reference"
        print(f"  {c.name:12} {(c.label + ' ' + arrow).strip():14} {need:12} {c.about}")
    return 0
