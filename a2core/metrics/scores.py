"""Scores of one attention or saliency map: does it land on the object, does it depend on the query.

Every score is defined on the map's own grid: the cells of an h × w map cover the model's square view
evenly, and ``cover[c]`` ∈ [0, 1] is the fraction of cell c's area inside the union of the object's
boxes, given as fractions (x0, y0, x1, y1) of the view (x to the right, y down).

- :func:`box_energy`: Σ_c M_c · cover_c / Σ_c M_c for a non-negative map M (the energy-based pointing game
  of Wang et al., CVPR-W 2020, which Quantus calls relevance mass accuracy); a uniform map scores the
  boxes' area fraction.
- :func:`pointing_hit`: the pointing game (Zhang et al., ECCV 2016): a hit when the map's largest cell,
  the first in row-major order on ties, has cover > 0.
- :func:`query_dependence`: GCNet's measure (Cao et al., 2019): for the attention maps a_p of a set of query
  positions, the mean over ordered pairs p ≠ q of 1 − cos(a_p, a_q); 0 when every query sees the same map.
- :func:`deletion_insertion`: RISE's causal scores (Petsiuk et al., BMVC 2018), the area under the true
  class's probability as the view's cells are removed (deletion) or revealed (insertion) in the map's order.

Pure numpy; only :func:`deletion_insertion` needs a model, as a callable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Box = tuple[float, float, float, float]


def _boxes(boxes) -> np.ndarray:
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if b.size and (np.any(b[:, 2] < b[:, 0]) or np.any(b[:, 3] < b[:, 1])):
        raise ValueError("a box must have x0 ≤ x1 and y0 ≤ y1")
    return np.clip(b, 0.0, 1.0)


def cover_fractions(boxes: Sequence[Box] | np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(h, w) fraction of each cell of an h × w grid over the view that lies inside the union of ``boxes``.

    boxes: (B, 4) rows (x0, y0, x1, y1) as fractions of the view, clipped to [0, 1]. Exact: the plane is cut
    along every box and cell edge into rectangles that lie wholly inside or outside the union; each one's
    area goes to the cell holding it.
    """
    h, w = shape
    b = _boxes(boxes)
    cover = np.zeros((h, w))
    if not len(b):
        return cover
    xs = np.unique(np.concatenate([np.linspace(0, 1, w + 1), b[:, 0], b[:, 2]]))
    ys = np.unique(np.concatenate([np.linspace(0, 1, h + 1), b[:, 1], b[:, 3]]))
    cx, cy = (xs[:-1] + xs[1:]) / 2, (ys[:-1] + ys[1:]) / 2  # centres of the elementary rectangles
    inside_x = (b[:, None, 0] <= cx) & (cx <= b[:, None, 2])  # (B, nx)
    inside_y = (b[:, None, 1] <= cy) & (cy <= b[:, None, 3])  # (B, ny)
    inside = np.einsum("by,bx->yx", inside_y.astype(np.int64), inside_x.astype(np.int64)) > 0  # (ny, nx)
    area = np.outer(np.diff(ys), np.diff(xs)) * inside
    rows = np.minimum((cy * h).astype(np.int64), h - 1)
    cols = np.minimum((cx * w).astype(np.int64), w - 1)
    np.add.at(cover, (rows[:, None], cols[None, :]), area)
    return np.clip(cover * (h * w), 0.0, 1.0)  # cell area is 1 / (h w)


def _map(saliency) -> np.ndarray:
    m = np.asarray(saliency, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"a map must be (h, w), got shape {m.shape}")
    return m


def box_energy(saliency, cover: np.ndarray) -> float:
    """Σ_c M_c cover_c / Σ_c M_c of a non-negative (h, w) map M; NaN for a map that sums to 0."""
    m = _map(saliency)
    if np.any(m < 0):
        raise ValueError("box energy needs a non-negative map (take ReLU or softmax first)")
    total = m.sum()
    return float((m * cover).sum() / total) if total > 0 else float("nan")


