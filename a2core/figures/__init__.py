"""Pure figure builders: numpy arrays in, plotly (app, notebooks) or matplotlib (PNG files) figures out.

``overlay``: the kernel the others draw with (colours, a map over its photo, crisp photos, PNG bytes);
``explore``: the descriptor grids of attention maps (the Explore page and the maps CLI's PNGs);
``compare``: the designs side by side; ``learn``: the A² block step by step and the cost of its orders;
``gradcam``: Grad-CAM beside the attention, drawn as the attention heatmaps are;
``measure``: the zoo's measured attention (box energy with intervals, the uniform prior a line).
May import numpy, plotly, matplotlib, PIL and a2core's plain numbers (``probe.analysis``,
``lessons.cost``); never a torch model, training or the app. Pages only lay these figures out.
"""

from . import compare, explore, gradcam, learn, measure, overlay
from .explore import (
    distribution_bars,
    distribution_grid,
    explore_matplotlib,
    gathering_grid,
    grid_matplotlib,
    map_grid,
    topk_bars,
)
from .labels import class_label
from .overlay import COLORSCALES, HIGHLIGHT, MUTED, TEXT, colormap, crisp, heatmap_over_image, image_source, to_png

__all__ = [
    "COLORSCALES",
    "HIGHLIGHT",
    "MUTED",
    "TEXT",
    "class_label",
    "colormap",
    "compare",
    "crisp",
    "distribution_bars",
    "distribution_grid",
    "explore",
    "explore_matplotlib",
    "gradcam",
    "gathering_grid",
    "grid_matplotlib",
    "heatmap_over_image",
    "image_source",
    "learn",
    "map_grid",
    "measure",
    "overlay",
    "to_png",
    "topk_bars",
]
