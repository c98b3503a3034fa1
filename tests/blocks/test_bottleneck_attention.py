"""BAM against a reference written from the authors' code (``reference_blocks.AuthorsBAM``)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from a2core.blocks import BottleneckAttention

from tests.blocks.reference_blocks import AuthorsBAM
from tests.blocks.helpers import switch_on

TOL = dict(rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("c,hw", [(16, (8, 8)), (32, (6, 10))])
def test_equals_the_authors_bam(c, hw, train):
    block = switch_on(BottleneckAttention(c)).train(train)
    ref = AuthorsBAM(c, block.channel[0].out_channels).load_from(block).train(train)
    x = torch.randn(4, c, *hw)
    y, maps = block(x, return_maps=True)
    torch.testing.assert_close(y, ref(x), **TOL)
    torch.testing.assert_close(maps.attention, ref(x) / x - 1, rtol=1e-4, atol=1e-4)


def test_maps_are_the_branches_and_their_gate():
    block = switch_on(BottleneckAttention(16)).eval()
    x = torch.randn(2, 16, 7, 5)
    y, maps = block(x, return_maps=True)
    assert maps.channel_logits.shape == (2, 16) and maps.spatial_logits.shape == (2, 7, 5)
    expected = torch.sigmoid(maps.channel_logits[..., None, None] + maps.spatial_logits[:, None])
    torch.testing.assert_close(maps.attention, expected, **TOL)
    torch.testing.assert_close(maps.spatial_map, expected.mean(1), **TOL)
    torch.testing.assert_close(y, x * (1 + expected), **TOL)


def test_spatial_branch_is_dilated_and_reduced():
    block = BottleneckAttention(64, reduction=16, dilation=4)
    dilated = [m for m in block.spatial.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert [m.dilation for m in dilated] == [(4, 4), (4, 4)]
    assert block.channel[0].out_channels == block.spatial[0].out_channels == 4
