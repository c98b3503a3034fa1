"""The drawing kernel every figure of a map shares: colours, a map over its photo, crisp photos.

Pure functions of numpy arrays (one image, no batch):

    image:    (S, S, 3) uint8, the model's view of the photo (``ImageMaps.image``)
    weights:  (h, w) weights on the feature map, h = S / stride

A feature map cell covers S/h × S/w pixels; heatmaps are placed with that step so cell (r, c) lies
exactly over the pixels it was computed from, in plotly (:func:`heatmap_trace`, :func:`map_image_trace`)
and in matplotlib (:func:`mpl_overlay`) alike.

- colours: :data:`HIGHLIGHT`, :data:`MUTED`, :data:`TEXT`, the scales of :data:`COLORSCALES` and
  :func:`colormap`, their table for colouring maps on the server;
- overlays: :func:`heatmap_over_image` (one map, a figure), the traces it is made of, :func:`mpl_overlay`;
- photos: :func:`crisp` (whole-pixel upscaling), :func:`image_source` (a JPEG data URI), :func:`to_png`.

The pages' figures are built from these: :mod:`~a2core.figures.explore` (the descriptor grids),
:mod:`~a2core.figures.lens`, :mod:`~a2core.figures.compare`, :mod:`~a2core.figures.gradcam`.
"""

from __future__ import annotations

import base64
import functools
import io

import numpy as np
import plotly.colors
import plotly.graph_objects as go

COLORSCALES = ("Viridis", "Inferno", "Magma", "Plasma", "Cividis", "Turbo", "Jet", "Hot")
HIGHLIGHT = "#d1495b"
MUTED = "#9aa5b1"
#: Text on the figures: Streamlit's own text colour, not plotly's grey.
TEXT = "#31333f"
#: Maps with more cells get no per-cell hover text (its strings would outweigh the map).
MAX_HOVER_CELLS = 1024
AXIS = dict(visible=False, showgrid=False, zeroline=False)
#: Figures are built from known-good values, so plotly's per-property validation (two thirds of the
#: build time of a page's figures) is skipped; ``FAST`` goes to every trace and figure constructor.
FAST = dict(_validate=False)


@functools.lru_cache(maxsize=32)
def _scale(colorscale: str) -> tuple:
    # The stops of a named scale, as validation would expand them (plotly.js knows only some names).
    return tuple(tuple(stop) for stop in plotly.colors.get_colorscale(colorscale))


def _cell(image_size: int, map_size: int) -> tuple[float, float]:
    """(x0, dx) placing map_size cells over image_size pixels whose centres are at 0 … S-1."""
    dx = image_size / map_size
    return dx / 2 - 0.5, dx


