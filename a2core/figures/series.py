"""Figures of the article series' designs beyond their lens cards: what SK and split attention pick per stage,
Triplet's two channel branches.

Pure functions of numpy arrays (one image, no batch), in the conventions of :mod:`a2core.figures`:

    branch_shares(weights)          per stage, the share of channels whose largest weight is each branch
    branch_choice_bars(shares, ...) those shares as one stacked bar per stage
    triplet_branches(cw, ch)        Triplet attention's C–W and C–H gates as two heatmaps

The spatial gates (CBAM, BAM, Triplet's H–W branch) and CC-Net's crosses follow the hovered position on the
lens (:mod:`a2core.figures.lens`); BAM's channel branch and CBAM's channel gate are
:func:`a2core.figures.compare.channel_bars`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .explore import HIGHLIGHT, MUTED

_FONT = dict(size=14)


def stage_of(name: str) -> str:
    """``"layer2.1.conv1"`` → ``"layer2"``: the stage a module sits in."""
    return name.split(".")[0]


def branch_shares(weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{block name: per-channel weights over the branches (M, c)} → {stage: (M,) shares summing to 1}.

    A channel "picks" the branch it weighs most (SK: the 3×3 or the dilated kernel; split attention: a split);
    a stage's share of branch m is the fraction of all its blocks' channels that pick m, stages in block order.
    Ties go to the first branch, as numpy's argmax does.
    """
    picks: dict[str, list[np.ndarray]] = {}
    branches = None
    for name, w in weights.items():
        w = np.asarray(w, dtype=np.float64)
        if w.ndim != 2:
            raise ValueError(f"{name}: expected weights of shape (branches, channels), got {w.shape}")
        if branches is not None and w.shape[0] != branches:
            raise ValueError(f"{name}: {w.shape[0]} branches, the other blocks have {branches}")
        branches = w.shape[0]
        picks.setdefault(stage_of(name), []).append(np.argmax(w, axis=0))
    return {stage: np.bincount(np.concatenate(p), minlength=branches) / sum(len(x) for x in p)
            for stage, p in picks.items()}


def branch_choice_bars(shares: Mapping[str, np.ndarray], branch_labels: Sequence[str], title: str | None = None,
                       height: int = 260) -> go.Figure:
    """One horizontal bar per stage, split into the shares of its channels that pick each branch."""
    stages = list(shares)
    colours = [MUTED, HIGHLIGHT, "#636efa", "#00cc96"]
    fig = go.Figure([
        go.Bar(y=stages, x=[float(shares[s][m]) for s in stages], orientation="h", name=label,
               marker_color=colours[m % len(colours)],
               hovertemplate=f"%{{y}}: %{{x:.1%}} of the channels pick {label}<extra></extra>")
        for m, label in enumerate(branch_labels)
    ])
    fig.update_layout(
        barmode="stack", title=dict(text=title, font=dict(size=15)) if title else None, height=height, font=_FONT,
        margin=dict(l=10, r=10, t=40 if title else 10, b=10), legend=dict(orientation="h", y=-0.2),
        xaxis=dict(range=[0, 1], tickformat=".0%", title="share of the stage's channels"),
        yaxis=dict(autorange="reversed"),
    )
    return fig


def triplet_branches(channel_width, channel_height, height: int = 300) -> go.Figure:
    """Triplet attention's two rotated branches: the C–W gate (c, w) and the C–H gate (c, h), each in (0, 1)."""
    cw, ch = np.asarray(channel_width, dtype=np.float64), np.asarray(channel_height, dtype=np.float64)
    if cw.ndim != 2 or ch.ndim != 2 or cw.shape[0] != ch.shape[0]:
        raise ValueError(f"expected (c, w) and (c, h) gates of one c, got {cw.shape} and {ch.shape}")
    titles = ("C–W branch: channel × column", "C–H branch: channel × row")
    fig = make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.12)
    for col, (z, across) in enumerate(((cw, "column"), (ch, "row")), start=1):
        fig.add_trace(go.Heatmap(z=z, zmin=0, zmax=1, colorscale="Viridis", showscale=col == 2,
                                 hovertemplate=f"ch %{{y}}, {across} %{{x}}: %{{z:.4f}}<extra></extra>"),
                      row=1, col=col)
        fig.update_xaxes(title=across, row=1, col=col)
        fig.update_yaxes(title="channel" if col == 1 else None, autorange="reversed", row=1, col=col)
    fig.update_annotations(font_size=13)
    fig.update_layout(height=height, font=_FONT, margin=dict(l=10, r=10, t=40, b=10))
    return fig
