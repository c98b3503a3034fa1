"""Analytic cost of the attention products: the two orders of the A² block, Non-local and CC-Net.

The A² block computes Z = A · softmax_L(B)ᵀ · softmax_n(V) with A (m × L),
B and V (n × L), L = t·h·w positions. Matrix products are associative, so the
two orders give the same Z but materialise very different attention state:

    gather_first:  G = A softmax_L(B)ᵀ  (m × n),  then Z = G softmax_n(V)
    pairwise:      P = softmax_L(B)ᵀ softmax_n(V)  (L × L),  then Z = A P

The article's example, a video clip of 32 frames of 28×28 with m = n = 512 in
fp32 (L = 25 088):

    >>> costs = double_attention_costs(c=1024, m=512, n=512, t=32)
    >>> costs["gather_first"].attention_bytes        # 512·512·4 B = 1 MiB
    1048576
    >>> costs["pairwise"].attention_bytes            # 25 088²·4 B ≈ 2.5 GB
    2517630976

``flops`` counts the attention products, the part the orders differ in;
``pointwise_flops`` the 1×1 convolutions φ, θ, ρ (c → m, n, n) and the output
projection (m → c), the same in both orders and the only place c enters; their
sum is ``total_flops``. FLOPs are 2 × multiply-adds, the convention of
``torch.utils.flop_counter``.
"""

from __future__ import annotations

from dataclasses import dataclass

ORDERS = ("gather_first", "pairwise")


@dataclass(frozen=True)
class OrderCost:
    """Cost of one way of computing an attention block's output.

    order:           "gather_first", "pairwise", "non_local" or "criss_cross".
    attention_bytes: size of the attention state this order materialises, for the whole batch.
    flops:           2 × multiply-adds of its attention products (batched matmuls), for the whole batch.
    pointwise_flops: 2 × multiply-adds of the block's 1×1 convolutions, for the whole batch (0 where not counted).
    """

    order: str
    attention_bytes: int
    flops: int
    pointwise_flops: int = 0

    @property
    def total_flops(self) -> int:
        """The attention products and the 1×1 convolutions together."""
        return self.flops + self.pointwise_flops


def positions(t: int = 1, h: int = 28, w: int = 28) -> int:
    """L, the number of positions of a (t ×) h × w feature map."""
    return t * h * w


def double_attention_costs(
    c: int,
    m: int,
    n: int,
    t: int = 1,
    h: int = 28,
    w: int = 28,
    batch: int = 1,
    bytes_per_element: int = 4,
) -> dict[str, OrderCost]:
    """Attention state and FLOPs of the A² block's two orders, keyed by order.

    gather_first: attention_bytes = the global descriptors G (m × n per sample);
        flops = 2·(m·n·L) for the gather + 2·(m·n·L) for the distribute.
    pairwise: attention_bytes = P = softmax_L(B)ᵀ softmax_n(V) (L × L per sample);
        flops = 2·(L·n·L) to build P + 2·(m·L·L) for Z = A P.

    Both orders: pointwise_flops = 2·(c·(m + 2n)·L + m·c·L), the 1×1 convolutions
    φ, θ, ρ and the projection (:func:`pointwise_flops`); ``c`` enters only there.

    The two softmax maps (each n × L per sample, see :func:`softmax_map_bytes`)
    exist in both orders and are *not* included in ``attention_bytes``.

    >>> costs = double_attention_costs(c=1024, m=512, n=512, t=32, h=28, w=28)
    >>> costs["gather_first"].attention_bytes / 2**20   # MiB
    1.0
    >>> costs["pairwise"].attention_bytes > 2 * 10**9   # > 2 GB
    True
    """
    if min(c, m, n, t, h, w, batch, bytes_per_element) < 1:
        raise ValueError("all sizes must be positive")
    L = positions(t, h, w)
    pointwise = pointwise_flops(c, m, n, t, h, w, batch)
    return {
        "gather_first": OrderCost(
            order="gather_first",
            attention_bytes=batch * m * n * bytes_per_element,
            flops=batch * 2 * (m * n * L + m * n * L),
            pointwise_flops=pointwise,
        ),
        "pairwise": OrderCost(
            order="pairwise",
            attention_bytes=batch * L * L * bytes_per_element,
            flops=batch * 2 * (L * n * L + m * L * L),
            pointwise_flops=pointwise,
        ),
    }


