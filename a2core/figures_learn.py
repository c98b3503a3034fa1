"""Figures of the Learn page: tensors as heatmaps, bilinear pooling, the cost of the two orders.

Pure functions from tensors/arrays to plotly figures, so the same pictures
work in a notebook or on slides:

    from a2core.toy import toy_steps, default_theta, default_rho
    steps = toy_steps(default_theta(2), default_rho(2))
    maps_grid(steps.as_maps(steps.gather), titles=["b̄₁", "b̄₂"]).show()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .cost import OrderCost

#: one colour per computation order, used by every chart that compares them.
ORDER_COLOURS = {"gather_first": "#1b9e77", "pairwise": "#d95f02"}
ORDER_LABELS = {"gather_first": "gather first: (A·softmax(B)ᵀ)·softmax(V)", "pairwise": "pairwise: A·(softmax(B)ᵀ·softmax(V))"}
_FONT = dict(size=16)  # readable on a class projector


def _array(t) -> np.ndarray:
    if hasattr(t, "detach"):
        t = t.detach().cpu().numpy()
    return np.asarray(t, dtype=np.float64)


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
    z = _array(matrix)
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
) -> go.Figure:
    """k maps (k, h, w) as a grid of square heatmaps, e.g. the channels of X or the n gathering maps.

    ``shared_scale`` gives all maps one colour range (and one colour bar) so they compare;
    ``zmid`` centres a diverging scale (e.g. 0 for signed activations).
    """
    z = _array(maps)
    if z.ndim != 3:
        raise ValueError(f"expected maps of shape (k, h, w), got {z.shape}")
    k = z.shape[0]
    columns = max(1, min(columns, k))
    rows = -(-k // columns)
    titles = list(titles) if titles is not None else [str(i + 1) for i in range(k)]
    fig = make_subplots(
        rows=rows, cols=columns, subplot_titles=titles, horizontal_spacing=0.03, vertical_spacing=0.3 / rows
    )
    lo = float(z.min()) if zmin is None else zmin
    hi = float(z.max()) if zmax is None else zmax
    for i in range(k):
        fig.add_trace(
            go.Heatmap(
                z=z[i],
                colorscale=colorscale,
                zmin=lo if shared_scale else None,
                zmax=hi if shared_scale else None,
                zmid=zmid if not shared_scale else None,
                showscale=shared_scale and i == 0,
                texttemplate="%{z:.2f}" if show_values else None,
                hovertemplate=f"{titles[i]}<br>row %{{y}}, col %{{x}}: %{{z:.4f}}<extra></extra>",
            ),
            row=i // columns + 1,
            col=i % columns + 1,
        )
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False)
    fig.update_xaxes(showticklabels=False, constrain="domain")
    for axis in range(2, k + 1):  # keep every map square
        fig.update_yaxes(scaleanchor=f"x{axis}", row=(axis - 1) // columns + 1, col=(axis - 1) % columns + 1)
    fig.update_layout(
        font=_FONT, height=rows * cell_px + 60, margin=dict(l=10, r=10, t=40, b=10), showlegend=False
    )
    fig.update_annotations(font_size=14)
    return fig


def bilinear_figure(a, gather, positions: Sequence[int], labels: Sequence[str] | None = None) -> go.Figure:
    """Bilinear pooling, term by term: a few outer products a_j b̄_jᵀ and their sum over all j, G.

    a: (m, L); gather: (n, L) the softmaxed gathering maps; positions: the j to show.
    """
    a_, b_ = _array(a), _array(gather)
    terms = [np.outer(a_[:, j], b_[:, j]) for j in positions]
    total = a_ @ b_.T
    titles = [f"a<sub>{j}</sub> b̄<sub>{j}</sub>ᵀ" for j in positions] + ["Σ<sub>j</sub> a<sub>j</sub> b̄<sub>j</sub>ᵀ = G"]
    fig = make_subplots(rows=1, cols=len(terms) + 1, subplot_titles=titles, horizontal_spacing=0.04)
    hi = float(total.max())
    m, n = total.shape
    y = list(labels) if labels is not None else [str(i + 1) for i in range(m)]
    x = [f"g{i + 1}" for i in range(n)]
    for col, z in enumerate(terms + [total], start=1):
        fig.add_trace(
            go.Heatmap(
                z=z, x=x, y=y, zmin=0, zmax=hi, colorscale="Viridis", showscale=col == len(terms) + 1,
                texttemplate="%{z:.2f}", hovertemplate="%{y} · %{x}: %{z:.4f}<extra></extra>",
            ),
            row=1,
            col=col,
        )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    fig.update_layout(font=_FONT, height=120 + 45 * m, margin=dict(l=10, r=10, t=50, b=10))
    fig.update_annotations(font_size=15)
    return fig


def orders_figure(costs: Mapping[str, OrderCost], title: str = "") -> go.Figure:
    """Attention state (bytes) and FLOPs of the orders side by side, on log axes."""
    orders = [o for o in ORDER_COLOURS if o in costs] + [o for o in costs if o not in ORDER_COLOURS]
    fig = make_subplots(rows=1, cols=2, subplot_titles=["attention state (bytes)", "FLOPs of the products"])
    for col, field in ((1, "attention_bytes"), (2, "flops")):
        values = [getattr(costs[o], field) for o in orders]
        fig.add_trace(
            go.Bar(
                x=[o.replace("_", " ") for o in orders],
                y=values,
                marker_color=[ORDER_COLOURS.get(o, "#7570b3") for o in orders],
                text=[human_bytes(v) if field == "attention_bytes" else human_count(v) for v in values],
                textposition="outside",
                cliponaxis=False,
                showlegend=False,
            ),
            row=1,
            col=col,
        )
    fig.update_yaxes(type="log")
    fig.update_layout(title=title, font=_FONT, height=380, margin=dict(l=10, r=10, t=70, b=10))
    return fig


def measured_figure(rows: Sequence[Mapping[str, float | str]]) -> go.Figure:
    """Measured time (ms) and largest intermediate (bytes) per order; rows have order, time_ms, peak_bytes."""
    orders = [str(r["order"]) for r in rows]
    fig = make_subplots(rows=1, cols=2, subplot_titles=["time of one forward (ms)", "largest tensor allocated (bytes)"])
    for col, field in ((1, "time_ms"), (2, "peak_bytes")):
        values = [float(r[field]) for r in rows]
        fig.add_trace(
            go.Bar(
                x=[o.replace("_", " ") for o in orders],
                y=values,
                marker_color=[ORDER_COLOURS.get(o, "#7570b3") for o in orders],
                text=[f"{v:.2f} ms" if field == "time_ms" else human_bytes(v) for v in values],
                textposition="outside",
                cliponaxis=False,
                showlegend=False,
            ),
            row=1,
            col=col,
        )
    fig.update_layout(font=_FONT, height=360, margin=dict(l=10, r=10, t=60, b=10))
    return fig


def human_bytes(n: float) -> str:
    """1048576 → '1.0 MiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def human_count(n: float) -> str:
    """2.5e9 → '2.50 G'."""
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n:.0f}"
