"""SplitAttention against timm's ``SplitAttn`` (ResNeSt's ``splat.py`` adapted, with BatchNorm as ResNeSt)."""

from __future__ import annotations

import pytest
import torch
from timm.layers.split_attn import SplitAttn

from a2core.blocks import SplitAttention

from tests.blocks.helpers import switch_on

TOL = dict(rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("c_in,c_out,stride,radix,groups", [(16, 16, 1, 2, 1), (16, 32, 2, 2, 1), (32, 32, 1, 4, 2)])
def test_equals_timm_split_attn(c_in, c_out, stride, radix, groups):
    block = switch_on(SplitAttention(c_in, c_out, stride, radix=radix, groups=groups)).eval()
    ref = SplitAttn(c_in, c_out, stride=stride, radix=radix, groups=groups, norm_layer=torch.nn.BatchNorm2d)
    assert ref.fc1.out_channels == block.fc1.out_channels  # the same hidden-width rule, max(c·R/4, 32) here
    ref.load_state_dict(block.state_dict())
    ref.eval()
    x = torch.randn(3, c_in, 8, 10)
    y, maps = block(x, return_maps=True)
    torch.testing.assert_close(y, ref(x), **TOL)
    assert maps.radix.shape == (3, radix, c_out)
    torch.testing.assert_close(maps.radix.sum(1), torch.ones(3, c_out))


def test_radix_weights_are_what_each_split_is_multiplied_by():
    block = switch_on(SplitAttention(8, 8, radix=2)).eval()
    x = torch.randn(2, 8, 5, 5)
    y, maps = block(x, return_maps=True)
    u = block.act0(block.bn0(block.conv(x))).view(2, 2, 8, 5, 5)
    torch.testing.assert_close(y, (u * maps.radix[..., None, None]).sum(1), **TOL)


def test_radix_one_is_refused():
    with pytest.raises(ValueError, match="radix"):
        SplitAttention(8, 8, radix=1)
