"""The Explore page's figures: every descriptor's map in a grid, one position's weights, the top classes.

Every builder is a pure function of numpy arrays (one image, no batch):

    image:  (S, S, 3) uint8, the model's view of the photo (``ImageMaps.image``)
    maps:   (k, h, w) weights on the feature map, h = S / stride

Each map is drawn over its photo by the shared kernel (:mod:`a2core.figures.overlay`), so cell (r, c)
lies exactly over the pixels it was computed from.

    from a2core import figures
    figures.gathering_grid(result.image, block.arrays["gather"]).show()

The plotly grids and their matplotlib twins (PNG files, for ``python -m a2core.probe.maps``) sit side by
side so both draw a grid the same way.
"""

from __future__ import annotations

import functools

import numpy as np
import plotly.graph_objects as go

from .labels import class_label
from .overlay import (
    AXIS,
    FAST,
    HIGHLIGHT,
    MUTED,
    TEXT,
    heatmap_trace,
    image_trace,
    jpeg_uri,
    map_image_trace,
    mpl_overlay,
)


def _grid_heatmaps(image, maps, titles, *, cols, opacity, colorscale, label, highlight, tile) -> go.Figure:
    # One subplot per tile, each with the photo and a hoverable heatmap: for notebooks and small grids.
    k = len(maps)
    rows = -(-k // cols)
    title_px = 22
    width, height = cols * tile, rows * (tile + title_px) + 10
    gap_x, gap_y = 4 / width, 4 / height
    s_h, s_w = image.shape[:2]
    traces, layout_axes, annotations, shapes = [], {}, [], []
    # One figure built in one go: make_subplots and per-tile updates cost seconds for 16 tiles.
    for i in range(k):
        r, c = divmod(i, cols)
        suffix = "" if i == 0 else str(i + 1)
        top = 1 - r / rows
        layout_axes[f"xaxis{suffix}"] = dict(domain=[c / cols + gap_x, (c + 1) / cols - gap_x],
                                             range=[-0.5, s_w - 0.5], anchor=f"y{suffix}", **AXIS)
        layout_axes[f"yaxis{suffix}"] = dict(domain=[top - (tile + title_px) / height + gap_y, top - title_px / height],
                                             range=[s_h - 0.5, -0.5], anchor=f"x{suffix}", **AXIS)
        for trace in (image_trace(image), heatmap_trace(image, maps[i], opacity=opacity, colorscale=colorscale,
                                                          label=label)):
            trace.xaxis, trace.yaxis = f"x{suffix}", f"y{suffix}"
            traces.append(trace)
        annotations.append(_tile_title(titles[i], i in highlight, x=(s_w - 1) / 2, y=-0.5, xref=f"x{suffix}",
                                       yref=f"y{suffix}"))
        if i in highlight:
            shapes.append(_tile_frame(-0.5, -0.5, s_h, s_w, xref=f"x{suffix}", yref=f"y{suffix}"))
    return go.Figure(traces, dict(
        width=width, height=height, margin=dict(l=5, r=5, t=10, b=5), annotations=annotations, shapes=shapes,
        clickmode="event+select", dragmode=False, hovermode="closest", showlegend=False, **layout_axes,
    ), **FAST)


def _tile_title(text, highlighted, **place) -> dict:
    return dict(text=f"<b>{text}</b>" if highlighted else text, xanchor="center", yanchor="bottom", showarrow=False,
                # 13 px, dark: read from the back of a classroom
                font=dict(size=13, color=HIGHLIGHT) if highlighted else dict(size=13, color=TEXT), **place)


def _tile_frame(y, x, s_h, s_w, **refs) -> dict:
    return dict(type="rect", x0=x, x1=x + s_w, y0=y, y1=y + s_h, line=dict(color=HIGHLIGHT, width=4), **refs)


def _photo_tile(image: np.ndarray, tile: int) -> tuple[np.ndarray, float]:
    """The photo as a grid tile shown ``tile`` pixels wide: (pixels, pixels per image pixel).

    Never enlarged (the browser draws the mosaic without smoothing, whole pixels stay sharp), but a
    view twice the tile or more is reduced by a whole factor, so no tile carries pixels nobody sees.
    """
    f = max(1, round(max(image.shape[:2]) / tile))
    if f == 1:
        return np.asarray(image, np.uint8), 1.0
    from PIL import Image

    return np.asarray(Image.fromarray(np.asarray(image, np.uint8)).reduce(f)), 1.0 / f


@functools.lru_cache(maxsize=16)
def _mosaic(data: bytes, shape: tuple[int, ...], k: int, cols: int, tile: int):
    # The photo repeated in a grid of k tiles → (JPEG data URI, pixels per image pixel, tile origins (y, x), the
    # pitch (y, x) and the gap between tiles, in image pixels). Cached by the view's pixels: every click redraws the grids over the same photos.
    image = np.frombuffer(data, np.uint8).reshape(shape)
    rows = -(-k // cols)
    s_h, s_w = shape[:2]
    photo, scale = _photo_tile(image, tile)
    unit = max(1, round(1 / scale))  # gaps in whole multiples of a reduction, so tiles start on a pixel
    per_px = max(s_h, s_w) / tile  # image pixels per pixel on screen
    gap, band = (unit * max(1, round(px * per_px / unit)) for px in (6, 22))  # around tiles, title bands
    pitch = (band + s_h + gap, s_w + gap)
    origins = tuple((r * pitch[0] + band, c * pitch[1]) for r, c in (divmod(i, cols) for i in range(k)))
    mosaic = np.full((round(rows * pitch[0] * scale), round(cols * pitch[1] * scale), 3), 255, np.uint8)
    for y, x in origins:
        ty, tx = round(y * scale), round(x * scale)
        mosaic[ty:ty + photo.shape[0], tx:tx + photo.shape[1]] = photo
    # Quality 85 with chroma subsampling (a single photo gets 92, unsubsampled): the mosaic carries a photo per tile.
    return jpeg_uri(mosaic, quality=85), scale, origins, pitch, gap


def _grid_pictures(image, maps, titles, *, cols, opacity, colorscale, highlight, clickable, tile) -> go.Figure:
    # One pair of axes for the whole grid, in image pixels: the photos as one JPEG mosaic, each map as a
    # small PNG over its tile. 16 tiles on 16 subplots, each with its own copy of the photo, made ~0.75 MB
    # of JSON and the browser's slowest chart to redraw on every click.
    k = len(maps)
    rows = -(-k // cols)
    s_h, s_w = image.shape[:2]
    pixels = np.ascontiguousarray(image, dtype=np.uint8)
    source, scale, origins, (pitch_y, pitch_x), gap = _mosaic(pixels.tobytes(), pixels.shape, k, cols, tile)
    # Mosaic pixel j covers image pixels [j, j + 1) / scale, whose centres are at -0.5 + (j + 0.5) / scale.
    traces = [go.Image(source=source, x0=(0.5 / scale) - 0.5, dx=1 / scale, y0=(0.5 / scale) - 0.5, dy=1 / scale,
                       zsmooth=False, hoverinfo="skip", name="photos", **FAST)]
    traces += [map_image_trace(image, maps[i], opacity=opacity, colorscale=colorscale, offset=origins[i])
               for i in range(k)]
    if clickable:
        # One invisible square per tile, as large as the tile: a click anywhere on it selects the tile,
        # reported as the point's index (= the tile's).
        traces.append(go.Scatter(
            x=[x + (s_w - 1) / 2 for _, x in origins], y=[y + (s_h - 1) / 2 for y, _ in origins], mode="markers",
            name="tiles", showlegend=False, text=titles, marker=dict(size=tile, symbol="square", opacity=0,
                                                                     color="white"),
            selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0)),
            hovertemplate="%{text}<br>click to enlarge<extra></extra>", **FAST,
        ))
    annotations = [_tile_title(titles[i], i in highlight, x=x + (s_w - 1) / 2, y=y - 0.5, xref="x", yref="y")
                   for i, (y, x) in enumerate(origins)]
    shapes = [_tile_frame(y - 0.5, x - 0.5, s_h, s_w, xref="x", yref="y")
              for i, (y, x) in enumerate(origins) if i in highlight]
    per_px = max(s_h, s_w) / tile
    return go.Figure(traces, dict(
        width=round(cols * pitch_x / per_px) + 10, height=round(rows * pitch_y / per_px) + 10,
        margin=dict(l=5, r=5, t=5, b=5), annotations=annotations, shapes=shapes, clickmode="event+select",
        dragmode=False, hovermode="closest", showlegend=False,
        xaxis=dict(range=[-0.5 - gap / 2, cols * pitch_x - 0.5 - gap / 2], **AXIS),
        # In a box narrower than the figure the grid shrinks; it stays under the figure's top edge, so any
        # blank band is below it, not between the grid and its caption.
        yaxis=dict(range=[rows * pitch_y - 0.5, -0.5], scaleanchor="x", constraintoward="top", **AXIS),
    ), **FAST)


def map_grid(
    image: np.ndarray,
    maps: np.ndarray,
    titles: list[str],
    *,
    cols: int = 4,
    opacity: float = 0.6,
    colorscale: str = "Viridis",
    label: str = "weight",
    highlight: list[int] | tuple[int, ...] = (),
    clickable: bool = False,
    hover: bool = True,
    tile: int = 170,
) -> go.Figure:
    """A grid of (k, h, w) maps, each over the image with its own colour range.

    ``titles[i]`` names tile i; tiles whose index is in ``highlight`` get a
    coloured title and frame. With ``hover`` (and not ``clickable``) every tile
    is a subplot of its own with a heatmap whose hover shows each cell's weight.
    Otherwise the grid is pictures on one pair of axes whose unit is an image
    pixel: the photos as one mosaic, each map as a small PNG named "map" over
    its tile; ``clickable`` adds a trace named "tiles" with one invisible point
    per tile, whose point index is the tile's (per-cell hover is on the
    enlarged view).
    """
    maps = np.asarray(maps, dtype=np.float64)
    highlight = set(int(i) for i in highlight)
    if hover and not clickable:
        return _grid_heatmaps(image, maps, titles, cols=cols, opacity=opacity, colorscale=colorscale, label=label,
                              highlight=highlight, tile=tile)
    return _grid_pictures(image, maps, titles, cols=cols, opacity=opacity, colorscale=colorscale,
                          highlight=highlight, clickable=clickable, tile=tile)


def _descriptor_titles(order, usage=None, entropy=None) -> list[str]:
    titles = []
    for i in order:
        parts = [f"d{i}"]
        if usage is not None:
            parts.append(f"use {usage[i]:.1f}")
        if entropy is not None:
            parts.append(f"H {entropy[i]:.2f}")
        titles.append(" · ".join(parts))
    return titles


def gathering_grid(image, gather, order=None, *, usage=None, entropy=None, **kwargs) -> go.Figure:
    """Gathering maps softmax(b_i) (n, h, w) in ``order``: where each descriptor collects from.

    ``highlight`` in kwargs is given in descriptor indices.
    """
    order = np.arange(len(gather)) if order is None else np.asarray(order)
    highlight = [list(order).index(i) for i in kwargs.pop("highlight", ()) if i in order]
    return map_grid(image, np.asarray(gather)[order], _descriptor_titles(order, usage, entropy),
                    highlight=highlight, label="gathering weight", **kwargs)


def distribution_grid(image, distribute, order=None, *, usage=None, **kwargs) -> go.Figure:
    """Per-descriptor distribution maps (n, h, w): where descriptor i is sent (weight v_ij at each j)."""
    order = np.arange(len(distribute)) if order is None else np.asarray(order)
    highlight = [list(order).index(i) for i in kwargs.pop("highlight", ()) if i in order]
    return map_grid(image, np.asarray(distribute)[order], _descriptor_titles(order, usage),
                    highlight=highlight, label="distribution weight", **kwargs)


def distribution_bars(weights: np.ndarray, highlight=(), *, title: str | None = None, height: int = 300) -> go.Figure:
    """One position's n distribution weights v_j as bars, descriptors in ``highlight`` coloured."""
    weights = np.asarray(weights, dtype=np.float64)
    names = [f"d{i}" for i in range(len(weights))]
    colors = [HIGHLIGHT if i in set(int(h) for h in highlight) else MUTED for i in range(len(weights))]
    return go.Figure(go.Bar(
        x=names, y=weights, marker_color=colors, text=[f"{w:.2f}" for w in weights], textposition="outside",
        hovertemplate="descriptor %{x}<br>weight %{y:.5f}<extra></extra>", name="distribution", **FAST,
    ), dict(
        **(dict(title=dict(text=title)) if title else {}), height=height,
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        yaxis=dict(title=dict(text="v_ij"), range=[0, max(1e-9, weights.max()) * 1.18]), xaxis=dict(type="category"),
        bargap=0.25,
    ), **FAST)


def topk_bars(top: list[tuple[str, float]], *, height: int = 230) -> go.Figure:
    """Top-k (class, probability) as horizontal bars, most probable on top."""
    names = [class_label(c) for c, _ in top][::-1]
    probs = [p for _, p in top][::-1]
    colors = [MUTED] * (len(top) - 1) + [HIGHLIGHT]
    # A long bar carries its label inside, a short one beside it: no label is cut at the chart's edge. The
    # bars say their percentages, so the x axis is hidden (its "100%" tick was cut in a narrow column).
    return go.Figure(go.Bar(
        x=probs, y=names, orientation="h", marker_color=colors, text=[f"{p:.1%}" for p in probs],
        textposition="auto", insidetextanchor="end", cliponaxis=False, hovertemplate="%{y}: %{x:.4f}<extra></extra>",
        name="top-k", **FAST,
    ), dict(height=height, margin=dict(l=10, r=10, t=10, b=10), xaxis=dict(range=[0, 1.04], visible=False),
            # 14 px, and never shrunk under 13 px to fit inside a bar: read at a projector
            # (the tick labels' own font too: Streamlit's theme sets axis ticks to 12 px)
            yaxis=dict(automargin=True, tickfont=dict(size=14, color=TEXT)), font=dict(size=14, color=TEXT),
            uniformtext=dict(minsize=13, mode="show")),
        **FAST)



def grid_matplotlib(image, maps, titles, *, cols: int = 4, colormap: str = "viridis", alpha: float = 0.6,
                    suptitle: str | None = None):
    """Matplotlib twin of :func:`map_grid` (k, h, w) → Figure, for PNG files."""
    from matplotlib.figure import Figure

    k = len(maps)
    rows = -(-k // cols)
    fig = Figure(figsize=(cols * 2.2, rows * 2.3 + (0.4 if suptitle else 0)), dpi=120)
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        if i < k:
            mpl_overlay(ax, image, maps[i], colormap=colormap, alpha=alpha, title=titles[i])
        else:
            ax.set_axis_off()
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    fig.tight_layout()
    return fig


def explore_matplotlib(image, gather, distribute, position, order, *, colormap="viridis", alpha=0.6,
                       title: str | None = None, highlight=()):
    """One-page summary: the image, the clicked position's distribution weights, what it receives,
    and the gathering maps in ``order`` → matplotlib Figure."""
    from matplotlib.figure import Figure

    from ..probe.analysis import implied_attention

    n = len(gather)
    cols = 4
    rows = -(-n // cols)
    # Constrained layout makes room for the main title above the subfigures' own titles (issue 20, item 9).
    fig = Figure(figsize=(cols * 2.4, 2.9 + rows * 2.4 + (0.3 if title else 0)), dpi=120, layout="constrained")
    sub = fig.subfigures(2, 1, height_ratios=[2.9, rows * 2.4])
    top = sub[0].subplots(1, 3, gridspec_kw=dict(width_ratios=[1, 1.6, 1]))
    ys, xs = ((np.arange(s) + 0.5) * image.shape[i] / s - 0.5 for i, s in enumerate(gather.shape[1:]))
    top[0].imshow(image, interpolation="nearest")
    top[0].plot(xs[position[1]], ys[position[0]], "x", color=HIGHLIGHT, markersize=12, mew=3)
    top[0].set_axis_off()
    top[0].set_title(f"clicked cell {position}", fontsize=9)
    v = distribute[:, position[0], position[1]]
    top[1].bar(range(n), v, color=[HIGHLIGHT if i in set(highlight) else MUTED for i in range(n)])
    top[1].set_xticks(range(n), [f"d{i}" for i in range(n)], fontsize=7)
    top[1].set_title("distribution weights v_j", fontsize=9)
    mpl_overlay(top[2], image, implied_attention(gather, distribute, position), colormap=colormap, alpha=alpha,
                 title="what it receives")
    top[2].plot(xs[position[1]], ys[position[0]], "x", color=HIGHLIGHT, markersize=12, mew=3)
    axes = sub[1].subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        if k < n:
            i = int(order[k])
            mpl_overlay(ax, image, gather[i], colormap=colormap, alpha=alpha, title=f"gathering d{i}")
        else:
            ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
