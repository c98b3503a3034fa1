"""Split attention convolution (ResNeSt, Zhang et al., 2020; the authors' ``splat.py``).

A 3×3 convolution replaced by R "radix" splits, mixed per channel by attention across the splits:

    U   = ReLU(BN(grouped conv3×3(X)))            (N, R·c, H, W)   R splits, each from 1/R of the input channels
    U_r = U[:, r·c:(r+1)·c]                       (N, c, H, W)
    s   = mean_HW(Σ_r U_r)                        (N, c)
    a   = softmax_r(W₂ ReLU(BN(W₁ s + b₁)) + b₂)  (N, R, c)        per channel, weights over the splits
    V   = Σ_r a_r ⊙ U_r                           (N, c, H, W)

Like SKNet, but the splits share one kernel size and see different input channels (cardinality K groups,
each split in R; here K = 1, the ResNeSt-50 2s1x64d setting). The hidden width follows the authors:
max(c_in · R / 4, 32).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from .common import at_least_float32, he_init, require_image, select_branches


@dataclass
class SplitAttentionMaps:
    """radix: (N, R, c) softmax over the R splits for each channel."""

    radix: Tensor


class SplitAttention(nn.Module):
    """Split-attention conv for (N, c_in, H, W) → (N, c_out, H/stride, W/stride); BN and ReLU are inside.

    Args:
        in_channels, out_channels, stride: as the 3×3 convolution it replaces.
        radix: R ≥ 2, the number of splits.
        groups: cardinality K.
        reduction, min_channels: the hidden width max(c_in · R // reduction, min_channels) (4 and 32).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, radix: int = 2, groups: int = 1,
                 reduction: int = 4, min_channels: int = 32):
        super().__init__()
        if radix < 2:
            raise ValueError(f"split attention needs radix ≥ 2 (the splits it attends over), got {radix}")
        self.radix, self.groups = radix, groups
        hidden = max(in_channels * radix // reduction, min_channels)
        self.conv = nn.Conv2d(in_channels, out_channels * radix, 3, stride, 1, groups=groups * radix, bias=False)
        self.bn0 = nn.BatchNorm2d(out_channels * radix)
        self.act0 = nn.ReLU(inplace=True)
        self.fc1 = nn.Conv2d(out_channels, hidden, 1, groups=groups)
        self.bn1 = nn.BatchNorm2d(hidden)
        self.act1 = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, out_channels * radix, 1, groups=groups)
        he_init(self)  # it stands in for a backbone conv, so it starts as the backbone's convs do

    def forward(self, x: Tensor, return_maps: bool = False):
        require_image(x, "SplitAttention")
        u = self.act0(self.bn0(self.conv(x)))
        n, rc, h, w = u.shape
        u = u.view(n, self.radix, rc // self.radix, h, w)  # (N, R, c, H, W): split r is channels r·c … (r+1)·c
        s = u.sum(1).mean((2, 3), keepdim=True)  # (N, c, 1, 1)
        logits = self.fc2(self.act1(self.bn1(self.fc1(s))))  # (N, R·c, 1, 1) laid out (K, R, c / K)
        a = at_least_float32(logits.view(n, self.groups, self.radix, -1)).softmax(dim=2)
        a = a.transpose(1, 2).reshape(n, self.radix, -1)  # (N, R, c) in the splits' (R, K, c / K) layout
        y = select_branches(u, a, x.dtype)
        if not return_maps:
            return y
        return y, SplitAttentionMaps(radix=a)

    def extra_repr(self) -> str:
        return f"radix={self.radix}, groups={self.groups}"
