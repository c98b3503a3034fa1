"""The view in the page's URL: what a teacher shares is what the class opens.

A page restores its widgets from the query string (``st.query_params``) when the session has no value for
them yet, the first run after opening a link, and writes the view back after every run, so the address
bar always reproduces what is on screen:

    …/compare?zoo=imagenette&sample=church+·+val_00000357&size=192&block=layer3.1.attn&pos=0.2500,0.7500
    &models=se_resnet,a2_resnet&boxes=0.12,0.3,0.56,0.9_0.6,0.1,0.8,0.35

A value that is not one of the page's choices is ignored, and the page says so in plain words
(:func:`show_notes`) instead of falling back silently. Layout helpers only: no numbers are computed here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import streamlit as st

from a2core.metrics.boxes import check_view_boxes

#: The query parameters the app reads and writes, in the order the URL shows them.
PARAMS = ("zoo", "model", "sample", "size", "block", "pos", "models", "boxes")
#: The longest ``boxes`` value read: 16 boxes of four 6-character numbers and their separators (a longer one is
#: refused before it is parsed).
BOXES_MAX_CHARS = 16 * 4 * 7
_NOTES_KEY = "a2lens_url_notes"
_SEEN_KEY = "a2lens_url_seen"


def note(param: str, value: str, why: str) -> None:
    """Remember that the URL's ``param=value`` was ignored because ``why``; :func:`show_notes` says it once.

    Only on the session's first run, when the URL is a link someone opened: later, the URL is the app's own
    record of the view, and a value another page wrote (Explore's 320 px on Compare, which offers up to
    224 px) falls back to the page's default without a word.
    """
    if st.session_state.get(_SEEN_KEY):
        return
    notes = st.session_state.setdefault(_NOTES_KEY, [])
    text = f"The link's `{param}={value}` was ignored: {why}."
    if text not in notes:
        notes.append(text)


def show_notes(where=None) -> None:
    """Say which values of the URL were ignored (in ``where``, a container, or here), then forget them."""
    notes = st.session_state.pop(_NOTES_KEY, [])
    if notes:
        (where or st).warning("  \n".join(notes), icon=":material/link_off:")


def wanted(param: str) -> str | None:
    """The URL's value of ``param``, or None."""
    value = st.query_params.get(param)
    return value if value not in (None, "") else None


def seed(key: str, param: str, choices: Sequence, default, *, parse: Callable[[str], object] = str,
         describe: str = "", name: Callable[[object], str] = str) -> None:
    """Give the widget ``key`` its first value before it is drawn: the URL's ``param`` when it is one of
    ``choices``, else ``default`` (and a note saying what was ignored).

    Does nothing when the session already has a value for ``key`` (the user's choice wins over the URL);
    the widget is then drawn without ``index``/``value`` (Streamlit refuses both). ``describe`` names the
    choices in the note ("the photo zoo's resolutions"), ``name`` formats one of them.
    """
    if key in st.session_state:
        return
    st.session_state[key] = default
    raw = wanted(param)
    if raw is None:
        return
    try:
        value = parse(raw)
    except ValueError:
        value = None
    if value in choices:
        st.session_state[key] = value
        return
    shown = ", ".join(name(c) for c in choices[:6]) + (", …" if len(choices) > 6 else "")
    note(param, raw, f"{describe or 'the choices'} are {shown}; showing {name(default)}")


def parse_list(raw: str) -> list[str]:
    """``"a,b"`` → ``["a", "b"]`` (the URL's form of a multiselect)."""
    return [part for part in raw.split(",") if part]


def parse_position(raw: str) -> tuple[float, float]:
    """``"0.25,0.75"`` → (y, x), fractions of the image in [0, 1]; ValueError for anything else."""
    y, x = (float(part) for part in raw.split(","))
    if not (0.0 <= y <= 1.0 and 0.0 <= x <= 1.0):
        raise ValueError(f"{raw} is outside the image")
    return y, x


def restore_position(store: Callable[[tuple[float, float]], object]) -> None:
    """Pin the URL's ``pos`` (y,x fractions) through ``store`` on the session's first run (later runs: the
    position is the user's, and the URL follows it)."""
    _restore("pos", parse_position, store, "a position is two fractions of the image between 0 and 1, `pos=0.25,0.75`")


def _restore(param: str, parse: Callable[[str], object], store: Callable, hint: str) -> None:
    """Give the URL's ``param``, parsed, to ``store`` on the session's first run only (later runs: the value is the
    user's, and the URL follows it); a value ``parse`` refuses is named (cut to 80 characters) with ``hint``."""
    raw = wanted(param)
    if raw is None or st.session_state.get(_SEEN_KEY):
        return
    try:
        store(parse(raw))
    except ValueError:
        note(param, raw[:80] + ("…" if len(raw) > 80 else ""), hint)


def format_position(position: tuple[float, float]) -> str:
    return f"{position[0]:.4f},{position[1]:.4f}"


def parse_boxes(raw: str) -> list[list[float]]:
    """``"0.1,0.2,0.5,0.9_0.6,0.1,0.8,0.35"`` → [[x0, y0, x1, y1], …], fractions of the view rounded to 1e-4 (what
    :func:`format_boxes` writes); ValueError for anything that is not such a list
    (:func:`a2core.metrics.boxes.check_view_boxes`: at most 16 boxes, each with area, inside the view)."""
    if len(raw) > BOXES_MAX_CHARS:
        raise ValueError(f"longer than {BOXES_MAX_CHARS} characters")
    rows = [[float(v) for v in part.split(",")] for part in raw.split("_")]
    if any(len(row) != 4 for row in rows):
        raise ValueError("a box is four numbers")
    return rounded_boxes(rows)


def rounded_boxes(boxes) -> list[list[float]]:
    """Checked (K, 4) boxes rounded to the URL's 1e-4 (what :func:`format_boxes` writes, so a reloaded link gives
    back exactly the boxes that were scored), checked again after rounding; ValueError as
    :func:`a2core.metrics.boxes.check_view_boxes` raises it."""
    return check_view_boxes(np.round(check_view_boxes(boxes), 4)).tolist()


def format_boxes(boxes) -> str | None:
    """The URL's form of (K, 4) boxes (four decimals, trailing zeros dropped, boxes joined by ``_``); None for none."""
    text = "_".join(",".join(f"{v:.4f}".rstrip("0").rstrip(".") for v in box) for box in boxes)
    return text or None


def restore_boxes(store: Callable[[list[list[float]]], object]) -> None:
    """Give the URL's ``boxes`` to ``store`` on the session's first run (later runs: the boxes are the user's)."""
    _restore("boxes", parse_boxes, store, "boxes are up to 16 groups of four fractions of the view, x0,y0,x1,y1 "
             "with x0 < x1 and y0 < y1, joined by `_`: `boxes=0.1,0.2,0.5,0.9`")


def record(**view) -> None:
    """Write the page's view to the URL: a ``None`` value removes its parameter, lists are joined with commas,
    and the parameters a page does not name stay (Compare's models while on Explore: they follow the user back).

    Only what changed is sent (each change is one small message to the browser, no rerun).
    """
    current = st.query_params.to_dict()
    params = {}
    for param in PARAMS:
        value = view[param] if param in view else current.get(param)
        if value is None:
            continue
        params[param] = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    st.session_state[_SEEN_KEY] = True
    if params != current:
        st.query_params.from_dict(params)
