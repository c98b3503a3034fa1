"""Triplet attention against a reference written from the authors' code (``reference_blocks.AuthorsTriplet``)."""

from __future__ import annotations

import pytest
import torch

from a2core.blocks import TripletAttention

from tests.blocks.reference_blocks import AuthorsTriplet
from tests.blocks.helpers import switch_on

TOL = dict(rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(2, 16, 6, 6), (3, 8, 5, 9)])
def test_equals_the_authors_triplet_attention(shape):
    block = switch_on(TripletAttention(shape[1])).eval()
    x = torch.randn(*shape)
    y, maps = block(x, return_maps=True)
    torch.testing.assert_close(y, AuthorsTriplet(block).eval()(x), **TOL)
    n, c, h, w = shape
    assert maps.channel_width.shape == (n, c, w)
    assert maps.channel_height.shape == (n, c, h)
    assert maps.spatial_map.shape == (n, h, w)


def test_each_branch_pools_the_third_dimension():
    block = switch_on(TripletAttention(6)).eval()
    x = torch.randn(2, 6, 4, 5)
    _, maps = block(x, return_maps=True)

    def gate(conv, t):  # t: (N, D, A, B), pooled over D, max first
        return torch.sigmoid(conv(torch.stack([t.amax(1), t.mean(1)], 1)))[:, 0]

    torch.testing.assert_close(maps.spatial_map, gate(block.hw, x), **TOL)  # over C
    torch.testing.assert_close(maps.channel_width, gate(block.cw, x.transpose(1, 2)), **TOL)  # over H
    torch.testing.assert_close(maps.channel_height, gate(block.hc, x.permute(0, 3, 2, 1)).mT, **TOL)  # over W
