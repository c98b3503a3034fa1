"""Helpers of the block tests."""

from __future__ import annotations

import torch
from torch import nn

from a2core import blocks


def switch_on(block: nn.Module) -> nn.Module:
    """Give every BatchNorm and the zero-initialised convs non-trivial values, so no path is cut at zero."""
    with torch.no_grad():
        for module in block.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_()
                module.running_mean.normal_(std=0.1)
                module.running_var.uniform_(0.5, 2.0)
        if isinstance(block, blocks.GlobalContext):
            block.transform[-1].weight.normal_(std=0.5)
            block.transform[-1].bias.normal_()
        if isinstance(block, blocks.CrissCrossAttention):
            block.gamma.fill_(0.7)
    return block