def softmax_map_bytes(n: int, t: int = 1, h: int = 28, w: int = 28, batch: int = 1, bytes_per_element: int = 4) -> int:
    """Bytes of the gathering and distribution maps together (2 × n × L per sample), shared by both orders."""
    return batch * 2 * n * positions(t, h, w) * bytes_per_element


def pointwise_flops(c: int, m: int, n: int, t: int = 1, h: int = 28, w: int = 28, batch: int = 1) -> int:
    """FLOPs of the A² block's 1×1 convolutions φ, θ, ρ (c → m, n, n) and proj (m → c), shared by both orders.

    Biases and the BatchNorm are left out (they are O(L·c), not products).
    """
    L = positions(t, h, w)
    return batch * 2 * L * (c * (m + 2 * n) + m * c)


def non_local_cost(
    c: int,
    inter_channels: int | None = None,
    t: int = 1,
    h: int = 28,
    w: int = 28,
    batch: int = 1,
    bytes_per_element: int = 4,
) -> OrderCost:
    """Attention state and FLOPs of the embedded-Gaussian Non-local block (c' = c // 2 by default).

    attention_bytes: the affinity f = softmax(θᵀφ), L × L per sample.
    flops: 2·(L·c'·L) for θᵀφ + 2·(c'·L·L) for g fᵀ.

    >>> non_local_cost(c=1024, t=32).attention_bytes == double_attention_costs(1024, 512, 512, t=32)["pairwise"].attention_bytes
    True
    """
    inter = inter_channels or max(c // 2, 1)
    if min(c, inter, t, h, w, batch, bytes_per_element) < 1:
        raise ValueError("all sizes must be positive")
    L = positions(t, h, w)
    return OrderCost(
        order="non_local",
        attention_bytes=batch * L * L * bytes_per_element,
        flops=batch * 2 * (L * inter * L + inter * L * L),
    )


def criss_cross_cost(
    c: int,
    key_channels: int | None = None,
    t: int = 1,
    h: int = 28,
    w: int = 28,
    batch: int = 1,
    recurrence: int = 2,
    bytes_per_element: int = 4,
) -> OrderCost:
    """Attention state and FLOPs of recurrent criss-cross attention (CC-Net; c_k = c // 8 by default).

    Each position attends over its lines through the map: its column and row (H + W entries, itself counted in
    both and masked once), and for a clip (t > 1) its line through time too, the 3-D criss-cross of CCNet's
    journal version (K = T + H + W entries). Per pass, as :class:`a2core.blocks.CrissCrossAttention` computes it:

    attention_bytes: one pass's attention, L × K per sample (the passes run one after the other).
    flops: R passes of 2·(L·K·c_k) for the energies + 2·(L·K·c) to gather the values.
    pointwise_flops: R passes of the 1×1 convolutions query and key (c → c_k) and value (c → c): 2·L·c·(2c_k + c).

    >>> criss_cross_cost(1024, t=32).attention_bytes / non_local_cost(1024, t=32).attention_bytes < 0.01
    True
    """
    key = key_channels or max(c // 8, 1)
    if min(c, key, t, h, w, batch, recurrence, bytes_per_element) < 1:
        raise ValueError("all sizes must be positive")
    L = positions(t, h, w)
    k = (t if t > 1 else 0) + h + w
    return OrderCost(
        order="criss_cross",
        attention_bytes=batch * L * k * bytes_per_element,
        flops=batch * recurrence * 2 * (L * k * key + L * k * c),
        pointwise_flops=batch * recurrence * 2 * L * c * (2 * key + c),
    )
