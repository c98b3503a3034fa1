"""analysis: entropy, usage, orders and the implied attention, against direct computations."""

import numpy as np
import pytest
import torch

from a2core.probe import analysis
from a2core.blocks import DoubleAttention


def random_maps(n=5, h=4, w=6, seed=0):
    rng = np.random.default_rng(seed)
    b = rng.normal(size=(n, h * w)) * 2
    v = rng.normal(size=(n, h * w)) * 2
    gather = np.exp(b) / np.exp(b).sum(axis=1, keepdims=True)  # softmax over positions
    distribute = np.exp(v) / np.exp(v).sum(axis=0, keepdims=True)  # softmax over descriptors
    return gather.reshape(n, h, w), distribute.reshape(n, h, w)


def test_entropy_bounds_and_values():
    n, h, w = 3, 4, 4
    gather = np.zeros((n, h, w))
    gather[0] = 1 / (h * w)  # uniform: log L
    gather[1, 2, 3] = 1  # one position: 0
    gather[2, 0, :2] = 0.5  # two positions: log 2
    entropy = analysis.gathering_entropy(gather)
    np.testing.assert_allclose(entropy, [np.log(h * w), 0.0, np.log(2)], atol=1e-12)


def test_usage_sums_to_the_number_of_positions():
    gather, distribute = random_maps()
    usage = analysis.descriptor_usage(distribute)
    np.testing.assert_allclose(usage, distribute.reshape(5, -1).sum(axis=1))
    assert usage.sum() == pytest.approx(4 * 6)


@pytest.mark.parametrize("by", analysis.SORTS)
def test_orders_are_permutations_sorted_by_their_key(by):
    gather, distribute = random_maps(n=7)
    order = analysis.descriptor_order(gather, distribute, by)
    assert sorted(order) == list(range(7))
    if by == "usage":
        assert np.all(np.diff(analysis.descriptor_usage(distribute)[order]) <= 0)
    elif by == "sharpness":
        assert np.all(np.diff(analysis.gathering_entropy(gather)[order]) >= 0)
    else:
        assert list(order) == list(range(7))


def test_unknown_order_is_refused():
    gather, distribute = random_maps()
    with pytest.raises(ValueError, match="sort"):
        analysis.descriptor_order(gather, distribute, "random")


def test_implied_attention_is_the_row_of_the_pairwise_matrix():
    gather, distribute = random_maps(n=4, h=3, w=5)
    # Direct: P = softmax(θ)ᵀ softmax(ρ) (L × L); what j receives is column j of P.
    p = gather.reshape(4, -1).T @ distribute.reshape(4, -1)
    for row, col in [(0, 0), (1, 3), (2, 4)]:
        j = row * 5 + col
        got = analysis.implied_attention(gather, distribute, (row, col))
        assert got.shape == (3, 5)
        np.testing.assert_allclose(got.ravel(), p[:, j], atol=1e-12)
        assert got.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(analysis.implied_attention_matrix(gather, distribute), p.T, atol=1e-12)


def test_implied_attention_reproduces_the_block_output():
    # z_j from the block equals A · (what j receives): the implied attention is exactly what A² computes.
    torch.manual_seed(0)
    block = DoubleAttention(8, m=4, n=3).eval()
    x = torch.randn(1, 8, 5, 6)
    _, maps = block(x, return_maps=True)
    a = block.phi(x).flatten(2)[0]  # (m, L)
    gather, distribute = maps.gather[0], maps.distribute[0]
    g = maps.descriptors[0]  # (m, n)
    for row, col in [(0, 0), (2, 3), (4, 5)]:
        z_direct = g @ distribute[:, row, col]
        weights = torch.from_numpy(analysis.implied_attention(gather, distribute, (row, col))).float()
        torch.testing.assert_close(a @ weights.flatten(), z_direct, atol=1e-5, rtol=1e-4)


def test_position_index_maps_fractions_to_cells():
    assert analysis.position_index((0.0, 0.0), (8, 8)) == (0, 0)
    assert analysis.position_index((0.5, 0.26), (8, 8)) == (4, 2)
    assert analysis.position_index((1.0, 0.999), (16, 4)) == (15, 3)
    assert analysis.position_index((-0.2, 1.7), (8, 8)) == (0, 7)


def test_top_descriptors_of_a_position():
    gather, distribute = random_maps(n=6)
    top = analysis.top_descriptors(distribute, (1, 2), k=3)
    v = distribute[:, 1, 2]
    assert list(top) == list(np.argsort(-v)[:3])
    assert v[top[0]] == v.max()
