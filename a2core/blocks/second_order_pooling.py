"""Global Second-order Pooling block, channel version (GSoP-Net1, Gao et al., CVPR 2019).

    X' = ReLU(BN(W_r ReLU(X) + b_r))        (N, c', L)   c' channels, L positions
    Σ  = (1/L) (X' − μ)(X' − μ)ᵀ             (N, c', c')  channel covariance
    Σ̂  = row-BN(Σ)                          (N, c', c')  BatchNorm with row i of Σ as channel i
    u  = row-conv(Σ̂)                        (N, 4c')     row i → 4 numbers, each a dot product with the whole row
    s  = σ(W_u u + b_u)                     (N, c)       channel weights
    Y  = X ⊙ s

Where SE summarises each channel by its mean (first order), GSoP summarises
the channels by how they co-vary (second order), then gates channels like SE.
The row-wise convolution is a grouped convolution, kernel (c', 1) and c'
groups, so that each output sees one channel's covariances with all others.

This follows the authors' PyTorch code (``Bottleneck.chan_att`` in their
``torchvision/models/resnet.py``) layer for layer: the ReLU on the input is not
in place (X itself is scaled), the reduction and the row-wise and final
convolutions have biases, no non-linearity sits between the row-wise conv and
the final 1×1 conv, and the convolutions start from He's normal init (fan out),
as the authors' ResNet initialises every convolution. Remaining differences:

- c' defaults to c / 2: the authors fix c' = 128 for ResNet-50/101, whose
  stages have 256–2048 channels; on the CIFAR zoo's 32- and 64-channel stages
  128 would exceed c. Pass ``reduced_channels=128`` to reproduce them.
- The authors' first stage (56×56 maps) strides its reduction conv by 2, so Σ
  is taken over a quarter of the positions there; this block always uses all
  positions, which is the definition and only costs time.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .common import at_least_float32, flatten_spatial, pointwise


@dataclass
class GlobalSecondOrderPoolingMaps:
    """covariance: (N, c', c') channel covariance Σ; channel: (N, c) weights in (0, 1)."""

    covariance: Tensor
    channel: Tensor


class GlobalSecondOrderPooling(nn.Module):
    """GSoP block (channel attention) for (N, c, H, W) or (N, c, T, H, W).

    Args:
        in_channels: c.
        reduced_channels: c', the channels whose covariance is taken (default c // 2).
    """

    def __init__(self, in_channels: int, reduced_channels: int | None = None):
        super().__init__()
        cr = reduced_channels or max(in_channels // 2, 2)
        self.reduced_channels = cr
        self.reduce = nn.Sequential(nn.Conv2d(in_channels, cr, 1), nn.BatchNorm2d(cr), nn.ReLU(inplace=True))
        self.row_norm = nn.BatchNorm2d(cr)
        self.row_conv = nn.Conv2d(cr, 4 * cr, kernel_size=(cr, 1), groups=cr)
        self.fc = nn.Conv2d(4 * cr, in_channels, 1)
        for conv in (self.reduce[0], self.row_conv, self.fc):
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")

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
        cov = self.covariance(flatten_spatial(pointwise(self.reduce, x.relu())))  # (N, c', c')
        # rows of Σ as BatchNorm channels, Σ's columns as their (c' × 1) "image"
        rows = self.row_norm(cov.unsqueeze(-1).to(x.dtype))  # (N, c', c', 1)
        s = self.fc(self.row_conv(rows)).sigmoid()  # (N, c, 1, 1)
        y = x * s.view(*s.shape[:2], *([1] * (x.dim() - 2)))
        if not return_maps:
            return y
        return y, GlobalSecondOrderPoolingMaps(covariance=cov, channel=at_least_float32(s.flatten(1)))