def _cell_centres(image: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    (y0, dy), (x0, dx) = _cell(image.shape[0], shape[0]), _cell(image.shape[1], shape[1])
    return y0 + dy * np.arange(shape[0]), x0 + dx * np.arange(shape[1])


#: Photos are sent at least this many pixels a side (integer nearest-neighbour upscaling), so the
#: browser never smooths a 32-pixel view into a blur when it draws it at tile size.
IMAGE_MIN_SIDE = 256


@functools.lru_cache(maxsize=32)
def _encoded(data: bytes, shape: tuple[int, ...]) -> tuple[str, int]:
    # Cached by the pixels: a page draws the same view in several figures.
    big = crisp(np.frombuffer(data, np.uint8).reshape(shape))
    return jpeg_uri(big, quality=92, subsampling=0), big.shape[0] // shape[0]


def jpeg_uri(pixels: np.ndarray, **options) -> str:
    """(H, W, 3) uint8 → a ``data:image/jpeg;base64,…`` URI; ``options`` go to PIL's JPEG writer (quality, …)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).convert("RGB").save(buffer, format="JPEG", **options)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def crisp(image: np.ndarray, min_side: int = IMAGE_MIN_SIDE) -> np.ndarray:
    """(S, S, 3) → the same pixels repeated k × k (nearest neighbour) so that kS ≥ ``min_side``.

    For showing a small view as an image: browsers smooth what they enlarge.
    """
    k = max(1, -(-min_side // max(image.shape[:2])))
    return np.repeat(np.repeat(np.asarray(image), k, axis=0), k, axis=1)


def image_source(image: np.ndarray) -> tuple[str, int]:
    """(S, S, 3) uint8 → (a JPEG data URI, its upscaling factor k): ~10 KB instead of 4·S² bytes of JSON."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    return _encoded(image.tobytes(), image.shape)


def image_trace(image: np.ndarray) -> go.Image:
    """The (S, S, 3) photo as a plotly trace over pixel coordinates -0.5 … S-0.5, whatever its upscaling.

    A compressed picture (``source``), not a z array: the pixels the model saw, in ~10 KB.
    """
    source, k = image_source(image)
    return go.Image(source=source, x0=(1 / k - 1) / 2, dx=1 / k, y0=(1 / k - 1) / 2, dy=1 / k,
                    hoverinfo="skip", name="image", **FAST)


def heatmap_trace(image, weights, *, opacity, colorscale, label, zmax=None, showscale=False, hover=True):
    """An (h, w) map as a plotly heatmap placed over the (S, S, 3) ``image``, cell (r, c) on its pixels.

    Colours run from 0 to ``zmax`` (the map's max by default); with ``hover`` each cell's weight is shown,
    and its (row, col) too on maps of at most :data:`MAX_HOVER_CELLS` cells.
    """
    h, w = weights.shape
    (y0, dy), (x0, dx) = _cell(image.shape[0], h), _cell(image.shape[1], w)
    if hover and h * w <= MAX_HOVER_CELLS:
        # The cell's (row, col) as text: one short string per cell, affordable on small maps only.
        rows, cols = np.indices((h, w))
        text = np.char.add(np.char.add(rows.astype(str), ", "), cols.astype(str))
        template = f"cell (%{{text}})<br>{label} %{{z:.5f}}<extra></extra>"
    else:
        text, template = None, f"{label} %{{z:.5f}}<extra></extra>"
    return go.Heatmap(
        z=weights.astype(np.float32), x0=x0, dx=dx, y0=y0, dy=dy, opacity=opacity, colorscale=_scale(colorscale),
        zmin=0.0, zmax=float(zmax if zmax is not None else weights.max()), showscale=showscale,
        text=text, hovertemplate=template if hover else None,
        hoverinfo=None if hover else "skip", **FAST,
        # Under the map, not beside it: a narrow column then shrinks the bar, not the map.
        colorbar=dict(orientation="h", thickness=10, len=0.9, y=-0.02, yanchor="top", xanchor="center", x=0.5),
    )


def _marker_trace(image, shape, position) -> go.Scatter:
    ys, xs = _cell_centres(image, shape)
    return go.Scatter(
        x=[xs[position[1]]], y=[ys[position[0]]], mode="markers", hoverinfo="skip", showlegend=False,
        marker=dict(size=16, symbol="x-thin", line=dict(width=3, color=HIGHLIGHT), color=HIGHLIGHT),
        name="position", **FAST,
    )


def heatmap_over_image(
    image: np.ndarray,
    weights: np.ndarray,
    *,
    opacity: float = 0.6,
    colorscale: str = "Viridis",
    title: str | None = None,
    label: str = "weight",
    position: tuple[int, int] | None = None,
    size: int = 420,
) -> go.Figure:
    """One (h, w) map over the (S, S, 3) image; hover shows each cell's exact weight.

    ``position`` (row, col) marks a cell. Maps that follow a hovered position are the lens's
    (:mod:`a2core.figures.lens`), drawn in the browser; this figure is a fixed one.
    """
    weights = np.asarray(weights, dtype=np.float64)
    traces = [image_trace(image), heatmap_trace(
        image, weights, opacity=opacity, colorscale=colorscale, label=label, showscale=True)]
    if position is not None:
        traces.append(_marker_trace(image, weights.shape, position))
    s_h, s_w = image.shape[:2]
    return go.Figure(traces, dict(
        width=size + 10, height=size + (40 if title else 10) + 45, margin=dict(l=5, r=5, t=40 if title else 5, b=50),
        **(dict(title=dict(text=title, font=dict(size=15))) if title else {}), clickmode="event+select",
        dragmode=False, hovermode="closest",
        xaxis=dict(range=[-0.5, s_w - 0.5], **AXIS), yaxis=dict(range=[s_h - 0.5, -0.5], **AXIS),
    ), **FAST)


@functools.lru_cache(maxsize=16)
def colormap(colorscale: str, n: int = 256) -> np.ndarray:
    """A plotly colour scale sampled at n points → (n, 3) uint8 (read-only), for colouring maps on the server.

    Cached: plotly's colour parsing takes ~0.1 s a scale, and a page colours up to 40 maps with one scale.
    """
    colors = plotly.colors.sample_colorscale(plotly.colors.get_colorscale(colorscale), np.linspace(0, 1, n))
    table = np.array([plotly.colors.unlabel_rgb(plotly.colors.convert_to_RGB_255(c) if not c.startswith("rgb")
                                                else c) for c in colors]).round().astype(np.uint8)
    table.setflags(write=False)
    return table


def _colored(weights: np.ndarray, colorscale: str, opacity: float) -> np.ndarray:
    # (h, w) weights on [0, max] → (h, w, 4) RGBA, as a plotly heatmap with zmin 0 would colour them.
    top = float(weights.max()) or 1.0
    index = np.clip(np.rint(weights / top * 255), 0, 255).astype(np.intp)
    rgba = np.empty((*weights.shape, 4), np.uint8)
    rgba[..., :3] = colormap(colorscale)[index]
    rgba[..., 3] = round(255 * opacity)
    return rgba


def map_image_trace(image, weights, *, opacity, colorscale, offset=(0.0, 0.0)) -> go.Image:
    """An (h, w) map over the (S, S, 3) ``image`` without hover, sent as one small PNG (h × w pixels)
    rather than h·w numbers; ``offset`` (y, x) moves it by that many image pixels (a tile of a grid)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(_colored(weights, colorscale, opacity), "RGBA").save(buffer, format="PNG")
    (y0, dy), (x0, dx) = _cell(image.shape[0], weights.shape[0]), _cell(image.shape[1], weights.shape[1])
    return go.Image(source="data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"),
                    x0=x0 + offset[1], dx=dx, y0=y0 + offset[0], dy=dy, hoverinfo="skip", name="map", **FAST)


# ---------------------------------------------------------------- matplotlib (PNG, offline)


def _mpl_cmap(colorscale: str) -> str:
    import matplotlib

    name = colorscale.lower()
    return name if name in matplotlib.colormaps else "viridis"


def mpl_overlay(ax, image, weights, *, colormap, alpha, title=None):
    """Draw the (h, w) map over the (S, S, 3) image on matplotlib axes ``ax``, each cell on its pixels."""
    s_h, s_w = image.shape[:2]
    extent = (-0.5, s_w - 0.5, s_h - 0.5, -0.5)  # the pixel edges: each cell covers S/h pixels exactly
    ax.imshow(image, extent=extent, interpolation="nearest")
    ax.imshow(weights, extent=extent, cmap=_mpl_cmap(colormap), alpha=alpha, interpolation="nearest",
              vmin=0, vmax=float(np.max(weights)) or 1.0)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)


def to_png(fig, dpi: int | None = None) -> bytes:
    """A matplotlib Figure as PNG bytes (no display, no network)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    return buffer.getvalue()
