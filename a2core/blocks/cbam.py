"""Convolutional Block Attention Module (CBAM, Woo et al., ECCV 2018).

Channel attention, then spatial attention, each a gate on the features:

    M_c = σ(MLP(mean_HW(X)) + MLP(max_HW(X)))          (N, c)     one shared MLP, c → c/r → c
    X'  = X ⊙ M_c
    M_s = σ(BN(conv7×7([mean_c(X'); max_c(X')])))       (N, H, W)  avg- and max-pooled over channels
    Y   = X' ⊙ M_s

The seed article's "mixed attention": SE's channel gate with max pooling beside the mean, then a gate per
position. The MLP has biases (the authors' ``nn.Linear``); the spatial conv has none and is followed by a
BatchNorm (their ``BasicConv``). The pooled maps are stacked average first, as the paper writes
[AvgPool; MaxPool] (the authors' code stacks max first: the same function with the conv's two input
channels swapped).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .common import conv_bn, gate, require_image


@dataclass
class CBAMMaps:
    """channel: (N, c) channel gate M_c in (0, 1); spatial_map: (N, H, W) spatial gate M_s in (0, 1)."""

    channel: Tensor
    spatial_map: Tensor


class CBAM(nn.Module):
    """CBAM for (N, c, H, W) input.

    Args:
        in_channels: c.
        reduction: r, the MLP's hidden layer has c // r channels (at least ``min_channels``). The paper uses
            r = 16 on ImageNet ResNets; the zoo's stages are a quarter as wide, so r = 4 as for its SE blocks.
        kernel_size: the spatial gate's convolution (7 in the paper).
    """

    def __init__(self, in_channels: int, reduction: int = 4, min_channels: int = 4, kernel_size: int = 7):
        super().__init__()
        hidden = max(in_channels // reduction, min_channels)
        self.mlp = nn.Sequential(nn.Conv2d(in_channels, hidden, 1), nn.ReLU(inplace=True),
                                 nn.Conv2d(hidden, in_channels, 1))
        self.spatial = conv_bn(2, 1, kernel_size)

    def forward(self, x: Tensor, return_maps: bool = False):
        require_image(x, "CBAM")
        channel = gate(self.mlp(x.mean((2, 3), keepdim=True)) + self.mlp(x.amax((2, 3), keepdim=True)))  # (N,c,1,1)
        x = x * channel.to(x.dtype)
        pooled = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], dim=1)  # (N, 2, H, W)
        spatial = gate(self.spatial(pooled))  # (N, 1, H, W)
        y = x * spatial.to(x.dtype)
        if not return_maps:
            return y
        return y, CBAMMaps(channel=channel.flatten(1), spatial_map=spatial[:, 0])
