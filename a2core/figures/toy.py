"""The Learn page's toy, drawn and recomputed in the browser: θ and ρ sliders, X, softmax(B), G, softmax(V), Z
and the bilinear pooling view, live while a slider moves.

Pure functions, plain numbers in, JSON-ready dicts out. The scene comes from
:func:`a2core.lessons.toy.toy_scene` (X, channels, defaults, slider range); the drawing and the
arithmetic are ``web/toy.js``, one source for the app (``st.components.v2``, ``app/views/learn.py``)
and notebooks (:class:`ToyView`, whose ``_repr_html_`` embeds the same script):

    from a2core.lessons.toy import toy_scene
    from a2core.figures.toy import ToyView, toy_data
    ToyView(toy_data(toy_scene()))          # in a notebook cell: the sliders and every figure

The browser computes in float64 what :func:`a2core.lessons.toy.toy_steps` (``dtype=torch.float64``)
computes, and writes each drawn tensor in a ``data-values`` attribute (row-major JSON), so a test
reads back exactly what is drawn. The colours are the server's colour tables (``Greys`` for X,
``Viridis`` for the rest, as the plotly figures had them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from . import web
from .lens import color_table

#: plotly colour scales of the toy's figures: X in greys (0 = black, 1 = white), the weights in Viridis.
COLORSCALES = {"x": "Greys", "maps": "Viridis"}
#: how many bilinear terms a_j b̄_jᵀ the bilinear pooling view shows (the largest, a2core.lessons.toy.strongest_terms).
TOP_TERMS = 3


def toy_weights(state, scene: Mapping) -> dict:
    """The browser's toy state ``{"n", "theta", "rho"}`` made safe: n one of the scene's choices, θ and ρ
    (n, channels) finite numbers clipped to the slider range and put on its step. Anything else (None, a
    wrong shape, text) gives the defaults of the first choice of n."""
    lo, hi = scene["range"]
    step = scene["step"]
    channels = len(scene["channels"])
    try:
        n = int(state["n"])
        if n not in scene["choices"]:
            raise ValueError(n)
        weights = {"n": n}
        for name in ("theta", "rho"):
            rows = [[float(v) for v in row] for row in state[name]]
            if len(rows) != n or any(len(row) != channels for row in rows):
                raise ValueError(name)
            if not all(math.isfinite(v) for row in rows for v in row):
                raise ValueError(name)
            weights[name] = [[min(hi, max(lo, lo + round((v - lo) / step) * step)) for v in row] for row in rows]
        return weights
    except (KeyError, TypeError, ValueError, OverflowError):
        n = scene["choices"][0]
        defaults = scene["defaults"][str(n)]
        return {"n": n, "theta": defaults["theta"], "rho": defaults["rho"]}


def toy_data(scene: Mapping, weights=None) -> dict:
    """Everything ``toy.js`` draws: the scene, the colour tables, and the weights it starts from (``weights``,
    the state the browser last sent, through :func:`toy_weights`; the defaults when None).

    The browser takes ``weights`` only when the view is first drawn; afterwards its own sliders lead and a
    rerun with the weights they sent changes nothing on screen.
    """
    return {
        **scene,
        "weights": toy_weights(weights, scene),
        "colors": {name: color_table(scale) for name, scale in COLORSCALES.items()},
        "top_terms": TOP_TERMS,
    }


class ToyView(web.NotebookView):
    """The toy in a notebook: ``ToyView(toy_data(toy_scene()))`` as a cell's last line draws its sliders and
    figures, recomputed in the page as the sliders move (the same ``toy.js`` as the app's component)."""

    view = "toy"
