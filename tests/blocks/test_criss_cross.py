"""Criss-cross attention against the authors' pure-PyTorch pass (``reference_blocks.AuthorsCrissCross``)."""

from __future__ import annotations

import pytest
import torch

from a2core.blocks import CrissCrossAttention
from a2core.blocks.criss_cross import dense_cross

from tests.blocks.reference_blocks import AuthorsCrissCross
from tests.blocks.helpers import switch_on

TOL = dict(rtol=1e-5, atol=1e-5)


def on_cross(h: int, w: int) -> torch.Tensor:
    """(L, L) bool: key k on query u's row or column, written from coordinates."""
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()
    return (rows[:, None] == rows[None]) | (cols[:, None] == cols[None])


@pytest.mark.parametrize("hw", [(5, 5), (4, 7)])
def test_two_passes_equal_the_authors_module_applied_twice(hw):
    block = switch_on(CrissCrossAttention(16)).eval()
    ref = AuthorsCrissCross(block)
    x = torch.randn(2, 16, *hw)
    y, maps = block(x, return_maps=True)
    x1, concate1 = ref(x)
    x2, concate2 = ref(x1)
    torch.testing.assert_close(y, x2, **TOL)
    h, w = hw
    for a, concate in zip(maps.attention.unbind(1), (concate1, concate2)):
        # the authors' concate[n, i, j] holds query (i, j)'s weights: its column (keys (g, j), itself masked to
        # zero), then its row (keys (i, v), itself included)
        dense = a.view(2, h, w, h, w)
        for i in range(h):
            for j in range(w):
                assert (concate[:, i, j, i] == 0).all()
                others = [g for g in range(h) if g != i]
                torch.testing.assert_close(dense[:, i, j, others, j], concate[:, i, j, others], **TOL)
                torch.testing.assert_close(dense[:, i, j, i, :], concate[:, i, j, h:], **TOL)


def test_each_pass_attends_over_the_cross_and_two_passes_reach_everything():
    block = switch_on(CrissCrossAttention(8)).eval()
    h, w = 4, 6
    _, maps = block(torch.randn(3, 8, h, w), return_maps=True)
    assert maps.attention.shape == (3, 2, h * w, h * w) and maps.spatial == (h, w)
    cross = on_cross(h, w)
    for a in maps.attention.unbind(1):
        assert (a[:, ~cross] == 0).all()
        assert (a[:, cross] > 0).all()  # H + W − 1 keys each, the query itself once
        torch.testing.assert_close(a.sum(-1), torch.ones(3, h * w))
    assert (maps.reach > 0).all()  # every position reaches every other in two passes
    torch.testing.assert_close(maps.reach.sum(-1), torch.ones(3, h * w))
    # reach[u, k] = Σ_v a2[u, v] a1[v, k], summed by hand over the middle position
    a1, a2 = maps.attention[0, 0], maps.attention[0, 1]
    u, k = 5, 18
    torch.testing.assert_close(maps.reach[0, u, k], sum(a2[u, v] * a1[v, k] for v in range(h * w)), **TOL)


def test_dense_cross_puts_the_query_itself_once():
    a_col = torch.zeros(1, 2, 3, 2)
    a_row = torch.zeros(1, 2, 3, 3)
    a_row[0, 1, 2, 2] = 1.0  # query (1, 2) on itself, through its row
    dense = dense_cross(a_col, a_row)
    assert dense[0, 1 * 3 + 2, 1 * 3 + 2] == 1 and dense.sum() == 1


def test_starts_as_the_identity_and_recurrence_is_configurable():
    block = CrissCrossAttention(8, recurrence=3)
    x = torch.randn(2, 8, 4, 4)
    y, maps = block(x, return_maps=True)
    torch.testing.assert_close(y, x)  # γ = 0
    assert maps.attention.shape[1] == 3
    assert block.query.out_channels == 1 and CrissCrossAttention(64).query.out_channels == 8
