"""The instant lens: the data of the views that follow the query position, drawn in the browser.

Pure functions, numpy in, JSON-ready dicts out, in the conventions of :mod:`a2core.figures`
(image (S, S, 3) uint8, maps (n, h, w) or (h, w) on the feature map). The drawing is
``web/lens.js``, one source for the app (``st.components.v2``, ``app/lens.py``) and notebooks
(:class:`LensView`, whose ``_repr_html_`` embeds the same script):

    from a2core.figures import lens
    cards = [lens.a2_card(block.arrays["gather"], block.arrays["distribute"], title="A²")]
    lens.LensView(lens.lens_data(result.image, cards, layout="explore"))     # in a notebook cell

Each card is one attention module and what its design computes; the browser redraws the position-dependent part
for the hovered position (A²'s implied row Σᵢ vᵢⱼ · gathering map i and vⱼ, Non-local's attention row, CC-Net's
crosses and their two-pass reach) without asking the server. Maps travel as base64 of float32, the numbers
a2core computed, so the browser's values equal a2core's; Non-local's L × L matrix as float16 (relative error ≤
2⁻¹¹, half the bytes: 0.4 MB at 20×20 instead of 0.85 MB).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence

import numpy as np

from ..metrics.boxes import check_view_boxes
from . import web
from .labels import class_label
from .overlay import HIGHLIGHT, MUTED, colormap, image_source

LAYOUTS = ("explore", "compare")


def pack(array, dtype: str = "float32") -> dict:
    """An array as ``{"dtype", "shape", "data"}``, ``data`` the base64 of its little-endian values, row-major."""
    if dtype not in ("float32", "float16"):
        raise ValueError(f"dtype must be float32 or float16, got {dtype!r}")
    values = np.ascontiguousarray(np.asarray(array), dtype=np.dtype(dtype).newbyteorder("<"))
    return {"dtype": dtype, "shape": list(values.shape), "data": base64.b64encode(values.tobytes()).decode("ascii")}


def unpack(packed: dict) -> np.ndarray:
    """The array :func:`pack` packed (as its dtype)."""
    raw = base64.b64decode(packed["data"])
    return np.frombuffer(raw, np.dtype(packed["dtype"]).newbyteorder("<")).reshape(packed["shape"])


def color_table(colorscale: str) -> str:
    """The 256 colours of a plotly colour scale as one hex string (``rrggbb`` × 256), as the server colours maps."""
    return colormap(colorscale).tobytes().hex()


def _card(kind: str, title: str | None, prediction, note, caption) -> dict:
    card = {"kind": kind, "title": title, "note": note, "caption": caption}
    if prediction is not None:
        card["prediction"] = [[class_label(name), float(p)] for name, p in prediction]
    return card


def a2_card(gather, distribute, *, title: str | None = None, prediction: Sequence[tuple[str, float]] | None = None,
            note: str | None = None, caption: str | None = None,
            map_title: str = "What {cell} receives") -> dict:
    """A double attention block: gathering maps (n, h, w) and distribution weights (n, h, w).

    The browser draws, for the position's cell j, the implied attention Σᵢ vᵢⱼ gᵢ (column j of
    softmax(θ)ᵀ softmax(ρ); :func:`a2core.probe.analysis.implied_attention`), the bars of vⱼ and the
    gathering (and, on Explore, distribution) maps of the descriptors j uses most. ``{cell}`` in
    ``map_title`` becomes the cell.
    """
    gather, distribute = np.asarray(gather), np.asarray(distribute)
    if gather.ndim != 3 or gather.shape != distribute.shape:
        raise ValueError(f"gather and distribute must both be (n, h, w), got {gather.shape} and {distribute.shape}")
    n, h, w = gather.shape
    return _card("a2", title, prediction, note, caption) | {
        "shape": [h, w], "n": n, "gather": pack(gather), "distribute": pack(distribute), "label": "receives",
        "map_title": map_title,
    }


def nonlocal_card(attention, shape: tuple[int, int], *, title: str | None = None, prediction=None, note=None,
                  caption=None, map_title: str = "attention row of {cell}") -> dict:
    """A Non-local block: its (L, L) attention, row j the softmax over positions of query j."""
    attention = np.asarray(attention)
    h, w = shape
    if attention.shape != (h * w, h * w):
        raise ValueError(f"attention must be (L, L) with L = {h * w}, got {attention.shape}")
    return _card("nonlocal", title, prediction, note, caption) | {
        "shape": [h, w], "attention": pack(attention, "float16"), "label": "attention", "map_title": map_title}


def context_card(context, shape: tuple[int, int], *, title: str | None = None, prediction=None, note=None,
                 caption: str | None = "one context map for every query",
                 map_title: str = "global context map", label: str = "context weight") -> dict:
    """A GC block: its context map (L,), one softmax over positions shared by every query. Also any other
    map that is the same for every query, such as CBAM's spatial gate (with its own ``label``)."""
    context = np.asarray(context).reshape(-1)
    if context.size != shape[0] * shape[1]:
        raise ValueError(f"context must have {shape[0] * shape[1]} positions, got {context.size}")
    return _card("context", title, prediction, note, caption) | {
        "shape": list(shape), "context": pack(context), "label": label, "map_title": map_title}


