"""The Measure page's figure: how much of each design's attention lands on the object, zoo-wide.

Pure functions of the JSON rows ``python -m a2core.metrics`` writes (:mod:`a2core.metrics.zoo`): one row per
(arch, block, map) with ``box_energy`` and its 95 % interval ``box_energy_ci``.

    rows = plotted_rows(json.load(open("attention_val.json"))["results"])
    box_energy_figure(rows, uniform=uniform_energy(results))     # one error bar per row, the uniform prior a line
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from ..metrics.tables import distinct_rows
from .compare import ARCH_SHORT
from .overlay import HIGHLIGHT, MUTED

#: The maps worth a bar: each design's summary over its block (not A²'s single gathering maps, nor the query rows,
#: whose mean box energy is the summary's), Grad-CAM, and the centred prior; ``uniform`` is the line.
PLOTTED_MAPS = ("gather", "row_mean", "context", "spatial", "gradcam", "center")
UNIFORM = "uniform"


def plotted_rows(results: Sequence[dict]) -> list[dict]:
    """The rows of ``results`` (the JSON's ``results``) with a box energy and a map in :data:`PLOTTED_MAPS`,
    the priors once (they do not depend on the model), in the JSON's order, priors last."""
    rows = [row for row in distinct_rows(results, PLOTTED_MAPS) if "box_energy" in row]
    return sorted(rows, key=lambda r: r["kind"] == "baseline")  # stable: the JSON's order within each group


def uniform_energy(results: Sequence[dict]) -> float | None:
    """The uniform map's box energy (the boxes' mean area fraction), None without a scored uniform row."""
    return next((r["box_energy"] for r in results if r["map"] == UNIFORM and "box_energy" in r), None)


#: The designs' short names; the plain model is named by its zoo's backbone where the caller knows it.
NAMES: dict[str, str] = {**ARCH_SHORT, "resnet": "no attention"}


def row_label(row: dict, names: Mapping[str, str] = NAMES) -> str:
    """``SE · layer3 · gradcam``; a prior by its map alone."""
    if row["kind"] == "baseline":
        return f"prior · {row['map']}"
    return f"{names.get(row['arch'], row['arch'])} · {row['block']} · {row['map']}"


def box_energy_figure(rows: Sequence[dict], uniform: float | None = None, title: str | None = None,
                      names: Mapping[str, str] = NAMES) -> go.Figure:
    """Box energy per row, its 95 % interval as an error bar, and ``uniform`` as a vertical line.

    One horizontal dot per row (top to bottom in the rows' order, labelled with ``names`` of the archs), error
    bars from ``box_energy_ci``; rows whose interval lies wholly above ``uniform`` are highlighted (they put more
    mass on the object than a uniform map does).
    """
    labels = [row_label(r, names) for r in rows]
    value = [float(r["box_energy"]) for r in rows]
    low = [float(r["box_energy_ci"][0]) for r in rows]
    high = [float(r["box_energy_ci"][1]) for r in rows]
    colours = [HIGHLIGHT if uniform is not None and lo > uniform else MUTED for lo in low]
    fig = go.Figure(go.Scatter(
        x=value, y=labels, mode="markers", name="box energy",
        marker=dict(color=colours, size=9),
        error_x=dict(type="data", symmetric=False, array=[h - v for h, v in zip(high, value)],
                     arrayminus=[v - lo for v, lo in zip(value, low)], thickness=1.5, width=4),
        customdata=[[lo, h, r.get("box_energy_n", "")] for lo, h, r in zip(low, high, rows)],
        hovertemplate="%{y}<br>box energy %{x:.3f} [%{customdata[0]:.3f}, %{customdata[1]:.3f}]"
                      "<br>%{customdata[2]} photos<extra></extra>",
    ))
    if uniform is not None:
        fig.add_vline(x=uniform, line=dict(color="grey", dash="dash"), name=UNIFORM,
                      annotation_text=f"uniform map: {uniform:.2f}", annotation_position="top")
    fig.update_yaxes(autorange="reversed", title=None)
    fig.update_xaxes(title="box energy (share of the map's mass inside the boxes)", range=[0, 1])
    fig.update_layout(title=title, height=120 + 26 * len(rows), margin=dict(l=10, r=10, t=60 if title else 40, b=40),
                      showlegend=False)
    return fig
