"""Words for a class: every page says what happened in plain words first (for a 15-year-old); the exact recipe,
the formulas, the library calls and the command lines go under ONE "Details" expander per section (or to the How
it works page). The precise texts stay where they are made (core/: the CLI and the handout print them)."""
from __future__ import annotations

import streamlit as st

DETAILS = "Details"


def details(*lines: str, container=None) -> None:
    """The section's one "Details" expander: each non-empty line a bullet (None/"" left out); nothing drawn when
    there is nothing to say."""
    lines = [line for line in lines if line]
    if not lines:
        return
    with (container or st).expander(DETAILS):
        st.markdown("\n".join(f"- {line}" for line in lines))


def ranked_by(measure) -> str:
    """How a ranking's order reads without its measure's name: "how natural each looks (lower NIQE is more
    natural)", from the Metric entry's plain words."""
    better = "higher" if measure.higher_is_better else "lower"
    return f"{measure.plain_name} ({better} {measure.label} is better)"
