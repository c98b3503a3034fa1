"""Figures of the Compare page (and the Learn page's figures), built from small arrays."""

from __future__ import annotations

import numpy as np
import pytest

from a2core.figures import compare as fc
from a2core.figures import learn as fl
from a2core.lessons.cost import double_attention_costs
from a2core.figures import HIGHLIGHT, MUTED


def test_channel_bars_are_sorted_and_highlight_the_top():
    w = np.array([0.2, 0.9, 0.1, 0.5, 0.7])
    fig = fc.channel_bars(w, top=2)
    bar = fig.data[0]
    assert list(bar.x) == ["ch 1", "ch 4", "ch 3", "ch 0", "ch 2"]
    assert list(bar.y) == sorted(w, reverse=True)
    assert list(bar.marker.color) == [HIGHLIGHT, HIGHLIGHT, MUTED, MUTED, MUTED]
    assert list(fc.top_channels(w, 3)) == [1, 4, 3]
    with pytest.raises(ValueError):
        fc.channel_bars(np.zeros((2, 2)))


def test_feature_maps_lie_over_the_image_cell_by_cell():
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    x = np.random.default_rng(0).normal(size=(6, 8, 8))
    fig = fc.feature_maps_over_image(image, x, [4, 1], weights=np.linspace(0, 1, 6))
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 2 and sum(t.type == "image" for t in fig.data) == 2
    np.testing.assert_array_equal(heatmaps[0].z, x[4])
    # an 8×8 map over 32 px: each cell is 4 px wide, the first centred on pixel 1.5
    assert heatmaps[0].dx == 4 and heatmaps[0].x0 == 1.5
    # signed activations: a symmetric scale
    assert heatmaps[1].zmin == -heatmaps[1].zmax == -np.abs(x[1]).max()
    titles = [a.text for a in fig.layout.annotations]
    assert titles[0].startswith("ch 4") and "0.80" in titles[0]


def test_attention_row_picks_the_query_row():
    h, w = 3, 4
    attention = np.arange(144, dtype=float).reshape(12, 12)
    row = fc.attention_row(attention, (1, 2), (h, w))
    np.testing.assert_array_equal(row.ravel(), attention[1 * w + 2])
    assert row.shape == (h, w)
    with pytest.raises(ValueError):
        fc.attention_row(attention, (0, 0), (4, 4))


def test_covariance_heatmap_is_centred_on_zero():
    cov = np.array([[2.0, -0.5], [-0.5, 1.0]])
    heat = fc.covariance_heatmap(cov).data[0]
    assert heat.zmin == -2.0 and heat.zmax == 2.0
    with pytest.raises(ValueError):
        fc.covariance_heatmap(np.zeros((2, 3)))


def test_every_arch_has_a_label():
    from a2core.models import ALL_ARCHS as ARCHS

    assert set(fc.ARCH_LABELS) == set(ARCHS)


def test_maps_grid_and_matrix_heatmap_show_the_values():
    maps = np.arange(2 * 3 * 3, dtype=float).reshape(2, 3, 3)
    fig = fl.maps_grid(maps, ["a", "b"], show_values=True)
    assert len(fig.data) == 2
    np.testing.assert_array_equal(fig.data[1].z, maps[1])
    assert fig.data[0].zmax == 17 and fig.data[0].texttemplate == "%{z:.2f}"
    m = fl.matrix_heatmap(np.eye(2), x_labels=["g1", "g2"], y_labels=["ball", "bat"])
    assert list(m.data[0].x) == ["g1", "g2"]
    with pytest.raises(ValueError):
        fl.maps_grid(np.zeros((3, 3)))


def test_orders_figure_uses_the_costs():
    costs = double_attention_costs(c=8, m=4, n=2, t=1, h=10, w=10)
    fig = fl.orders_figure(costs)
    memory, flops = fig.data
    assert list(memory.y) == [4 * 2 * 4, 100 * 100 * 4]
    assert list(flops.y) == [costs["gather_first"].flops, costs["pairwise"].flops]
    assert fl.human_bytes(1048576) == "1.0 MiB" and fl.human_count(2.5e9) == "2.50 G"


def test_human_units_cover_every_size_the_calculator_takes():
    assert fl.human_bytes(87 * 2**50) == "87.0 PiB" and fl.human_bytes(2**80) == "1.0 YiB"
    assert fl.human_bytes(4 * 10**30) == "4.0e+30 B"
    assert fl.human_count(9.8e16) == "98.00 P" and fl.human_count(5 * 10**35) == "5.00e+35"
    assert fl.human_bytes(2**30, digits=0) == "1 GiB" and fl.human_count(1e12, digits=0) == "1 T"


def test_orders_figure_labels_log_axes_in_the_bars_units():
    costs = double_attention_costs(c=1024, m=512, n=512, t=32, h=28, w=28)
    fig = fl.orders_figure(costs)
    assert fig.layout.yaxis.type == "log" and list(fig.layout.yaxis.ticktext) == ["1 MiB", "1 GiB", "1 TiB"]
    assert list(fig.layout.yaxis.tickvals) == [2.0**20, 2.0**30, 2.0**40]
    assert list(fig.layout.yaxis2.ticktext) == ["1 G", "1 T", "1 P"]  # around 26.31 G and 1.29 T
    # any size: no C long in the figure, every bar labelled with its unit
    huge = double_attention_costs(c=10**5, m=10**5, n=10**5, t=10**5, h=10**5, w=10**5)
    memory, flops = fl.orders_figure(huge).data
    assert all(isinstance(v, float) for v in list(memory.y) + list(flops.y))
    assert list(memory.text) == [fl.human_bytes(huge[o].attention_bytes) for o in ("gather_first", "pairwise")]


def test_maps_grid_tiles_are_square_and_bare():
    fig = fl.maps_grid(np.random.default_rng(0).normal(size=(3, 6, 6)), zmid=0, colorscale="RdBu_r")
    for i, suffix in enumerate(["", "2", "3"]):
        y, x = fig.layout[f"yaxis{suffix}"], fig.layout[f"xaxis{suffix}"]
        assert y.scaleanchor == f"x{suffix}" and y.scaleratio == 1, "each tile square on its own x axis"
        assert x.visible is False and y.visible is False, "no stray ticks or grid lines"
    # one symmetric colour scale, one colour bar
    assert [t.showscale for t in fig.data] == [True, False, False]
    assert fig.data[0].zmin == -fig.data[0].zmax


def test_pixelated_repeats_whole_pixels():
    image = np.arange(2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 3)
    big = fl.pixelated(image, 160)
    assert big.shape == (160, 160, 3)
    np.testing.assert_array_equal(big[:80, :80], np.broadcast_to(image[0, 0], (80, 80, 3)))
    assert fl.pixelated(np.zeros((32, 32, 3), np.uint8), 160).shape == (160, 160, 3)
