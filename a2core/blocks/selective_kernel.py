"""Selective Kernel convolution (SKNet, Li et al., CVPR 2019).

A 3×3 convolution replaced by M branches with growing receptive fields, mixed per channel by attention:

    U_m = ReLU(BN(conv3×3_{dilation m}(X)))       (N, c, H, W)   split: m = 1 … M (dilation 2 ≈ a 5×5 kernel)
    s   = mean_HW(Σ_m U_m)                        (N, c)         fuse
    z   = ReLU(BN(W s))                           (N, d)         d = max(c / r, L)
    a   = softmax_m(A_m z)                        (N, M, c)      select: per channel, weights over the branches
    V   = Σ_m a_m ⊙ U_m                           (N, c, H, W)

The attention chooses, channel by channel, how much of each receptive field to use: the "SK" maps show which
kernel size each channel picks for this image. The paper realises the 5×5 branch as a 3×3 with dilation 2, as
here, and uses grouped convolutions because its backbone is ResNeXt; the zoo's backbone is a ResNet, so the
branches are plain convolutions (``groups=1``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .common import at_least_float32, conv_bn, he_init, require_image, select_branches


@dataclass
class SelectiveKernelMaps:
    """branch: (N, M, c) softmax over the M branches for each channel (branch m has dilation ``dilations[m]``)."""

    branch: Tensor


class SelectiveKernel(nn.Module):
    """SK convolution for (N, c_in, H, W) → (N, c_out, H/stride, W/stride); BN and ReLU are inside each branch.

    Args:
        in_channels, out_channels, stride: as the 3×3 convolution it replaces.
        dilations: one 3×3 branch per dilation (the paper's M = 2: 3×3 and "5×5").
        reduction, min_channels: r and L of d = max(c / r, L) (16 and 32 in the paper).
        groups: of each branch's convolution.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, dilations: tuple[int, ...] = (1, 2),
                 reduction: int = 16, min_channels: int = 32, groups: int = 1):
        super().__init__()
        self.dilations = tuple(dilations)
        self.paths = nn.ModuleList(
            conv_bn(in_channels, out_channels, 3, stride, dilation=d, groups=groups, act=True) for d in self.dilations
        )
        hidden = max(out_channels // reduction, min_channels)
        self.fc_reduce = nn.Conv2d(out_channels, hidden, 1, bias=False)
        self.bn = nn.BatchNorm2d(hidden)
        self.act = nn.ReLU(inplace=True)
        self.fc_select = nn.Conv2d(hidden, out_channels * len(self.dilations), 1, bias=False)
        he_init(self)  # it stands in for a backbone conv, so it starts as the backbone's convs do

    def forward(self, x: Tensor, return_maps: bool = False):
        require_image(x, "SelectiveKernel")
        u = torch.stack([path(x) for path in self.paths], dim=1)  # (N, M, c, H, W)
        s = u.sum(1).mean((2, 3), keepdim=True)  # (N, c, 1, 1)
        logits = self.fc_select(self.act(self.bn(self.fc_reduce(s))))  # (N, M·c, 1, 1)
        a = at_least_float32(logits.view(u.shape[:3])).softmax(dim=1)  # (N, M, c)
        y = select_branches(u, a, x.dtype)
        if not return_maps:
            return y
        return y, SelectiveKernelMaps(branch=a)

    def extra_repr(self) -> str:
        return f"dilations={self.dilations}"