def channel_card(weights, *, title: str | None = None, prediction=None, note=None,
                 caption: str | None = "one weight per channel, the same at every position",
                 bars_title: str = "channel weights s, sorted") -> dict:
    """A channel attention block (SE, ECA, GSoP): its weights (c,), drawn sorted, the top ones coloured."""
    weights = np.asarray(weights).reshape(-1)
    return _card("channel", title, prediction, note, caption) | {"channel": pack(weights), "bars_title": bars_title}


def crisscross_card(attention, shape: tuple[int, int], *, title: str | None = None, prediction=None, note=None,
                    caption: str | None = "each pass over a row and a column; two passes reach every position",
                    map_title: str = "where {cell} reads from in all passes") -> dict:
    """A criss-cross block: its passes' attention (R, L, L), row u zero off query u's cross (CCNet).

    Sent as the cross only, each pass's column weights (R, L, h) and row weights (R, L, w): the query itself
    sits in its row (the authors' code masks it out of the column), so the column's entry there is dropped and
    nothing is counted twice. The browser draws, for the hovered cell u, each pass's cross and the reach over
    all passes, row u of a⁽ᴿ⁾ ⋯ a⁽¹⁾ (:class:`a2core.blocks.CrissCrossMaps`'s ``reach``), from the crosses:
    O(L·(h + w)) numbers instead of Non-local's L².
    """
    attention = np.asarray(attention, dtype=np.float64)
    h, w = shape
    if attention.ndim != 3 or attention.shape[1:] != (h * w, h * w):
        raise ValueError(f"attention must be (R, L, L) with L = {h * w}, got {attention.shape}")
    passes = attention.shape[0]
    cross = attention.reshape(passes, h, w, h, w)
    column = np.einsum("rijgj->rijg", cross).copy()  # (R, h, w, h): query (i, j) over (g, j)
    row = np.einsum("rijiv->rijv", cross)  # (R, h, w, w): query (i, j) over (i, v)
    column[:, np.arange(h), :, np.arange(h)] = 0  # the query's own weight is its row's
    return _card("crisscross", title, prediction, note, caption) | {
        "shape": [h, w], "passes": passes, "column": pack(column.reshape(passes, h * w, h)),
        "row": pack(row.reshape(passes, h * w, w)), "label": "attention", "map_title": map_title}


#: The series' designs whose lens card is a spatial gate, the same for every query: kind → what it shows.
_GATES = {
    "CBAM": "spatial gate M_s (after the channel gate)",
    "TripletAttention": "H–W branch gate (pooled over channels)",
    "BAM": "1 + M: its gate σ(M_c + M_s), averaged over channels",
}


def plain_card(shape: tuple[int, int], *, title: str | None = None, prediction=None, note=None,
               caption: str | None = "no attention block: the baseline") -> dict:
    """A model without an attention block here: the photo and the query cell on an h × w grid."""
    return _card("plain", title, prediction, note, caption) | {"shape": list(shape), "label": "", "map_title": ""}


