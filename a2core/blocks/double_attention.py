"""Double attention block (A²-Nets, Chen et al., NeurIPS 2018).

For a feature map X with c channels and L = h·w (or t·h·w) positions:

    A = φ(X)                       (m × L)   features to gather
    B = θ(X)                       (n × L)   gathering attention logits
    V = ρ(X)                       (n × L)   distribution attention logits
    gather:     G = A · softmax_L(B)ᵀ        (m × n)  g_i = A softmax(b̄_i)ᵀ
    distribute: Z = G · softmax_n(V)         (m × L)  z_j = G v_j
    Y = X + proj(Z)

``softmax_L`` normalises each descriptor's row over the L positions (its
*gathering map*); ``softmax_n`` normalises each position's column over the n
descriptors (its *distribution weights*).

The product is associative, so Z = A · (softmax_L(B)ᵀ softmax_n(V)) too. That
"pairwise" order materialises an L × L matrix, a rank-n non-local attention,
costing O(L²) memory where the "gather_first" order costs O(mn).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .common import at_least_float32, conv1x1_bn, flatten_spatial, pointwise

ORDERS = ("gather_first", "pairwise")


@dataclass
class DoubleAttentionMaps:
    """Attention tensors of one forward pass.

    gather:      (N, n, *spatial)  softmax over positions, one map per descriptor
    distribute:  (N, n, *spatial)  softmax over the n descriptors at each position
    descriptors: (N, m, n)         the global descriptors G = [g_1 … g_n]
    """

    gather: Tensor
    distribute: Tensor
    descriptors: Tensor


class DoubleAttention(nn.Module):
    """A² block for images (N, c, H, W) or videos (N, c, T, H, W).

    Args:
        in_channels: c, channels of X and of the output.
        m: channels of the gathered features A = φ(X).
        n: number of global descriptors (channels of θ(X) and ρ(X)).
        order: "gather_first" (O(mn) state) or "pairwise" (builds the L × L matrix).

    ``proj`` maps Z (N, m, *spatial) back to c channels; its BatchNorm starts at
    zero so that an inserted block starts as the identity.
    """

    def __init__(self, in_channels: int, m: int, n: int, order: str = "gather_first"):
        super().__init__()
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
        self.in_channels, self.m, self.n, self.order = in_channels, m, n, order
        self.phi = nn.Conv2d(in_channels, m, 1)
        self.theta = nn.Conv2d(in_channels, n, 1)
        self.rho = nn.Conv2d(in_channels, n, 1)
        self.proj = conv1x1_bn(m, in_channels, zero_init=True)

    def gather(self, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
        """(N, m, L), (N, n, L) → G (N, m, n), gathering maps (N, n, L)."""
        attn = at_least_float32(b).softmax(dim=-1)
        return torch.bmm(a, attn.transpose(1, 2).to(a.dtype)), attn

    def distribute(self, g: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """G (N, m, n), logits (N, n, L) → Z (N, m, L), distribution weights (N, n, L)."""
        attn = at_least_float32(v).softmax(dim=1)
        return torch.bmm(g, attn.to(g.dtype)), attn

    def no_weight_decay(self) -> set[str]:
        """Parameters that set the softmax's temperature; decaying them flattens the attention maps."""
        return {"theta.weight", "rho.weight"}

    def forward(self, x: Tensor, return_maps: bool = False):
        if x.dim() not in (4, 5):
            raise ValueError(f"expected (N, C, H, W) or (N, C, T, H, W), got shape {tuple(x.shape)}")
        spatial = x.shape[2:]
        a = flatten_spatial(pointwise(self.phi, x))
        b = flatten_spatial(pointwise(self.theta, x))
        v = flatten_spatial(pointwise(self.rho, x))
        if self.order == "gather_first":
            g, gather_attn = self.gather(a, b)
            z, dist_attn = self.distribute(g, v)
        else:
            gather_attn = at_least_float32(b).softmax(dim=-1)
            dist_attn = at_least_float32(v).softmax(dim=1)
            pairwise = torch.bmm(gather_attn.transpose(1, 2), dist_attn)  # (N, L, L)
            z = torch.bmm(a, pairwise.to(a.dtype))
            g = torch.bmm(a, gather_attn.transpose(1, 2).to(a.dtype))
        y = x + pointwise(self.proj, z.unflatten(2, spatial))
        if not return_maps:
            return y
        maps = DoubleAttentionMaps(
            gather=gather_attn.unflatten(2, spatial),
            distribute=dist_attn.unflatten(2, spatial),
            descriptors=at_least_float32(g),
        )
        return y, maps

    def extra_repr(self) -> str:
        return f"m={self.m}, n={self.n}, order={self.order!r}"
