"""What is scored in each design: the maps a block's :class:`~a2core.probe.maps.BlockMaps` offers to the scores.

A design declares what it scores by one entry of :data:`SCORED` (its ``BlockMaps.kind`` → a function of the
block's maps); a design without an entry is scored by its ``spatial_map`` array when it has one (the (h, w)
gate of CBAM, BAM and Triplet attention), so a new block with a ``spatial_map`` field needs no entry at all.
Channel designs (SE, ECA, GSoP, SK, split attention) have no map over the image and score nothing here.

Each scored map is a :class:`Scored`: one (h, w) map, or a stack (L, h, w) of maps, one per query position,
scored one by one and averaged per photo (``rows``). ``queries`` are the (P, L) attention rows
whose query dependence is measured, for the designs that have a map per query position.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .scores import query_dependence


@dataclass(frozen=True)
class Scored:
    """One map a block offers: ``values`` (h, w), or when ``stack`` one map per query position (L, h, w), the
    queries in row-major order of the same grid (each scored, then averaged).

    auc: whether deletion/insertion AUC is measured for it (it costs forward passes: summary maps only).
    """

    name: str
    values: np.ndarray
    stack: bool = False
    auc: bool = False


@dataclass(frozen=True)
class BlockScores:
    """What one block of one photo offers: maps to score, and the attention rows of its query positions."""

    maps: tuple[Scored, ...] = ()
    queries: np.ndarray | None = None  # (P, L)
    queries_map: str = "rows"  # the map whose row holds the query dependence


def _grid(block) -> tuple[int, int]:
    h, w = block.feature_size[-2:]
    return int(h), int(w)


def double_attention(block) -> BlockScores:
    """A²: each gathering map softmax(b̄ᵢ), their usage-weighted mean ``gather`` = Σᵢ uᵢ softmax(b̄ᵢ) with
    uᵢ = mean_j vᵢⱼ (the implied attention averaged over all query positions), and the implied rows
    Σᵢ vᵢⱼ softmax(b̄ᵢ) of every query position j (``rows``, also the rows of query dependence)."""
    gather = np.asarray(block.arrays["gather"], np.float64)  # (n, h, w)
    distribute = np.asarray(block.arrays["distribute"], np.float64)  # (n, h, w)
    n, h, w = gather.shape
    usage = distribute.reshape(n, -1).mean(1)  # (n,), sums to 1: each position's weights sum to 1
    rows = distribute.reshape(n, -1).T @ gather.reshape(n, -1)  # (L, L): row j = query j's implied attention
    maps = [Scored(f"gather_{i}", gather[i]) for i in range(n)]
    maps += [Scored("gather", np.tensordot(usage, gather, axes=1), auc=True),
             Scored("rows", rows.reshape(-1, h, w), stack=True)]
    return BlockScores(tuple(maps), rows)


def non_local(block) -> BlockScores:
    """Non-local: the attention row of every query position (``rows``) and their mean (``row_mean``)."""
    attention = np.asarray(block.arrays["attention"], np.float64)  # (L, L)
    h, w = _grid(block)
    return BlockScores((Scored("row_mean", attention.mean(0).reshape(h, w), auc=True),
                        Scored("rows", attention.reshape(-1, h, w), stack=True)), attention)


def global_context(block) -> BlockScores:
    """GC: the context map, which every query position shares (query dependence 0 by construction,
    measured all the same on the context repeated for each position)."""
    context = np.asarray(block.arrays["context"], np.float64).reshape(-1)  # (L,)
    h, w = _grid(block)
    return BlockScores((Scored("context", context.reshape(h, w), auc=True),),
                       np.broadcast_to(context, (h * w, h * w)), "context")


def criss_cross(block) -> BlockScores:
    """CC-Net: the two-pass reach of every query position (``rows``, the product of the passes' attention, the
    analogue of a Non-local row) and their mean (``row_mean``)."""
    reach = np.asarray(block.arrays["reach"], np.float64)  # (L, L)
    h, w = _grid(block)
    return BlockScores((Scored("row_mean", reach.mean(0).reshape(h, w), auc=True),
                        Scored("rows", reach.reshape(-1, h, w), stack=True)), reach)


def spatial(block) -> BlockScores:
    """Any design with a spatial map ``spatial_map`` (h, w), e.g. CBAM's gate; ReLU'd, since scores need mass ≥ 0."""
    values = np.asarray(block.arrays["spatial_map"], np.float64)
    values = values.reshape(-1, *values.shape[-2:]).mean(0)  # (1, h, w) or one map per group: their mean
    return BlockScores((Scored("spatial", np.maximum(values, 0), auc=True),))


#: ``BlockMaps.kind`` → what the design scores. A design not listed is scored by :func:`spatial` when its maps
#: have a ``spatial_map`` array, else not at all.
SCORED: dict[str, Callable[[object], BlockScores]] = {
    "DoubleAttention": double_attention,
    "NonLocal": non_local,
    "GlobalContext": global_context,
    "CrissCross": criss_cross,
}


def block_scores(block) -> BlockScores:
    """What ``block`` (a :class:`~a2core.probe.maps.BlockMaps`) offers to score; empty for channel designs."""
    if block.kind in SCORED:
        return SCORED[block.kind](block)
    if "spatial_map" in block.arrays and np.ndim(block.arrays["spatial_map"]) >= 2:
        return spatial(block)
    return BlockScores()


#: Width of the centred Gaussian prior, as a fraction of the view's side (photographers centre objects).
CENTER_SIGMA = 0.25


def baselines(shape: tuple[int, int], sigma: float = CENTER_SIGMA) -> tuple[Scored, ...]:
    """Maps that look at no image: ``uniform`` (every cell alike; its box energy is the boxes' area fraction)
    and ``center``, a Gaussian centred on the view with standard deviation ``sigma`` of its side."""
    h, w = shape
    y = (np.arange(h) + 0.5) / h - 0.5
    x = (np.arange(w) + 0.5) / w - 0.5
    center = np.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma**2))
    return Scored("uniform", np.ones(shape)), Scored("center", center / center.sum(), auc=True)


def block_query_dependence(block) -> float | None:
    """The query dependence of ``block``'s attention rows (:func:`~a2core.metrics.scores.query_dependence`),
    or None for a design without a map per query position."""
    queries = block_scores(block).queries
    return None if queries is None else query_dependence(queries)
