"""Figures of Grad-CAM beside the attention maps: the same heatmap, colour scale and click marker.

Pure functions of numpy arrays (see :mod:`a2core.figures.overlay`):

    image: (S, S, 3) uint8, the model's view
    cam:   (h, w) Grad-CAM on the feature map of the layer holding a block (:func:`a2core.probe.gradcam.grad_cam`)

    from a2core.figures import gradcam
    gradcam.gradcam_over_image(result.image, cams[0], class_name="cat").show()
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .labels import class_label
from .overlay import heatmap_over_image, mpl_overlay

#: What the caption beside a Grad-CAM says, in the app and in notebooks.
DIFFERENCE = (
    "The attention maps are what the block computes on every forward pass, for any class. Grad-CAM is a "
    "gradient explanation of one class: where the features of the layer that holds the block raise that "
    "class's logit (ReLU of the gradient-weighted channels)."
)


def gradcam_title(class_name: str, layer: str) -> str:
    return f"Grad-CAM of “{class_label(class_name)}” at {layer}"


def gradcam_over_image(
    image: np.ndarray,
    cam: np.ndarray,
    *,
    class_name: str = "",
    layer: str = "",
    position: tuple[int, int] | None = None,
    opacity: float = 0.6,
    colorscale: str = "Viridis",
    title: str | None = None,
    size: int = 320,
) -> go.Figure:
    """Grad-CAM (h, w) over the image, drawn as the attention heatmaps are (:func:`a2core.figures.overlay.heatmap_over_image`):
    the same colour scale from 0 to the map's maximum and the same ✕ at ``position`` (row, col on the map's grid)."""
    if title is None and class_name:
        title = gradcam_title(class_name, layer) if layer else f"Grad-CAM of “{class_label(class_name)}”"
    return heatmap_over_image(image, cam, opacity=opacity, colorscale=colorscale, title=title, label="Grad-CAM",
                              position=position, size=size)


def gradcam_matplotlib(image: np.ndarray, cam: np.ndarray, *, title: str = "", colormap: str = "viridis",
                       alpha: float = 0.6):
    """The view and its Grad-CAM side by side → matplotlib Figure, for PNG files."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2, 2.9), dpi=120, layout="constrained")
    left, right = fig.subplots(1, 2)
    left.imshow(image, interpolation="nearest")
    left.set_axis_off()
    left.set_title("the model's view", fontsize=9)
    mpl_overlay(right, image, cam, colormap=colormap, alpha=alpha, title="Grad-CAM")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
