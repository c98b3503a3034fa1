"""The instant lens in the app: ``a2core/figures/web/lens.js`` as a Streamlit ``st.components.v2`` component.

Hovering redraws in the browser only; a click (or the arrow keys, once they rest) sends the pinned
position back, and :func:`lens` stores it as the app's shared position (``app.common.clicked_position``),
so the Grad-CAM ✕, the downloads and the other pages follow it. Boxes drawn on it come back the same way, once per
finished box or clear, and are kept for the photo (:mod:`app.boxes`). The data come from
:func:`a2core.figures.lens.lens_data`; the script and its CSS are inlined (no CDN, no build step).
"""

from __future__ import annotations

import functools

import streamlit as st

from a2core.figures import web
from a2core.figures.lens import with_boxes
from app import boxes as photo_boxes
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


def _store_boxes(key: str, photo: str) -> None:
    state = st.session_state.get(key)
    boxes = state.get("boxes") if state is not None else None
    if boxes is not None:
        photo_boxes.store(photo, boxes)  # an invalid list (a hand-made message) is ignored


def lens(data: dict, key: str, photo: str | None = None) -> None:
    """Mount the lens with ``data`` (``lens_data``); a pinned position becomes the shared position.

    With ``photo`` (the shown photo's digest, ``Picture.digest``), the boxes of that photo go with it: those drawn on any page or named
    by a link (the page gives them to :func:`app.boxes.restore` first) and the sample's object boxes when their
    toggle is on (:mod:`app.boxes`); the boxes drawn here come back and are kept for it.
    """
    callbacks = {"on_position_change": lambda: _store(key)}
    if photo is not None:
        data = with_boxes(data, photo_boxes.drawn(photo), photo_boxes.object_boxes(photo))
        callbacks["on_boxes_change"] = functools.partial(_store_boxes, key, photo)
    component("lens")(key=key, data=data, default={"position": None, **({"boxes": None} if photo else {})},
                      height="content", **callbacks)
