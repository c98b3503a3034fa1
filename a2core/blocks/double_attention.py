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

The gather-first forward computes the same Y with less work:

- φ, θ and ρ are one 1×1 convolution with m + 2n outputs (their weights concatenated).
- proj is linear, so proj's conv of Z is (W_p G) softmax_n(V): W_p G is only c × n,
  and the m × L matrix Z is never built. In eval mode the BatchNorm folds into
  it (scale into W_p, shift into every column, since each column of
  softmax_n(V) sums to 1), and the residual add rides on the last product:
  Y = X + H softmax_n(V) is one ``baddbmm``.

The fused weights are derived on the fly from ``phi``, ``theta``, ``rho`` and
``proj``, so the parameters (and the shipped weight files) are those of the
plain block. ``gather`` and ``distribute`` are the paper's two steps; the
forward uses ``gather`` as is and ``distribute`` folded into the projection.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .common import at_least_float32, conv1x1_bn, flatten_spatial, pointwise

ORDERS = ("gather_first", "pairwise")
LOGIT_INITS = ("default", "he")


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
        logit_init: how θ and ρ, whose outputs are softmax logits, start: "default" (PyTorch's
            conv init) or "he" (He normal, fan_out, as torchvision's ResNet starts its other convs).

    ``proj`` maps Z (N, m, *spatial) back to c channels; its BatchNorm starts at
    zero so that an inserted block starts as the identity.
    """

    def __init__(self, in_channels: int, m: int, n: int, order: str = "gather_first", logit_init: str = "default"):
        super().__init__()
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
        if logit_init not in LOGIT_INITS:
            raise ValueError(f"logit_init must be one of {LOGIT_INITS}, got {logit_init!r}")
        self.in_channels, self.m, self.n, self.order = in_channels, m, n, order
        self.phi = nn.Conv2d(in_channels, m, 1)
        self.theta = nn.Conv2d(in_channels, n, 1)
        self.rho = nn.Conv2d(in_channels, n, 1)
        self.proj = conv1x1_bn(m, in_channels, zero_init=True)
        if logit_init == "he":
            # PyTorch's default init starts the gathering maps within 0.05-0.12 nats of uniform, and with the
            # output BN at zero θ and ρ get little gradient: after 31 of the photo zoo's 40 epochs its maps
            # were still within 0.15 nats of uniform. He init starts them sharp and distinct (a short
            # pilot: 1.2-1.9 nats below uniform, same accuracy; docs/training.md), and training goes on from there.
            for conv in (self.theta, self.rho):
                nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")

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
        if self.order == "gather_first":
            y, g, gather_attn, dist_attn = self._gather_first(x)
        else:
            y, g, gather_attn, dist_attn = self._pairwise(x)
        if not return_maps:
            return y
        maps = DoubleAttentionMaps(
            gather=gather_attn.unflatten(2, spatial),
            distribute=dist_attn.unflatten(2, spatial),
            descriptors=at_least_float32(g),
        )
        return y, maps

    def _gather_first(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Y (N, c, *spatial), G (N, m, n), gathering maps and distribution weights (N, n, L)."""
        m, n = self.m, self.n
        flat = flatten_spatial(x)  # (N, c, L)
        # φ, θ and ρ as one 1×1 convolution with m + 2n outputs
        weight = torch.cat([self.phi.weight, self.theta.weight, self.rho.weight])
        bias = torch.cat([self.phi.bias, self.theta.bias, self.rho.bias])
        a, b, v = flatten_spatial(pointwise(partial(F.conv2d, weight=weight, bias=bias), x)).split([m, n, n], dim=1)
        g, gather_attn = self.gather(a, b)  # (N, m, n), (N, n, L)
        dist_attn = at_least_float32(v).softmax(dim=1)  # (N, n, L)
        dist = dist_attn.to(flat.dtype)
        conv, bn = self.proj
        w_proj = conv.weight[:, :, 0, 0]  # (c, m)
        if bn.training or not bn.track_running_stats:
            # W_p Z = (W_p G) softmax_n(V): a (c × n) product instead of the (m × L) matrix Z
            projected = torch.bmm(torch.matmul(w_proj, g), dist)  # (N, c, L)
            y = flat + bn(projected.unsqueeze(-1)).squeeze(-1)
        else:
            # BN(W_p Z) = H softmax_n(V) with H = s ⊙ (W_p G) + t 1ᵀ: each column of softmax_n(V) sums to 1
            scale = bn.weight * (bn.running_var + bn.eps).rsqrt()
            shift = bn.bias - bn.running_mean * scale
            h = torch.matmul(scale[:, None] * w_proj, g) + shift[:, None]  # (N, c, n)
            if torch.is_autocast_enabled(x.device.type):
                y = flat + torch.bmm(h, dist)  # baddbmm would round X itself to the autocast dtype
            else:
                y = torch.baddbmm(flat, h, dist)  # X + H softmax_n(V), the residual add inside the product
        return y.view_as(x), g, gather_attn, dist_attn

    def _pairwise(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The associative other order: builds the L × L matrix softmax_L(B)ᵀ softmax_n(V)."""
        spatial = x.shape[2:]
        a = flatten_spatial(pointwise(self.phi, x))
        gather_attn = at_least_float32(flatten_spatial(pointwise(self.theta, x))).softmax(dim=-1)
        dist_attn = at_least_float32(flatten_spatial(pointwise(self.rho, x))).softmax(dim=1)
        pairwise = torch.bmm(gather_attn.transpose(1, 2), dist_attn)  # (N, L, L)
        z = torch.bmm(a, pairwise.to(a.dtype))
        g = torch.bmm(a, gather_attn.transpose(1, 2).to(a.dtype))
        return x + pointwise(self.proj, z.unflatten(2, spatial)), g, gather_attn, dist_attn

    def extra_repr(self) -> str:
        return f"m={self.m}, n={self.n}, order={self.order!r}"
