"""The photo that follows the user: an upload or camera photo taken on one page is the current image of every
page until the user picks a sample or removes it.

Each page has its own upload widget (Streamlit drops a widget's file when its page is left), so the photo
itself is kept in the session: its checked picture (:class:`app.upload.Picture`), its name, the page it came
from and what its check had to say. The widgets' ``on_change`` callbacks say when the user, not a page switch,
changed them.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

_KEY = "a2lens_photo"


@dataclass(frozen=True)
class Photo:
    """The current photo: ``picture`` (an :class:`app.upload.Picture`, already checked), the ``label`` the pages
    show, the ``page`` it was taken on and the ``notes`` of its check (a rotation, a reduced decode)."""

    picture: object
    label: str
    page: str
    notes: tuple[str, ...] = ()


def keep(photo: Photo) -> None:
    """Make ``photo`` the current image of every page."""
    st.session_state[_KEY] = photo


def forget() -> None:
    """Back to each page's sample: the user picked one, or removed the photo."""
    st.session_state.pop(_KEY, None)


def current() -> Photo | None:
    """The photo taken on any page, or None."""
    return st.session_state.get(_KEY)


def on_widget_change(widget: str) -> None:
    """``on_change`` of an upload or camera widget: a removed file gives the pages back their sample
    (a new file is kept by the page's run, once it is checked)."""
    if st.session_state.get(widget) is None:
        forget()
