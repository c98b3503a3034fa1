"""Criss-cross attention, recurrent (CCNet, Huang et al., ICCV 2019).

Each position attends only over its own row and column, H + W − 1 positions instead of Non-local's H·W:

    Q = W_q X,  K = W_k X  (c/8 channels),  V = W_v X  (c channels)
    e_{u,k} = q_uᵀ k_k     for k on the cross of u (u itself once)
    a_u     = softmax over the cross of e_u                             (N, L, L), zero off the cross
    CCA(X)  = X + γ · V aᵀ                                              γ starts at 0: the identity
    Y       = CCA(CCA(X))                                               R = 2 passes, shared weights

One pass links u to its cross; two passes link every position to every other (u's cross meets k's cross), the
"recurrent" criss-cross attention. The attention that reaches u from k over both passes is the product of the
two passes' matrices, ``reach = a⁽²⁾ a⁽¹⁾`` (rows sum to 1), the analogue of one Non-local row at a cost of
O(L·(H + W)) instead of O(L²). The authors' code puts u itself in its row only (−∞ on the column's diagonal)
and normalises the row and the column with one softmax; so does this.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .common import at_least_float32, require_image


@dataclass
class CrissCrossMaps:
    """attention: (N, R, L, L), pass r's row u is query u's softmax over its cross (zero elsewhere);
    reach: (N, L, L), the product of the passes (last pass first), row u is where u reads from over all passes.

    spatial: the feature map's (H, W), with L = H·W (row-major).
    """

    attention: Tensor
    reach: Tensor
    spatial: tuple[int, ...]


class CrissCrossAttention(nn.Module):
    """Recurrent criss-cross attention for (N, c, H, W) input.

    Args:
        in_channels: c.
        key_channels: of the query and key embeddings (default c // 8, the authors').
        recurrence: R, passes with shared weights (2 in the paper).
    """

    def __init__(self, in_channels: int, key_channels: int | None = None, recurrence: int = 2):
        super().__init__()
        key_channels = key_channels or max(in_channels // 8, 1)
        self.recurrence = recurrence
        self.query = nn.Conv2d(in_channels, key_channels, 1)
        self.key = nn.Conv2d(in_channels, key_channels, 1)
        self.value = nn.Conv2d(in_channels, in_channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def no_weight_decay(self) -> set[str]:
        """Parameters that set the softmax's temperature; decaying them flattens the attention maps."""
        return {"query.weight", "key.weight"}

    def attend(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """One pass: (CCA(x), a_col, a_row), a_col (N, H, W, H) over u's column, a_row (N, H, W, W) over its row."""
        q, k, v = self.query(x), self.key(x), self.value(x)
        h = x.shape[2]
        e_col = torch.einsum("nchw,ncgw->nhwg", q, k)  # query (h, w), key (g, w)
        e_row = torch.einsum("nchw,nchv->nhwv", q, k)  # query (h, w), key (h, v)
        self_in_column = torch.eye(h, dtype=torch.bool, device=x.device)[:, None, :]  # (H, 1, H): g == h
        e_col = e_col.masked_fill(self_in_column, float("-inf"))
        a = at_least_float32(torch.cat([e_col, e_row], dim=-1)).softmax(dim=-1)
        a_col, a_row = a[..., :h], a[..., h:]
        out = (torch.einsum("nhwg,ncgw->nchw", a_col.to(v.dtype), v)
               + torch.einsum("nhwv,nchv->nchw", a_row.to(v.dtype), v))
        return x + (self.gamma * out).to(x.dtype), a_col, a_row

    def forward(self, x: Tensor, return_maps: bool = False):
        require_image(x, "CrissCrossAttention")
        passes = []
        for _ in range(self.recurrence):
            x, a_col, a_row = self.attend(x)
            passes.append((a_col, a_row))
        if not return_maps:
            return x
        with torch.autocast(x.device.type, enabled=False):  # the maps stay in the softmax's precision
            attention = torch.stack([dense_cross(*p) for p in passes], dim=1)  # (N, R, L, L)
            reach = attention[:, 0]
            for r in range(1, self.recurrence):
                reach = attention[:, r] @ reach
        return x, CrissCrossMaps(attention=attention, reach=reach, spatial=tuple(a_col.shape[1:3]))

    def extra_repr(self) -> str:
        return f"recurrence={self.recurrence}"


def dense_cross(a_col: Tensor, a_row: Tensor) -> Tensor:
    """(N, H, W, H) column and (N, H, W, W) row weights → the (N, L, L) matrix, row-major positions."""
    n, h, w, _ = a_col.shape
    eye_h = torch.eye(h, dtype=a_col.dtype, device=a_col.device)
    eye_w = torch.eye(w, dtype=a_col.dtype, device=a_col.device)
    dense = torch.einsum("nhwg,wv->nhwgv", a_col, eye_w) + torch.einsum("nhwv,hg->nhwgv", a_row, eye_h)
    return dense.reshape(n, h * w, h * w)
