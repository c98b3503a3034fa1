"""A row of whole-number fields (sizes such as T, H, W, c, m, n) that say what is wrong with what was typed.

Streamlit's number input checks its range in the browser: a value out of range shows a small red "!" and is
never sent, so the page keeps computing with the previous one; letters reset the field to its default. These
fields are text, checked here: a number out of range is named with the range and the caller shows no results
until it is fixed; text that is not a whole number puts the field back to its last good value, and says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import streamlit as st

#: digits, optionally grouped by commas, spaces or underscores (100,000 · 100 000 · 100_000), with a sign
_WHOLE = re.compile(r"[+\-−]?\d+(?:[ ,_\u202f]\d+)*")


def parse_whole(text: str) -> int | None:
    """The whole number ``text`` writes (signed; thousands grouped by ``,`` ``_`` or spaces), or None."""
    text = text.strip()
    if not _WHOLE.fullmatch(text):
        return None
    return int(re.sub(r"[ ,_\u202f]", "", text).replace("−", "-"))


def range_problem(label: str, value: int, low: int, high: int) -> str | None:
    """Why ``value`` does not fit ``label``'s range [low, high], in the user's words; None when it does."""
    if low <= value <= high:
        return None
    side = "too small" if value < low else "too large"
    return f"**{label}** must be a whole number from {low:,} to {high:,}; {value:,} is {side}."


def _keep_last_good(key: str, label: str) -> None:
    # on_change: the only moment Streamlit lets a widget's own value be replaced
    typed = st.session_state[key]
    if parse_whole(typed) is None:
        good = st.session_state[f"{key}__good"]
        st.session_state[key] = good
        st.session_state[f"{key}__note"] = f"**{label}**: “{typed.strip()}” is not a whole number; it stays {good}."
    else:
        st.session_state.pop(f"{key}__note", None)


def size_fields(prefix: str, fields: Sequence[tuple[str, str]], defaults: Mapping[str, int],
                maxima: Mapping[str, int], low: int = 1) -> dict[str, int] | None:
    """One text field per (key, label) of ``fields`` in a row → {key: value}, or None while one is out of range.

    Keys of the widgets: ``f"{prefix}_{key}"``. Problems are shown under the row: a value out of range
    (the caller then shows nothing computed from the fields), and text that was put back to its last good value.
    """
    values: dict[str, int] = {}
    problems: list[str] = []
    for col, (key, label) in zip(st.columns(len(fields)), fields):
        widget = f"{prefix}_{key}"
        st.session_state.setdefault(widget, str(defaults[key]))
        with col:
            text = st.text_input(label, key=widget, on_change=_keep_last_good, args=(widget, label),
                                 help=f"a whole number from {low:,} to {maxima[key]:,}")
        value = parse_whole(text)
        if value is None:  # text the callback did not see, e.g. set through the session state
            good = st.session_state.get(f"{widget}__good", str(defaults[key]))
            st.session_state[f"{widget}__note"] = (f"**{label}**: “{text.strip()}” is not a whole number; "
                                                   f"{good} is used.")
            value = parse_whole(good)
        if (problem := range_problem(label, value, low, maxima[key])) is not None:
            problems.append(problem)
        else:
            st.session_state[f"{widget}__good"] = text.strip()
            values[key] = value
        if (note := st.session_state.pop(f"{widget}__note", None)) is not None:  # said once
            problems.append(note)
    for problem in problems:
        st.error(problem, icon=":material/error:")
    return values if len(values) == len(fields) else None