def block_card(block, **kwargs) -> dict:
    """The card of one module's maps as :mod:`a2core.probe` returns them (``kind``, ``arrays``, ``feature_size``)."""
    shape = tuple(block.feature_size[-2:])
    arrays = block.arrays
    if block.kind == "DoubleAttention":
        return a2_card(arrays["gather"], arrays["distribute"], **kwargs)
    if block.kind == "NonLocal":
        return nonlocal_card(arrays["attention"], shape, **kwargs)
    if block.kind == "GlobalContext":
        return context_card(arrays["context"], shape, **kwargs)
    if block.kind == "CrissCross":  # each pass's cross of the query and their reach, as Non-local's row
        return crisscross_card(arrays["attention"], shape, **kwargs)
    if block.kind in _GATES:
        return context_card(arrays["spatial_map"], shape, **{"map_title": _GATES[block.kind], "label": "gate",
                                                             "caption": "one gate per position, for every query",
                                                             **kwargs})
    if block.kind in ("SelectiveKernel", "SplitAttention"):  # weights (branches, c): the last branch's share
        weights = arrays["branch" if block.kind == "SelectiveKernel" else "radix"]
        what = "the dilated (≈5×5) kernel" if block.kind == "SelectiveKernel" else "split 2 of 2"
        return channel_card(weights[-1], **{"bars_title": f"per channel, the weight of {what}, sorted",
                                            "caption": "softmax over the branches per channel; the rest goes "
                                                       "to the others", **kwargs})
    if arrays.get("channel") is not None:  # SE, ECA, GSoP: weights per channel
        return channel_card(arrays["channel"], **kwargs)
    raise ValueError(f"no lens card for {block.kind}")


def lens_data(image: np.ndarray, cards: Sequence[dict], *, position: tuple[float, float] = (0.5, 0.5),
              colorscale: str = "Viridis", opacity: float = 0.6, layout: str = "compare", top: int = 3,
              map_px: int = 320, card_px: int = 240, tile_px: int = 110, boxes=(), object_boxes=()) -> dict:
    """Everything ``lens.js`` draws for one photo: its view, the cards, the colour scale, the pinned position.

    ``position`` is (y, x) as fractions of the image (the app's shared click); ``top`` descriptors per
    position are shown; ``map_px`` is the least side of the main map on Explore (it grows with the screen, up
    to 640 px), ``card_px`` the least width of a card on Compare (the cards share the width in even rows),
    ``tile_px`` a descriptor's tile on Explore. ``signature`` names everything but the position and the boxes
    (:func:`with_boxes`): the browser keeps its decoded arrays while it is unchanged.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    source, _ = image_source(image)
    data = {
        "layout": layout, "image": {"src": source, "size": int(image.shape[0])}, "colors": color_table(colorscale),
        "opacity": float(opacity), "highlight": HIGHLIGHT, "muted": MUTED, "top": int(top),
        "map_px": int(map_px), "card_px": int(card_px), "tile_px": int(tile_px), "cards": list(cards),
    }
    data["signature"] = hashlib.md5(json.dumps(data, sort_keys=True).encode()).hexdigest()
    data["position"] = [float(position[0]), float(position[1])]
    return with_boxes(data, boxes, object_boxes)


def with_boxes(data: dict, boxes=(), object_boxes=()) -> dict:
    """``data`` with the boxes ``lens.js`` draws and scores: ``boxes`` (K, 4), the user's own (drawn, from a link),
    which the browser may change and send back, and ``object_boxes`` (K', 4), the photo's known object boxes
    (a sample's ImageNet boxes), drawn apart and scored with them. Both (x0, y0, x1, y1) as fractions of the view,
    checked by :func:`a2core.metrics.boxes.check_view_boxes` (ValueError). Outside the signature: a box does not
    make the browser decode the maps again.
    """
    return {**data, "boxes": check_view_boxes(boxes).tolist(), "object_boxes": check_view_boxes(object_boxes).tolist()}


def payload_bytes(data: dict) -> int:
    """The size of ``data`` as JSON: what one render sends to the browser."""
    return len(json.dumps(data, separators=(",", ":")))


class LensView(web.NotebookView):
    """The lens in a notebook: ``LensView(lens_data(...))`` as a cell's last line draws it, hover and all.

    The same ``lens.js`` as the app's component; a click pins the position in the page only.
    """

    view = "lens"
