"""Widgets drawn from registry data: scale choice, and a method's parameters from its Param entries."""
from __future__ import annotations

import streamlit as st


def scale_picker(key: str, container=st) -> float:
    choice = container.radio("Scale", ["×2", "×3", "×4", "×8", "custom"], index=2, horizontal=True, key=key)
    if choice == "custom":
        return float(container.number_input("Custom scale", 1.0, 8.0, 2.5, 0.25, key=key + "_custom"))
    return float(choice[1:])


def param_widgets(method, key_prefix: str, container=st) -> dict:
    """One widget per Param (select for choices, slider for numbers); returns {name: value}."""
    values = {}
    for p in method.params:
        key = f"{key_prefix}_{method.name}_{p.name}"
        if p.choices is not None:
            values[p.name] = container.selectbox(p.label, p.choices, index=p.choices.index(p.default),
                                                 help=p.help, key=key)
        else:
            cast = type(p.default)
            values[p.name] = container.slider(p.label, cast(p.min), cast(p.max), p.default, cast(p.step),
                                              help=p.help, key=key)
    return values
