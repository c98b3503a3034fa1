"""Pure figure builders: numpy arrays in, plotly (app, notebooks) or matplotlib (PNG files) figures out.

``explore``: attention maps over the image (the Explore page and the maps CLI's PNGs);
``compare``: the designs side by side; ``learn``: the A² block step by step and the cost of its orders;
``gradcam``: Grad-CAM beside the attention, drawn as the attention heatmaps are;
``measure``: the zoo's measured attention (box energy with intervals, the uniform prior a line).
May import numpy, plotly, matplotlib, PIL and a2core's plain numbers (``probe.analysis``,
``lessons.cost``); never a torch model, training or the app. Pages only lay these figures out.
"""

from . import compare, explore, gradcam, learn, measure
from .labels import class_label
from .explore import (
    HIGHLIGHT,
    MUTED,
    distribution_bars,
    distribution_grid,
    explore_matplotlib,
    gathering_grid,
    grid_matplotlib,
    heatmap_over_image,
    map_grid,
    to_png,
    topk_bars,
)

__all__ = [
    "HIGHLIGHT",
    "MUTED",
    "class_label",
    "compare",
    "distribution_bars",
    "distribution_grid",
    "explore",
    "explore_matplotlib",
    "gradcam",
    "gathering_grid",
    "grid_matplotlib",
    "heatmap_over_image",
    "learn",
    "map_grid",
    "measure",
    "to_png",
    "topk_bars",
]
