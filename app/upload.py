"""An uploaded picture, checked once per upload: decoded at the size the app needs, its metadata read, kept clean.

The upload check is the only place the user's file is parsed (:func:`a2core.images.decode`): what it
keeps, per session and per uploader, is the upright RGB picture re-encoded as a PNG with no metadata
(sides about :data:`a2core.images.DRAFT_SIDE` px at most), and the pages hand those bytes to the
cached model runs. So a damaged EXIF block is met once, here, and a 250 kB file that decodes to
8000 × 8000 pixels costs its full size once, for the time of this check.
"""

from __future__ import annotations

import ctypes
import io
import threading
from dataclasses import dataclass

import streamlit as st

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
    """The user's text as a message repeats it: at most ``limit`` characters, as code (no markdown, no links)."""
    text = text if len(text) <= limit else text[:limit] + "…"
    return "`" + text.replace("`", "'") + "`"


#: How many uploads may be decoded at full size at once, server-wide: a class uploading together
#: queues here instead of holding 30 full-size pictures at once (the largest accepted is ~250 MB decoded).
FULL_DECODES = 2
# One per server process by nature: it bounds the process's memory, whichever session decodes.
_DECODES = threading.BoundedSemaphore(FULL_DECODES)


@dataclass(frozen=True)
class Checked:
    """The outcome of one upload's check: the clean picture (PNG bytes) or the reason it cannot be used,
    and notes the page shows with a usable picture."""

    data: bytes | None
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
    buffer = io.BytesIO()
    # Lossless, fast: the pages decode it again for each model run, and it is at most ~1 MB.
    decoded.image.save(buffer, format="PNG", compress_level=1)
    return Checked(buffer.getvalue(), None, decoded.notes)


def _give_back_freed_memory() -> None:
    # The full-size pixels were allocated in this session's thread, in 16 MB blocks (Pillow) that glibc serves
    # from the thread's own arena and keeps there once freed: thirty students' threads would each keep a
    # picture's worth. malloc_trim returns what is free in every arena to the system (glibc only; a few ms).
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def checked(key: str, upload) -> Checked:
    """The check of ``upload`` (a Streamlit ``UploadedFile``), made once per upload and kept in the session
    under ``key``: a new upload replaces the one before, so a session holds one picture per uploader."""
    memo = st.session_state.get(key)
    if memo is None or memo[0] != upload.file_id:
        st.session_state[key] = memo = (upload.file_id, check(upload.getvalue()))
    return memo[1]
