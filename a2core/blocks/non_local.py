"""Non-local block, embedded Gaussian version (Wang et al., CVPR 2018).

    θ = W_θ X,  φ = W_φ X,  g = W_g X       (N, c', L) each, c' = c/2
    f = softmax_keys(θᵀ φ)                   (N, L, L)  row j: where query j looks
    Y = X + W_z (g fᵀ)                       (N, c, *spatial)

Every position attends to every other: memory and time grow as L², which is
what A²-Nets avoid by factorising the L × L matrix through n descriptors.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .common import at_least_float32, conv1x1_bn, flatten_spatial, pointwise


@dataclass
class NonLocalMaps:
    """attention: (N, L, L), row j is query position j's softmax over all key positions.

    spatial: the feature map's (H, W) or (T, H, W), with L their product.
    """

    attention: Tensor
    spatial: tuple[int, ...]


class NonLocal(nn.Module):
    """Embedded-Gaussian non-local block for (N, c, H, W) or (N, c, T, H, W).

    Args:
        in_channels: c.
        inter_channels: c' of the embeddings θ, φ, g (default c // 2).

    ``proj`` (W_z) ends in a BatchNorm initialised to zero, so the block starts
    as the identity, as the paper recommends.
    """

    def __init__(self, in_channels: int, inter_channels: int | None = None):
        super().__init__()
        inter = inter_channels or max(in_channels // 2, 1)
        self.inter_channels = inter
        self.theta = nn.Conv2d(in_channels, inter, 1)
        self.phi = nn.Conv2d(in_channels, inter, 1)
        self.g = nn.Conv2d(in_channels, inter, 1)
        self.proj = conv1x1_bn(inter, in_channels, zero_init=True)

    def no_weight_decay(self) -> set[str]:
        """Parameters that set the softmax's temperature; decaying them flattens the attention maps."""
        return {"theta.weight", "phi.weight"}

    def forward(self, x: Tensor, return_maps: bool = False):
        spatial = x.shape[2:]
        q = flatten_spatial(pointwise(self.theta, x))  # (N, c', L)
        k = flatten_spatial(pointwise(self.phi, x))
        v = flatten_spatial(pointwise(self.g, x))
        attn = at_least_float32(torch.bmm(q.transpose(1, 2), k)).softmax(dim=-1)  # (N, L, L)
        out = torch.bmm(v, attn.transpose(1, 2).to(v.dtype))  # (N, c', L)
        y = x + pointwise(self.proj, out.unflatten(2, spatial))
        if not return_maps:
            return y
        return y, NonLocalMaps(attention=attn, spatial=tuple(spatial))
