"""Boxes on the photo, on the Python side: the ones the user draws on the lens, and a sample's own object boxes.

The lens scores boxes in the browser (``a2core/figures/web/lens.js``); what a user draws comes back here once per
finished box or clear (:func:`app.lens.lens`) and is kept in the session for its photo (by the picture's digest,
:class:`app.upload.Picture`: the same photo on Explore and Compare has the same boxes, another photo has none), so the URL
(``?boxes=``, :mod:`app.urlstate`), a reload and the ``.npz`` download follow it. A photo sample that comes from
ImageNet's validation set has ImageNet's boxes in ``boxes.csv`` beside the samples
(``assets/samples/imagenette/boxes.csv``, :func:`a2core.metrics.boxes.write_sample_boxes`): a toggle draws them on
the lens, scored like drawn ones. Layout and session only: the boxes are checked by
:func:`a2core.metrics.boxes.check_view_boxes`, placed on the view by :func:`~a2core.metrics.boxes.view_boxes`.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from a2core.metrics.boxes import BoxesError, read_boxes, view_boxes
from app import urlstate

#: The session's drawn boxes: {the photo's digest: [[x0, y0, x1, y1], …]}, the last few photos.
_DRAWN_KEY = "a2lens_boxes"
#: The shown sample's own boxes while its toggle is on: (its digest, (K, 4) list), else None.
_OBJECT_KEY = "a2lens_object_boxes"
PHOTOS_KEPT = 8
#: The file beside a folder of samples that lists their boxes (boxes.csv's columns).
SAMPLE_BOXES = "boxes.csv"


def photo_id(data: bytes) -> str:
    """The digest that names a photo's file: the same as :attr:`app.upload.Picture.digest` of its picture."""
    return hashlib.sha256(data).hexdigest()


def drawn(photo: str) -> list[list[float]]:
    """The boxes drawn on the photo ``photo`` (its digest) in this session (fractions of the view), [] when none."""
    return st.session_state.get(_DRAWN_KEY, {}).get(photo, [])


def store(photo: str, boxes) -> bool:
    """Keep ``boxes`` for the photo ``photo`` (:func:`photo_id`) → whether they were valid (else ignored: they
    come from a browser or a link, and a tampered list must not stop the page)."""
    try:
        clean = urlstate.rounded_boxes(boxes)
    except ValueError:
        return False
    kept = st.session_state.setdefault(_DRAWN_KEY, {})
    kept.pop(photo, None)
    if clean:
        kept[photo] = clean  # last in: the most recent photo
        while len(kept) > PHOTOS_KEPT:
            kept.pop(next(iter(kept)))
    return True


def restore(photo: str) -> None:
    """A link's ``?boxes=`` for the photo it opens on (its digest; the session's first run only: app.urlstate)."""
    urlstate.restore_boxes(lambda boxes: store(photo, boxes))


def url_value(photo: str | None) -> str | None:
    """``?boxes=`` for the photo shown (its digest): its drawn boxes, None (the parameter leaves the URL) when it
    has none."""
    return urlstate.format_boxes(drawn(photo)) if photo is not None else None


@functools.cache
def _sample_lists(folder: str) -> dict[tuple[str, str], list]:
    path = Path(folder) / SAMPLE_BOXES
    try:
        return read_boxes(path) if path.is_file() else {}
    except (OSError, BoxesError):  # a broken shipped file: no boxes to show, the samples still work
        return {}


def sample_boxes(path: Path) -> np.ndarray | None:
    """(K, 4) object boxes of the sample photo at ``path`` on the model's view, or None when it has none listed."""
    rows = _sample_lists(str(path.parent.parent)).get((path.parent.name, path.name))
    if not rows:
        return None
    with Image.open(path) as image:
        boxes = view_boxes(rows, image.size)
    return boxes if len(boxes) else None


def sample_toggle(page: str, sample: Path | None) -> None:
    """In the sidebar, when the sample ``sample`` (None: a photo is shown) has object boxes: a toggle that draws
    them on the lens. Remembered for its photo: :func:`object_boxes`."""
    known = sample_boxes(sample) if sample is not None else None
    st.session_state[_OBJECT_KEY] = None
    if known is None:
        return
    with st.sidebar:
        on = st.toggle("Show the object's boxes", key=f"{page}_object_boxes",
                       help=f"ImageNet's {len(known)} box{'es' if len(known) > 1 else ''} around the object in this "
                       "photo (solid yellow), scored on every map like boxes you draw.")
    if on:
        st.session_state[_OBJECT_KEY] = (photo_id(sample.read_bytes()), known.tolist())


def object_boxes(photo: str) -> list[list[float]]:
    """The object boxes the toggle shows on this photo (its digest), [] when it is off or the photo has none."""
    shown = st.session_state.get(_OBJECT_KEY)
    return shown[1] if shown is not None and shown[0] == photo else []


def npz_arrays(photo: str, sample: Path | None) -> dict[str, np.ndarray]:
    """What the ``.npz`` download adds: ``boxes`` (K, 4) drawn on this photo (K may be 0) and, for a sample with
    them, ``object_boxes`` (K', 4), both x0, y0, x1, y1 as fractions of the model's view."""
    arrays = {"boxes": np.array(drawn(photo), dtype=np.float64).reshape(-1, 4)}
    known = sample_boxes(sample) if sample is not None else None
    if known is not None:
        arrays["object_boxes"] = known
    return arrays
