"""SelectiveKernel against timm's ``SelectiveKernel`` (whole input to every branch, the paper's setting)."""

from __future__ import annotations

import pytest
import torch
from timm.layers.selective_kernel import SelectiveKernel as TimmSelectiveKernel

from a2core.blocks import SelectiveKernel

from tests.blocks.helpers import switch_on

TOL = dict(rtol=1e-5, atol=1e-5)


def to_timm(block: SelectiveKernel, stride: int) -> TimmSelectiveKernel:
    c_in, c_out = block.paths[0].conv.in_channels, block.paths[0].conv.out_channels
    ref = TimmSelectiveKernel(c_in, c_out, stride=stride, rd_channels=block.fc_reduce.out_channels,
                              split_input=False)  # kernel_size [3, 5] with keep_3x3: dilations 1 and 2
    state = {(k if k.startswith("paths.") else f"attn.{k}"): v for k, v in block.state_dict().items()}
    ref.load_state_dict(state)
    return ref.eval()


@pytest.mark.parametrize("c_in,c_out,stride", [(16, 16, 1), (16, 32, 2), (32, 64, 1)])
def test_equals_timm_selective_kernel(c_in, c_out, stride):
    block = switch_on(SelectiveKernel(c_in, c_out, stride)).eval()
    ref = to_timm(block, stride)
    x = torch.randn(3, c_in, 9, 11)
    y, maps = block(x, return_maps=True)
    torch.testing.assert_close(y, ref(x), **TOL)
    paths = torch.stack([p(x) for p in ref.paths], 1)
    torch.testing.assert_close(maps.branch, ref.attn(paths)[..., 0, 0], **TOL)
    assert maps.branch.shape == (3, 2, c_out)
    torch.testing.assert_close(maps.branch.sum(1), torch.ones(3, c_out))


def test_hidden_width_is_the_papers_max_of_c_over_r_and_L():
    assert SelectiveKernel(64, 64).fc_reduce.out_channels == 32  # max(64 / 16, 32)
    assert SelectiveKernel(64, 1024).fc_reduce.out_channels == 64
    assert [p.conv.dilation for p in SelectiveKernel(8, 8, dilations=(1, 2, 3)).paths] == [(1, 1), (2, 2), (3, 3)]
