"""An uploaded picture, checked once per upload: decoded at the size the app needs, its metadata read, kept clean.

The upload check is the only place the user's file is parsed (:func:`a2core.images.decode`): what it
keeps, per session and per uploader, is the upright RGB picture with no metadata (sides about
:data:`a2core.images.DRAFT_SIDE` px at most), decoded once, as a :class:`Picture` named by the
file's digest; the pages hand it to the cached model runs, which key their caches on that digest
(:data:`HASH`). So a damaged EXIF block is met once, here, a 250 kB file that decodes to
8000 × 8000 pixels costs its full size once, for the time of this check, and no page decodes the
photo again.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import threading
import unicodedata
from dataclasses import dataclass

import streamlit as st
from PIL import Image
from streamlit.elements.widgets import camera_input as _camera_widget
from streamlit.elements.widgets import file_uploader as _uploader_widget
from streamlit.errors import StreamlitAPIException

from a2core.images import ImageError, decode

#: The photo uploader's types: its extensions and their MIME types. With a MIME type among them Streamlit
#: leaves the file name unchecked on the server (the browser's file picker still filters by both), so a file
#: of another type sent by hand gets this app's message, from its content, instead of Streamlit's exception.
PHOTO_MIME = ("image/jpeg", "image/png", "image/webp", "image/bmp", "image/gif")
#: The most characters of a user's text (a file name, a model name) a message repeats.
ECHO_CHARS = 80


def photo_types(extensions) -> list[str]:
    return [*extensions, *PHOTO_MIME]


def shown(text: str, limit: int = ECHO_CHARS) -> str:
    """The user's text as a message repeats it: at most ``limit`` characters, as code (no markdown, no links),
    control characters (a null byte in a hand-made file name) as ``�``."""
    text = text if len(text) <= limit else text[:limit] + "…"
    return "`" + printable(text).replace("`", "'") + "`"


def printable(text: str) -> str:
    """``text`` with its control characters (a null byte in a hand-made file name) as ``�``."""
    return "".join("\ufffd" if unicodedata.category(c) == "Cc" else c for c in text)


def _names_are_text(check):
    """Streamlit's file-name check of an upload, made to let the file through when it refuses the name."""

    @functools.wraps(check)
    def lenient(filename: str, allowed_types) -> None:
        try:
            check(filename, allowed_types)
        except StreamlitAPIException:
            pass  # the page checks the content and repeats the name as text (shown)

    lenient.a2lens_names_are_text = True
    return lenient


def trust_content_not_names() -> None:
    """Let an upload whose name Streamlit refuses reach the page, which checks what the file holds (idempotent).

    A browser's picker offers only the widget's types, but a file sent by hand over the websocket may
    carry any name: the camera's (Streamlit allows it ``.jpg`` only) or one with a null byte (refused by
    every uploader). Streamlit checks the name when it reads the widget's value, which it first does
    before the page runs (to see whether the widget changed), so its ``StreamlitAPIException: Invalid
    file extension`` stood in place of the whole page, and again on every rerun while the file stayed.
    The name proves nothing either way; :func:`check` (and, for weights, ``app.sources.own``) reads the
    content and answers with a message, and the app goes on.
    """
    for module in (_camera_widget, _uploader_widget):
        check = getattr(module, "enforce_filename_restriction", None)
        if check is not None and not getattr(check, "a2lens_names_are_text", False):
            module.enforce_filename_restriction = _names_are_text(check)


trust_content_not_names()


#: How many uploads may be decoded at full size at once, server-wide: a class uploading together
#: queues here instead of holding 30 full-size pictures at once (the largest accepted is ~250 MB decoded).
FULL_DECODES = 2
# One per server process by nature: it bounds the process's memory, whichever session decodes.
_DECODES = threading.BoundedSemaphore(FULL_DECODES)


@dataclass(frozen=True, eq=False)
class Picture:
    """A photo as every page uses it: ``image``, upright 8-bit RGB with no metadata, at most about
    :data:`a2core.images.DRAFT_SIDE` px on its shorter side (:func:`a2core.images.decode`), and
    ``digest``, the SHA-256 of the file it was decoded from, which names it in the caches.

    Shared read-only: by the pages of a session, and by every session through the caches.
    """

    image: Image.Image
    digest: str


#: ``hash_funcs`` of a cached function that takes a :class:`Picture`: the cache is keyed on its digest, so
#: neither its pixels nor a file are hashed (or decoded) again on a rerun.
HASH = {Picture: lambda picture: picture.digest}


def picture(data: bytes) -> Picture:
    """Decode ``data`` → :class:`Picture`, or raise :class:`ImageError` (no memory bound: for the server's own files)."""
    return Picture(decode(data).image, hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class Checked:
    """The outcome of one upload's check: the picture or the reason it cannot be used, and notes the page
    shows with a usable picture."""

    picture: Picture | None
    error: str | None = None
    notes: tuple[str, ...] = ()


def check(data: bytes) -> Checked:
    """Decode ``data`` (at most :data:`FULL_DECODES` at once in this process) → :class:`Checked`."""
    with _DECODES:
        try:
            decoded = decode(data)
        except ImageError as error:
            return Checked(None, str(error))
        finally:
            _give_back_freed_memory()
    # The decoded picture itself is kept (≤ ~1 MB of pixels): a re-encoded copy cost a PNG encode here and a
    # decode in every cached model run, for every new photo.
    return Checked(Picture(decoded.image, hashlib.sha256(data).hexdigest()), None, decoded.notes)


def _give_back_freed_memory() -> None:
    # The full-size pixels were allocated in this session's thread, in 16 MB blocks (Pillow) that glibc serves
    # from the thread's own arena and keeps there once freed: thirty students' threads would each keep a
    # picture's worth. malloc_trim returns what is free in every arena to the system (glibc only; a few ms).
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def release(upload) -> None:
    """Free the server's copy of ``upload`` (a Streamlit ``UploadedFile``) once its picture is kept.

    Streamlit frees a file when the browser deletes it (its ✕, or a file put in its place) or when the session
    ends; a file whose uploader the page has replaced by an empty one would stay until then. No-op without a
    server (``AppTest``).
    """
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is not None and Runtime.exists():
        Runtime.instance().uploaded_file_mgr.remove_file(ctx.session_id, upload.file_id)


def checked(key: str, upload) -> Checked:
    """The check of ``upload`` (a Streamlit ``UploadedFile``), made once per upload and kept in the session
    under ``key``: a new upload replaces the one before, so a session holds one picture per uploader."""
    memo = st.session_state.get(key)
    if memo is None or memo[0] != upload.file_id:
        st.session_state[key] = memo = (upload.file_id, check(upload.getvalue()))
    return memo[1]
