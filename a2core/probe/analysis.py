"""Numbers read off a double attention block's maps.

All functions take the maps of ONE image, as numpy arrays or tensors:

    gather:     (n, h, w)  descriptor i's gathering map, softmax over the L = h·w positions
    distribute: (n, h, w)  position j's distribution weights, softmax over the n descriptors

and return numpy arrays, so the app, the command line and a notebook share them.
"""

from __future__ import annotations

import numpy as np

SORTS = ("index", "usage", "sharpness")


def as_array(maps) -> np.ndarray:
    """A tensor (any device) or array-like → a float64 numpy array of the same shape.

    float64 so that sums of many small weights stay exact enough to compare; the figures take their
    inputs through it too, so a notebook may hand them tensors.
    """
    if hasattr(maps, "detach"):
        maps = maps.detach().cpu().numpy()
    return np.asarray(maps, dtype=np.float64)


def gathering_entropy(gather) -> np.ndarray:
    """(n, h, w) gathering maps → (n,) entropy in nats of each map over its L positions.

    0 means the descriptor gathers from one position (sharp); log L means it
    averages the whole image uniformly.
    """
    p = as_array(gather).reshape(len(gather), -1)
    logp = np.log(np.where(p > 0, p, 1.0))
    return -(p * logp).sum(axis=1)


def descriptor_usage(distribute) -> np.ndarray:
    """(n, h, w) distribution weights → (n,) total weight each descriptor receives over the image.

    The usages sum to L (every position hands out a total weight of 1).
    """
    v = as_array(distribute)
    return v.reshape(len(v), -1).sum(axis=1)


def descriptor_order(gather, distribute, by: str = "usage") -> np.ndarray:
    """Descriptor indices (n,) in display order.

    ``usage``: most used first; ``sharpness``: lowest gathering entropy first;
    ``index``: the block's own order.
    """
    if by not in SORTS:
        raise ValueError(f"sort must be one of {SORTS}, got {by!r}")
    n = len(gather)
    if by == "index":
        return np.arange(n)
    if by == "usage":
        return np.argsort(-descriptor_usage(distribute), kind="stable")
    return np.argsort(gathering_entropy(gather), kind="stable")


def implied_attention(gather, distribute, position: tuple[int, int]) -> np.ndarray:
    """What position j = (row, col) receives: row j of the implied L × L attention, as (h, w).

    The A² output at j is z_j = G v_j = Σ_i v_ij g_i = Σ_i v_ij A softmax(b_i)ᵀ, so j
    reads position k with weight Σ_i v_ij softmax(b_i)_k: the row of
    softmax(ρ)ᵀ softmax(θ) for query j. It is a mix of the n gathering maps,
    computed here without the L × L matrix. The row sums to 1.
    """
    row, col = position
    v_j = as_array(distribute)[:, row, col]  # (n,)
    return np.tensordot(v_j, as_array(gather), axes=1)


def implied_attention_matrix(gather, distribute) -> np.ndarray:
    """The full (L, L) implied attention, row j = query position j; only for small maps and tests."""
    b = as_array(gather).reshape(len(gather), -1)
    v = as_array(distribute).reshape(len(distribute), -1)
    return v.T @ b


def position_index(position: tuple[float, float], shape: tuple[int, int]) -> tuple[int, int]:
    """A point (y, x) as fractions of the image in [0, 1] → the (row, col) of the cell of an h × w map."""
    h, w = shape
    y, x = position
    return min(max(int(y * h), 0), h - 1), min(max(int(x * w), 0), w - 1)


def top_descriptors(distribute, position: tuple[int, int], k: int = 3) -> np.ndarray:
    """The k descriptors that position (row, col) sends the most weight to, largest first."""
    v_j = as_array(distribute)[:, position[0], position[1]]
    return np.argsort(-v_j, kind="stable")[:k]
