"""Figures of the Compare page (and the Learn page's figures), built from small arrays."""

from __future__ import annotations

import numpy as np
import pytest

from a2core import figures_compare as fc
from a2core import figures_learn as fl
from a2core.cost import double_attention_costs
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
    from a2core.models import ARCHS

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


def test_bilinear_figure_sums_the_outer_products():
    rng = np.random.default_rng(1)
    a, b = rng.random((3, 10)), rng.random((2, 10))
    fig = fl.bilinear_figure(a, b, [0, 4])
    np.testing.assert_allclose(fig.data[1].z, np.outer(a[:, 4], b[:, 4]))
    np.testing.assert_allclose(fig.data[-1].z, a @ b.T)


def test_orders_figure_uses_the_costs():
    costs = double_attention_costs(c=8, m=4, n=2, t=1, h=10, w=10)
    fig = fl.orders_figure(costs)
    memory, flops = fig.data
    assert list(memory.y) == [4 * 2 * 4, 100 * 100 * 4]
    assert list(flops.y) == [costs["gather_first"].flops, costs["pairwise"].flops]
    assert fl.human_bytes(1048576) == "1.0 MiB" and fl.human_count(2.5e9) == "2.50 G"
