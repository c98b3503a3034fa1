"""Global Second-order Pooling block (GSoP-Net, Gao et al., CVPR 2019).

    X' = ReLU(BN(W_r X))                    (N, c', L)   c' = c / r channels
    Σ  = (1/L) (X' − μ)(X' − μ)ᵀ             (N, c', c')  channel covariance
    u  = ReLU(row-conv(Σ))                  (N, 4c')     each row of Σ → 4 numbers
    s  = σ(W_u u)                           (N, c)       channel weights
    Y  = X ⊙ s

Where SE summarises each channel by its mean (first order), GSoP summarises
the channels by how they co-vary (second order), then gates channels like SE.
The row-wise convolution is a grouped convolution whose kernel spans a whole
row of Σ, so every output sees one channel's correlations with all others.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .common import at_least_float32, flatten_spatial, pointwise


@dataclass
class GlobalSecondOrderPoolingMaps:
    """covariance: (N, c', c') channel covariance; channel: (N, c) weights in (0, 1)."""

    covariance: Tensor
    channel: Tensor


class GlobalSecondOrderPooling(nn.Module):
    """GSoP block for (N, c, H, W) or (N, c, T, H, W).

    Args:
        in_channels: c.
        reduced_channels: c', the channels whose covariance is taken (default c // 2).
    """

    def __init__(self, in_channels: int, reduced_channels: int | None = None):
        super().__init__()
        cr = reduced_channels or max(in_channels // 2, 2)
        self.reduced_channels = cr
        self.reduce = nn.Sequential(
            nn.Conv2d(in_channels, cr, 1, bias=False), nn.BatchNorm2d(cr), nn.ReLU(inplace=True)
        )
        self.row_conv = nn.Sequential(
            nn.Conv2d(cr, 4 * cr, kernel_size=(cr, 1), groups=cr, bias=False),
            nn.BatchNorm2d(4 * cr),
            nn.ReLU(inplace=True),
        )
        self.fc = nn.Conv2d(4 * cr, in_channels, 1)

    @staticmethod
    def covariance(x: Tensor) -> Tensor:
        """(N, c', L) → (N, c', c'), the biased covariance over the L positions.

        Computed in at least float32 with autocast off: under autocast the
        matrix product would otherwise run in bf16.
        """
        with torch.autocast(x.device.type, enabled=False):
            x = at_least_float32(x)
            centred = x - x.mean(dim=-1, keepdim=True)
            return torch.bmm(centred, centred.transpose(1, 2)) / x.shape[-1]

    def forward(self, x: Tensor, return_maps: bool = False):
        cov = self.covariance(flatten_spatial(pointwise(self.reduce, x)))  # (N, c', c')
        u = self.row_conv(cov.unsqueeze(-1).to(x.dtype))  # (N, 4c', 1, 1)
        s = self.fc(u).sigmoid()  # (N, c, 1, 1)
        y = x * s.view(*s.shape[:2], *([1] * (x.dim() - 2)))
        if not return_maps:
            return y
        return y, GlobalSecondOrderPoolingMaps(covariance=cov, channel=at_least_float32(s.flatten(1)))
