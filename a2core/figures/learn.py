"""Figures of the Learn page: tensors as heatmaps, the cost of the two orders.

Pure functions from tensors/arrays to plotly figures, so the same pictures
work in a notebook or on slides:

    from a2core.lessons.toy import toy_steps, default_theta, default_rho
    steps = toy_steps(default_theta(2), default_rho(2))
    maps_grid(steps.as_maps(steps.gather), titles=["b̄₁", "b̄₂"]).show()

The toy's own view (sliders, and bilinear pooling term by term) is drawn in the browser: :mod:`a2core.figures.toy`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..lessons.cost import OrderCost
from ..probe.analysis import as_array

#: one colour per computation order, used by every chart that compares them.
ORDER_COLOURS = {"gather_first": "#1b9e77", "pairwise": "#d95f02"}
ORDER_LABELS = {"gather_first": "gather first: (A·softmax(B)ᵀ)·softmax(V)", "pairwise": "pairwise: A·(softmax(B)ᵀ·softmax(V))"}
_FONT = dict(size=16)  # readable on a class projector


def matrix_heatmap(
    matrix,
    title: str = "",
    x_labels: Sequence[str] | None = None,
    y_labels: Sequence[str] | None = None,
    colorscale: str = "Viridis",
    show_values: bool = True,
    zmin: float | None = None,
    zmax: float | None = None,
    height: int | None = None,
) -> go.Figure:
    """A (rows, cols) matrix as a heatmap, first row at the top, values written in the cells when asked."""
    z = as_array(matrix)
    if z.ndim != 2:
        raise ValueError(f"expected a 2-D matrix, got shape {z.shape}")
    rows, cols = z.shape
    heat = go.Heatmap(
        z=z,
        x=list(x_labels) if x_labels is not None else None,
        y=list(y_labels) if y_labels is not None else None,
        colorscale=colorscale,
        zmin=zmin,
        zmax=zmax,
        texttemplate="%{z:.2f}" if show_values else None,
        hovertemplate="row %{y}, col %{x}: %{z:.4f}<extra></extra>",
    )
    fig = go.Figure(heat)
    fig.update_yaxes(autorange="reversed", type="category" if y_labels is not None else None)
    fig.update_xaxes(type="category" if x_labels is not None else None)
    fig.update_layout(
        title=title,
        font=_FONT,
        height=height or max(220, 60 + 42 * rows),
        margin=dict(l=10, r=10, t=50 if title else 10, b=10),
    )
    return fig


def maps_grid(
    maps,
    titles: Sequence[str] | None = None,
    columns: int = 4,
    colorscale: str = "Viridis",
    shared_scale: bool = True,
    show_values: bool = False,
    zmin: float | None = None,
    zmax: float | None = None,
    zmid: float | None = None,
    cell_px: int = 170,
    text_size: int = 12,
) -> go.Figure:
    """k maps (k, h, w) as a grid of square heatmaps, e.g. the channels of X or the n gathering maps.

    ``shared_scale`` gives all maps one colour range and one colour bar so they compare;
    ``zmid`` centres that range (e.g. 0 for signed activations: one symmetric diverging scale).
    Without ``shared_scale`` each map has its own range and no colour bar.
    Every tile stays square whatever width the page gives the figure; ``cell_px`` is its height.
    ``text_size`` (px) is the font of the values written in the cells with ``show_values``.
    """
    z = as_array(maps)
    if z.ndim != 3:
        raise ValueError(f"expected maps of shape (k, h, w), got {z.shape}")
    k = z.shape[0]
    columns = max(1, min(columns, k))
    rows = -(-k // columns)
    titles = list(titles) if titles is not None else [str(i + 1) for i in range(k)]
    fig = make_subplots(
        rows=rows, cols=columns, subplot_titles=titles, horizontal_spacing=0.04, vertical_spacing=0.12 / rows
    )
    lo = float(z.min()) if zmin is None else zmin
    hi = float(z.max()) if zmax is None else zmax
    if zmid is not None and zmin is None and zmax is None:
        bound = max(abs(lo - zmid), abs(hi - zmid)) or 1.0
        lo, hi = zmid - bound, zmid + bound
    for i in range(k):
        fig.add_trace(
            go.Heatmap(
                z=z[i],
                colorscale=colorscale,
                zmin=lo if shared_scale else None,
                zmax=hi if shared_scale else None,
                zmid=zmid if not shared_scale else None,
                showscale=shared_scale and i == 0,
                colorbar=dict(thickness=12, len=min(1.0, 0.9 * cell_px * rows / (cell_px * rows + 40))),
                texttemplate="%{z:.2f}" if show_values else None,
                textfont=dict(size=text_size),
                hovertemplate=f"{titles[i]}<br>row %{{y}}, col %{{x}}: %{{z:.4f}}<extra></extra>",
            ),
            row=i // columns + 1,
            col=i % columns + 1,
        )
    # No ticks, grid or zero lines: a tile is a picture of the map. Each y axis is tied to its own
    # x axis and both shrink to their domain, so a tile stays square instead of becoming a strip.
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, constrain="domain", constraintoward="top", autorange="reversed")
    for axis in range(1, k + 1):
        suffix = "" if axis == 1 else str(axis)
        fig.layout[f"yaxis{suffix}"].update(scaleanchor=f"x{suffix}", scaleratio=1)
    fig.update_layout(
        font=_FONT, height=rows * cell_px + 40, margin=dict(l=5, r=5, t=30, b=5), showlegend=False,
        plot_bgcolor="rgba(0,0,0,0)",
    )
    fig.update_annotations(font_size=14)
    return fig


def log_ticks(values: Sequence[float], base: int, label) -> dict:
    """Tick values and texts for a log axis over ``values``: the powers of ``base`` (1024 for bytes,
    1000 for counts) around them, written by ``label`` so the axis speaks the units of the bars."""
    positive = [float(v) for v in values if v > 0] or [1.0]
    lo = math.floor(math.log(min(positive), base))
    hi = math.ceil(math.log(max(positive), base))
    step = max(1, -(-(hi - lo) // 6))  # at most ~7 ticks however wide the range
    powers = [base**e for e in range(lo, hi + 1, step)]
    return dict(tickvals=[float(p) for p in powers], ticktext=[label(p) for p in powers])


def _order_bars(orders: Sequence[str], values: Sequence[float], text: Sequence[str]) -> go.Bar:
    # One bar per order in its colour, its value written above it (never clipped at the plot's top).
    return go.Bar(
        x=[o.replace("_", " ") for o in orders],
        y=list(values),
        marker_color=[ORDER_COLOURS.get(o, "#7570b3") for o in orders],
        text=list(text),
        textposition="outside",
        cliponaxis=False,
        showlegend=False,
    )


def orders_figure(costs: Mapping[str, OrderCost], title: str = "") -> go.Figure:
    """Attention state (bytes) and FLOPs of the orders side by side, on log axes labelled in bytes and FLOPs."""
    orders = [o for o in ORDER_COLOURS if o in costs] + [o for o in costs if o not in ORDER_COLOURS]
    fig = make_subplots(rows=1, cols=2, subplot_titles=["attention state (bytes)", "FLOPs of the products"])
    for col, field, base, label in ((1, "attention_bytes", 1024, human_bytes), (2, "flops", 1000, human_count)):
        # floats: the counts can exceed what a C long (or JSON's safe integers) holds
        values = [float(getattr(costs[o], field)) for o in orders]
        fig.add_trace(_order_bars(orders, values, [label(v) for v in values]), row=1, col=col)
        fig.update_yaxes(type="log", **log_ticks(values, base, lambda v: label(v, digits=0)), row=1, col=col)
    fig.update_layout(title=title, font=_FONT, height=380, margin=dict(l=10, r=10, t=70, b=10))
    return fig


def measured_figure(rows: Sequence[Mapping[str, float | str]]) -> go.Figure:
    """Measured time (ms) and largest intermediate (bytes) per order; rows have order, time_ms, peak_bytes."""
    orders = [str(r["order"]) for r in rows]
    fig = make_subplots(rows=1, cols=2, subplot_titles=["time of one forward (ms)", "largest tensor allocated (bytes)"])
    for col, field in ((1, "time_ms"), (2, "peak_bytes")):
        values = [float(r[field]) for r in rows]
        text = [f"{v:.2f} ms" if field == "time_ms" else human_bytes(v) for v in values]
        fig.add_trace(_order_bars(orders, values, text), row=1, col=col)
    fig.update_layout(font=_FONT, height=360, margin=dict(l=10, r=10, t=60, b=10))
    return fig


def pixelated(image: np.ndarray, width: int) -> np.ndarray:
    """An (S, S, 3) uint8 image enlarged to about ``width`` px by repeating each pixel, never smoothed:
    the model sees pixels, and the pages show them as the plotly maps do (a browser would blur a
    32-px image stretched to 160 px). The factor is a whole number, at least 1."""
    factor = max(1, round(width / image.shape[1]))
    return np.repeat(np.repeat(np.asarray(image), factor, axis=0), factor, axis=1)


def human_bytes(n: float, digits: int = 1) -> str:
    """1048576 → '1.0 MiB'; any size, up to YiB and then in powers of ten (2.5e+30 B)."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"):
        if abs(value) < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.{digits}f} {unit}"
        value /= 1024
    return f"{float(n):.{max(digits, 1)}e} B"


def human_count(n: float, digits: int = 2) -> str:
    """2.5e9 → '2.50 G'; counts beyond peta (10¹⁵) in powers of ten (3.0e+21)."""
    value = float(n)
    if abs(value) >= 1e18:
        return f"{value:.{max(digits, 1)}e}"
    for unit, scale in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.{digits}f} {unit}"
    return f"{value:.0f}"
