"""a2core.figures.measure: which rows are plotted, and the figure's dots, error bars and uniform line."""

from __future__ import annotations

import json

import numpy as np

from a2core.figures.measure import box_energy_figure, plotted_rows, row_label, uniform_energy
from a2core.weights import WEIGHTS_DIR


def row(arch, block, kind, map_, energy=None, ci=None):
    r = {"arch": arch, "block": block, "kind": kind, "map": map_, "grid": "10×10"}
    if energy is not None:
        r |= {"box_energy": energy, "box_energy_ci": list(ci), "box_energy_n": 5}
    return r


RESULTS = [
    row("a2_resnet", "layer3.1.attn", "DoubleAttention", "gather_0", 0.9, (0.8, 0.95)),  # one map: not plotted
    row("a2_resnet", "layer3.1.attn", "DoubleAttention", "gather", 0.6, (0.5, 0.7)),
    row("a2_resnet", "layer3.1.attn", "DoubleAttention", "rows", 0.6, (0.5, 0.7)),  # same mean as gather
    row("a2_resnet", "view", "baseline", "uniform", 0.4, (0.35, 0.45)),
    row("a2_resnet", "view", "baseline", "center", 0.55, (0.5, 0.6)),
    row("gc_resnet", "layer3.1.attn", "GlobalContext", "context", 0.3, (0.2, 0.42)),
    row("gc_resnet", "layer3", "GradCAM", "gradcam", 0.45, (0.38, 0.5)),
    row("gc_resnet", "view", "baseline", "center", 0.55, (0.5, 0.6)),  # a prior again: once is enough
    row("gc_resnet", "view", "baseline", "uniform", 0.4, (0.35, 0.45)),
    row("nl_resnet", "layer3.1.attn", "NonLocal", "row_mean"),  # not scored on boxes (no box_energy)
]


def test_plotted_rows_are_the_summaries_and_the_centred_prior_once_last():
    rows = plotted_rows(RESULTS)
    assert [(r["arch"], r["map"]) for r in rows] == [
        ("a2_resnet", "gather"), ("gc_resnet", "context"), ("gc_resnet", "gradcam"), ("a2_resnet", "center")]
    assert uniform_energy(RESULTS) == 0.4
    assert uniform_energy(RESULTS[:3]) is None
    assert row_label(rows[0]) == "A² · layer3.1.attn · gather" and row_label(rows[-1]) == "prior · center"
    plain = row("resnet", "layer3", "GradCAM", "gradcam", 0.5, (0.4, 0.6))
    assert row_label(plain) == "no attention · layer3 · gradcam"
    assert row_label(plain, {"resnet": "ResNet-18"}) == "ResNet-18 · layer3 · gradcam"


def test_figure_has_one_error_bar_per_row_and_the_uniform_line():
    rows = plotted_rows(RESULTS)
    fig = box_energy_figure(rows, uniform=0.4, title="t")
    (dots,) = fig.data
    np.testing.assert_allclose(dots.x, [0.6, 0.3, 0.45, 0.55])
    # Error bars reach the interval's ends: value + plus = high, value − minus = low.
    np.testing.assert_allclose(np.add(dots.x, dots.error_x.array), [0.7, 0.42, 0.5, 0.6])
    np.testing.assert_allclose(np.subtract(dots.x, dots.error_x.arrayminus), [0.5, 0.2, 0.38, 0.5])
    assert list(dots.y) == [row_label(r) for r in rows]
    (line,) = [s for s in fig.layout.shapes if s.name == "uniform"]
    assert line.x0 == line.x1 == 0.4
    # Highlighted: the rows whose whole interval is above the uniform map (gather, the centred prior).
    colours = list(dots.marker.color)
    assert colours[0] == colours[3] != colours[1] == colours[2]


def test_figure_without_uniform_has_no_line():
    fig = box_energy_figure(plotted_rows(RESULTS))
    assert not [s for s in fig.layout.shapes if s.name == "uniform"]
    assert len(fig.data[0].x) == 4


def test_figure_of_the_shipped_photo_zoo_json():
    results = json.loads((WEIGHTS_DIR / "imagenette" / "attention_val.json").read_text())["results"]
    rows = plotted_rows(results)
    # Every design's summary maps, a Grad-CAM per model, and the centred prior; CBAM's spatial gate once it ships.
    spatial = {"spatial"} if any(r["arch"] == "cbam_resnet" for r in results) else set()
    assert {r["map"] for r in rows} == {"gather", "row_mean", "context", "gradcam", "center"} | spatial
    assert sum(r["map"] == "gradcam" for r in rows) == len({r["arch"] for r in results})
    fig = box_energy_figure(rows, uniform=uniform_energy(results))
    assert len(fig.data[0].x) == len(rows)
