"""The instant lens in the app: ``a2core/figures/web/lens.js`` as a Streamlit ``st.components.v2`` component.

Hovering redraws in the browser only; a click (or the arrow keys, once they rest) sends the pinned
position back, and :func:`lens` stores it as the app's shared position (``app.common.clicked_position``),
so the Grad-CAM ✕, the downloads and the other pages follow it. The data come from
:func:`a2core.figures.lens.lens_data`; the script and its CSS are inlined (no CDN, no build step).
"""

from __future__ import annotations

import functools

import streamlit as st

from a2core.figures import web
from app.common import clicked_position


@functools.cache
def component(view: str):
    """The mount command of the browser view ``view`` (``lens``, ``toy``: ``a2core/figures/web/<view>.js``).

    Registered once per server process: a component name must be unique across the app.
    """
    return st.components.v2.component(f"a2lens.{view}", js=web.script(view), css=web.style(view))


def _store(key: str) -> None:
    state = st.session_state.get(key)
    position = state.get("position") if state is not None else None
    if position is not None:
        clicked_position("shared", (position[0], position[1]))


def lens(data: dict, key: str) -> None:
    """Mount the lens with ``data`` (``lens_data``); a pinned position becomes the shared position."""
    component("lens")(key=key, data=data, default={"position": None}, on_position_change=lambda: _store(key),
                 height="content")
