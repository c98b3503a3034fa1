"""Figures of the Compare page: what each attention design of the zoo looks at, one image.

Pure functions of numpy arrays (one image, no batch), in the conventions of
:mod:`a2core.figures` (image (S, S, 3) uint8, maps (h, w) on the feature map):

    channel_bars(weights)                    SE / ECA / GSoP channel weights, sorted
    feature_maps_over_image(image, x, idx)   chosen channels of a block's input X over the image
    covariance_heatmap(cov)                  GSoP's channel covariance
    attention_row(attention, position)       a Non-local row as an (h, w) map

Maps that are probabilities over positions (Non-local rows, A²'s implied
attention, GC's context) go through :func:`a2core.figures.heatmap_over_image`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..probe.analysis import as_array
from .overlay import HIGHLIGHT, MUTED

#: the zoo's archs as a lecture names them.
ARCH_LABELS: dict[str, str] = {
    "resnet": "ResNet-20 (no attention)",
    "se_resnet": "SE (channel)",
    "nl_resnet": "Non-local (spatial)",
    "a2_resnet": "A² (double attention)",
    "gc_resnet": "GC (global context)",
    "eca_resnet": "ECA (channel)",
    "gsop_resnet": "GSoP (second order)",
    "cbam_resnet": "CBAM (channel, then spatial)",
    "bam_resnet": "BAM (channel + spatial)",
    "sk_resnet": "SK (kernel selection)",
    "cc_resnet": "CC-Net (criss-cross)",
    "resnest": "ResNeSt (split attention)",
    "triplet_resnet": "Triplet (three branches)",
}
#: the same names without the kind, short enough for a chip in the sidebar's model picker.
ARCH_SHORT: dict[str, str] = {arch: label.split(" (")[0] for arch, label in ARCH_LABELS.items()}
_FONT = dict(size=14)


def top_channels(weights, k: int = 3) -> np.ndarray:
    """Indices of the k largest channel weights (c,), largest first."""
    return np.argsort(-as_array(weights), kind="stable")[:k]


def channel_bars(weights, top: int = 3, title: str | None = None, height: int = 260) -> go.Figure:
    """Channel weights (c,) sorted from largest to smallest; the ``top`` channels coloured.

    The x labels are the channel indices ("ch 17"), so a bar names the feature map shown beside it.
    """
    w = as_array(weights)
    if w.ndim != 1:
        raise ValueError(f"expected channel weights of shape (c,), got {w.shape}")
    order = np.argsort(-w, kind="stable")
    colours = [HIGHLIGHT if rank < top else MUTED for rank in range(len(w))]
    fig = go.Figure(
        go.Bar(
            x=[f"ch {i}" for i in order],
            y=w[order],
            marker_color=colours,
            hovertemplate="%{x}: %{y:.4f}<extra></extra>",
            name="channel weights",
        )
    )
    fig.update_layout(
        title=dict(text=title, font=dict(size=15)) if title else None,
        height=height,
        font=_FONT,
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        xaxis=dict(type="category", showticklabels=len(w) <= 32, tickangle=-90, tickfont=dict(size=9)),
        yaxis=dict(title="weight"),
        bargap=0.1,
    )
    return fig


def _pixel_grid(image: np.ndarray, shape: tuple[int, int]) -> dict[str, float]:
    # Same placement as a2core.figures: cell (r, c) covers the S/h × S/w pixels it was computed from.
    dy, dx = image.shape[0] / shape[0], image.shape[1] / shape[1]
    return dict(x0=dx / 2 - 0.5, dx=dx, y0=dy / 2 - 0.5, dy=dy)


def feature_maps_over_image(
    image: np.ndarray,
    features,
    channels: Sequence[int],
    weights=None,
    opacity: float = 0.65,
    tile: int = 170,
) -> go.Figure:
    """Chosen channels of a feature map X (c, h, w) over the image, one tile each.

    Feature maps are signed (they come before the residual ReLU), so each tile
    uses a diverging scale centred on zero; ``weights`` (c,) adds each channel's
    attention weight to its title.
    """
    x = as_array(features)
    if x.ndim != 3:
        raise ValueError(f"expected features of shape (c, h, w), got {x.shape}")
    channels = [int(c) for c in channels]
    titles = [f"ch {c}" + (f" · w {float(as_array(weights)[c]):.2f}" if weights is not None else "") for c in channels]
    fig = make_subplots(rows=1, cols=len(channels), subplot_titles=titles, horizontal_spacing=0.02)
    grid = _pixel_grid(image, x.shape[1:])
    for col, c in enumerate(channels, start=1):
        bound = float(np.abs(x[c]).max()) or 1.0
        fig.add_trace(go.Image(z=image, hoverinfo="skip"), row=1, col=col)
        fig.add_trace(
            go.Heatmap(
                z=x[c], **grid, colorscale="RdBu_r", zmin=-bound, zmax=bound, opacity=opacity, showscale=False,
                hovertemplate=f"ch {c}<br>row %{{y:.0f}} px, col %{{x:.0f}} px<br>activation %{{z:.4f}}<extra></extra>",
            ),
            row=1,
            col=col,
        )
    s_h, s_w = image.shape[:2]
    fig.update_xaxes(range=[-0.5, s_w - 0.5], visible=False)
    fig.update_yaxes(range=[s_h - 0.5, -0.5], visible=False)
    fig.update_annotations(font_size=13)
    fig.update_layout(height=tile + 40, margin=dict(l=5, r=5, t=30, b=5), showlegend=False)
    return fig


def covariance_heatmap(covariance, title: str | None = None, size: int = 320) -> go.Figure:
    """GSoP's channel covariance Σ (c', c') as a heatmap with a diverging scale centred on zero."""
    cov = as_array(covariance)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"expected a square covariance matrix, got {cov.shape}")
    bound = float(np.abs(cov).max()) or 1.0
    fig = go.Figure(
        go.Heatmap(
            z=cov, colorscale="RdBu_r", zmin=-bound, zmax=bound,
            hovertemplate="ch %{y} × ch %{x}: %{z:.4f}<extra></extra>", colorbar=dict(thickness=12),
        )
    )
    # Axes exactly over the matrix: a square plot in a wider or taller box shrinks its domain instead of
    # stretching the range into blank channels (-20 … 40 of a 32 × 32 matrix).
    c = cov.shape[0]
    fig.update_yaxes(range=[c - 0.5, -0.5], scaleanchor="x", constrain="domain", title="channel")
    fig.update_xaxes(range=[-0.5, c - 0.5], constrain="domain", title="channel")
    fig.update_layout(
        title=dict(text=title, font=dict(size=15)) if title else None,
        height=size, font=_FONT, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
    )
    return fig


def attention_row(attention, position: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """Row j of an (L, L) attention matrix (j the cell (row, col) of an h × w map) as an (h, w) map."""
    a = as_array(attention)
    h, w = shape
    if a.shape != (h * w, h * w):
        raise ValueError(f"attention of shape {a.shape} does not fit a {h}×{w} map")
    return a[position[0] * w + position[1]].reshape(h, w)


def cost_bars(rows: Sequence[dict], field: str, title: str, height: int = 300) -> go.Figure:
    """One bar per arch of ``field`` (e.g. "params", "flops"), the plain ResNet in grey."""
    archs = [r["arch"] for r in rows]
    values = [float(r[field]) if r.get(field) is not None else 0.0 for r in rows]
    fig = go.Figure(
        go.Bar(
            x=[ARCH_SHORT.get(a, a) for a in archs],
            y=values,
            marker_color=[MUTED if a == "resnet" else HIGHLIGHT for a in archs],
            hovertemplate="%{x}: %{y:,.0f}<extra></extra>",
        )
    )
    fig.update_layout(title=title, height=height, font=_FONT, margin=dict(l=10, r=10, t=40, b=10))
    return fig
