"""Session state shared by the pages: defaults of the controls that keep their value across pages, and what
this session holds (its image, its own models, its memory budget).

Every value widget is drawn with `persist_state="session"` (Streamlit's own way: the value survives page switches
and fragment reruns) and its first value comes from `kept(key, default)`, put into session_state, never into the
widget call, so a value set by code is not fought by a `value=` argument.
"""
from __future__ import annotations

import streamlit as st

from core.io.imageio import LoadedImage


def kept(key: str, default) -> str:
    """A widget key whose first value in a session is `default`, written back under its key before the widget is
    drawn: Streamlit 1.67 gives a keyed widget a new element id on another page, and on that page's first run
    (unless the browser still had the widget mounted) it took the widget's default — the region's sliders their
    minimum, (0, 0), 64 px, ×2 — the kept value coming back only on the next run."""
    st.session_state[key] = st.session_state.get(key, default)
    return key


def current_image() -> LoadedImage | None:
    return st.session_state.get("image")


def current_image_key() -> str:
    return st.session_state.get("image_key", "")


def require_frame() -> None:
    """Every page starts here. Streamlit 1.67 replays its old multipage mode (a page run alone, without the
    entry file and its picker) while no run has called st.navigation yet — a fresh server whose first visitor
    opens /metrics, say — because our pages live in a folder named pages/. Run again through the entry file."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def require_image() -> LoadedImage:
    """The image chosen in the sidebar; a page that needs one stops here with a hint when there is none."""
    require_frame()
    image = current_image()
    if image is None:
        st.info("Choose a sample or upload an image in the sidebar.")
        st.stop()
    return image


def own_models() -> dict:
    """This session's own models by name (core/methods/user.py): nobody else's session sees them, and they go
    with the session."""
    return st.session_state.setdefault("user_models", {})


def method(name: str):
    """A built-in method or one of this session's own models."""
    from core.methods import lookup

    return lookup(name, own_models())


def method_names(*, networks_only: bool = False) -> list[str]:
    """The built-in methods (networks only, if asked) and then this session's own models."""
    from core.methods import select

    return [m.name for m in select(network=True if networks_only else None)] + list(own_models())


def budget():
    """What this session holds in the server's memory, by item, against SRLAB_SESSION_MB (core/io/budget.py)."""
    from core.io.budget import SessionBudget

    return st.session_state.setdefault("budget", SessionBudget())


def hold(name: str, nbytes: int) -> None:
    """Account an item this session keeps (replacing what `name` held); SessionFull, with a message that says
    what the session holds and what to remove, when it does not fit."""
    budget().add(name, nbytes)


def projector() -> bool:
    """Projector mode (one sidebar toggle, kept across pages): larger text, full-width charts and slider."""
    return bool(st.session_state.get("projector", False))