def pointing_hit(saliency, cover: np.ndarray) -> bool:
    """Whether the map's largest cell (the first in row-major order on ties) touches the boxes (cover > 0)."""
    m = _map(saliency)
    return bool(cover.reshape(-1)[int(np.argmax(m))] > 0)


def query_dependence(rows) -> float:
    """Mean over ordered pairs p ≠ q of 1 − cos(a_p, a_q) for (P, L) attention rows a_p of P query positions.

    0 when every query attends the same way (GC's context, by construction); rows of disjoint support give 1.
    """
    a = np.asarray(rows, dtype=np.float64)
    a = a.reshape(a.shape[0], -1)
    p = a.shape[0]
    if p < 2:
        raise ValueError("query dependence needs at least two query positions")
    unit = a / np.linalg.norm(a, axis=1, keepdims=True)
    # Σ_{p≠q} cos = |Σ_p â_p|² − P, without the P × P matrix.
    total = unit.sum(0)
    cos_sum = float(total @ total) - p
    return max(0.0, 1.0 - cos_sum / (p * (p - 1)))  # ≥ 0 but for rounding when all rows are equal


def cell_order(saliency) -> np.ndarray:
    """Flat cell indices from the largest value to the smallest, ties in row-major order."""
    return np.argsort(-_map(saliency).reshape(-1), kind="stable")


def _trapezoid(y: np.ndarray) -> float:
    # Area under y sampled at evenly spaced fractions 0 … 1.
    return float(((y[1:] + y[:-1]) / 2).mean())


def deletion_insertion(image: np.ndarray, saliency, prob: Callable[[np.ndarray], np.ndarray],
                       fill: Sequence[float] | np.ndarray, steps: int | None = None,
                       batch: int = 64) -> tuple[float, float]:
    """RISE's deletion and insertion AUC of ``saliency`` (h, w) for ``image`` (C, H, W).

    prob: (N, C, H, W) images → (N,) the true class's probability. fill: (C,) value of a removed cell (the
    data mean: 0 in normalised units). The cells are taken in the map's order (:func:`cell_order`),
    ``steps`` at a time evenly (default: one cell a step); deletion starts from the image and removes them,
    insertion starts from the fill and reveals them. Both curves have steps + 1 points over the fraction of
    cells taken, 0 to 1, and their area is the trapezoid rule's (low deletion and high insertion are good).
    ``prob`` sees at most ``batch`` images a call.
    """
    m = _map(saliency)
    h, w = m.shape
    c, height, width = image.shape
    n_cells = h * w
    steps = n_cells if steps is None else min(int(steps), n_cells)
    counts = np.round(np.linspace(0, n_cells, steps + 1)).astype(np.int64)
    rank = np.empty(n_cells, dtype=np.int64)
    rank[cell_order(m)] = np.arange(n_cells)
    # Each pixel's cell rank; pixel y lies in cell row ⌊y h / H⌋ (whole cells when h divides H).
    rank = rank.reshape(h, w)[(np.arange(height) * h // height)[:, None], (np.arange(width) * w // width)[None, :]]
    blank = np.broadcast_to(np.asarray(fill, dtype=image.dtype).reshape(c, 1, 1), image.shape)
    # Deletion's steps + 1 images, then insertion's, built and scored ``batch`` at a time.
    plan = [(k, False) for k in counts] + [(k, True) for k in counts]
    p = []
    for start in range(0, len(plan), batch):
        chunk = plan[start:start + batch]
        taken = np.stack([rank < k for k, _ in chunk])[:, None]  # (b, 1, H, W)
        reveal = np.array([r for _, r in chunk])[:, None, None, None]
        images = np.where(taken ^ reveal, blank[None], image[None]).astype(image.dtype)
        p.append(np.asarray(prob(images), dtype=np.float64).reshape(-1))
    p = np.concatenate(p)
    return _trapezoid(p[: steps + 1]), _trapezoid(p[steps + 1:])
