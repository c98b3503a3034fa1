"""a2core.metrics.scores against independent references: Quantus, brute force and hand-checked cases.

Quantus (``PointingGame``, ``RelevanceMassAccuracy``) scores a pixel map against a pixel mask. A²Lens scores a
map on its own grid against the boxes' cover of each cell; the two agree when the map is blown up to pixels by
repeating each cell (np.kron) and the boxes lie on pixel edges: then Σ_c M_c cover_c equals Σ_pixels M s up
to the cell's pixel count, which cancels. Quantus's pointing game counts a hit when *any* largest pixel is in
the mask, ours the first largest cell: they agree on maps without ties (random floats), and ties are checked
by hand below.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from a2core.metrics import (
    box_energy,
    cell_order,
    cover_fractions,
    deletion_insertion,
    pointing_hit,
    query_dependence,
)


def _pixel_boxes(rng, px: int, py: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` random boxes with corners on the edges of a py × px pixel grid → (fractions (count, 4), mask)."""
    xs = np.sort(rng.integers(0, px + 1, (count, 2)), axis=1)
    ys = np.sort(rng.integers(0, py + 1, (count, 2)), axis=1)
    xs[:, 1] = np.maximum(xs[:, 1], xs[:, 0] + 1)
    ys[:, 1] = np.maximum(ys[:, 1], ys[:, 0] + 1)
    mask = np.zeros((py, px))
    for (x0, x1), (y0, y1) in zip(xs, ys):
        mask[y0:y1, x0:x1] = 1
    return np.stack([xs[:, 0] / px, ys[:, 0] / py, xs[:, 1] / px, ys[:, 1] / py], axis=1), mask


def test_cover_hand_cases():
    np.testing.assert_allclose(cover_fractions([(0, 0, 0.5, 0.5)], (2, 2)), [[1, 0], [0, 0]])
    np.testing.assert_allclose(cover_fractions([(0.25, 0.25, 0.75, 0.75)], (2, 2)), np.full((2, 2), 0.25))
    # A box counted twice covers nothing more; two overlapping halves cover three quarters of a 1×1 grid.
    np.testing.assert_allclose(cover_fractions([(0, 0, 0.5, 1)] * 2, (1, 1)), [[0.5]])
    np.testing.assert_allclose(cover_fractions([(0, 0, 0.5, 1), (0.25, 0, 0.75, 1)], (1, 1)), [[0.75]])
    # A 2×4 grid (h=2 rows, w=4 columns): the box's right half of the top row.
    np.testing.assert_allclose(cover_fractions([(0.5, 0, 1, 0.5)], (2, 4)), [[0, 0, 1, 1], [0, 0, 0, 0]])
    assert cover_fractions([], (3, 3)).sum() == 0
    # Boxes reaching past the view are clipped to it.
    np.testing.assert_allclose(cover_fractions([(-1, -1, 2, 0.5)], (2, 1)), [[1], [0]])
    with pytest.raises(ValueError, match="x0"):
        cover_fractions([(0.6, 0, 0.5, 1)], (2, 2))


def test_cover_matches_brute_force_sampling():
    # Independent reference: the fraction of a fine lattice of points of each cell that lies in some box.
    rng = np.random.default_rng(0)
    fine = 600
    centres = (np.arange(fine) + 0.5) / fine
    for shape in [(5, 5), (7, 3), (20, 20)]:
        boxes = np.sort(rng.random((3, 2, 2)), axis=1)
        boxes = np.concatenate([boxes[:, 0], boxes[:, 1]], axis=1)
        inside = np.zeros((fine, fine), bool)
        for x0, y0, x1, y1 in boxes:
            inside |= ((y0 <= centres) & (centres <= y1))[:, None] & ((x0 <= centres) & (centres <= x1))[None, :]
        h, w = shape
        rows, cols = (centres * h).astype(int), (centres * w).astype(int)
        counts = np.zeros(shape)
        np.add.at(counts, (rows[:, None], cols[None, :]), inside)
        sizes = np.zeros(shape)
        np.add.at(sizes, (rows[:, None], cols[None, :]), 1)
        np.testing.assert_allclose(cover_fractions(boxes, shape), counts / sizes, atol=0.02)


def test_uniform_map_scores_the_boxes_area_fraction():
    boxes = [(0.1, 0.2, 0.6, 0.7), (0.4, 0.5, 0.9, 0.8)]  # areas 0.25 and 0.15, overlap 0.2 × 0.2 = 0.04
    for shape in [(1, 1), (4, 4), (10, 10), (3, 8)]:
        assert box_energy(np.ones(shape), cover_fractions(boxes, shape)) == pytest.approx(0.36)


def test_box_energy_hand_case_and_errors():
    cover = cover_fractions([(0, 0, 0.5, 0.5)], (2, 2))  # the top-left cell
    assert box_energy([[3, 1], [0, 0]], cover) == pytest.approx(0.75)
    assert np.isnan(box_energy(np.zeros((2, 2)), cover))
    with pytest.raises(ValueError, match="non-negative"):
        box_energy([[1, -1], [0, 0]], cover)


@pytest.mark.slow  # importing Quantus (scikit-learn, scikit-image, OpenCV) takes seconds: here, not at collection
def test_box_energy_and_pointing_equal_quantus():
    import quantus

    rng = np.random.default_rng(1)
    rma = quantus.RelevanceMassAccuracy(disable_warnings=True, display_progressbar=False)
    pg = quantus.PointingGame(disable_warnings=True, display_progressbar=False)
    for shape, scale in [((5, 5), 8), ((10, 10), 4), ((4, 6), 6)]:
        h, w = shape
        maps = rng.random((12, h, w)) ** 4  # peaked, and no two cells equal
        maps[:4] = np.exp(3 * rng.standard_normal((4, h, w)))
        ours_energy, ours_hit, masks, pixel_maps = [], [], [], []
        for m in maps:
            boxes, mask = _pixel_boxes(rng, w * scale, h * scale, rng.integers(1, 4))
            cover = cover_fractions(boxes, shape)
            ours_energy.append(box_energy(m, cover))
            ours_hit.append(pointing_hit(m, cover))
            masks.append(mask)
            pixel_maps.append(np.kron(m, np.ones((scale, scale))))
        a = np.stack(pixel_maps)[:, None]
        s = np.stack(masks)[:, None]
        x = np.zeros((len(a), 3, *a.shape[2:]))
        y = np.zeros(len(a), int)
        np.testing.assert_allclose(ours_energy, rma(model=None, x_batch=x, y_batch=y, a_batch=a, s_batch=s),
                                   rtol=1e-9)
        assert ours_hit == [bool(v) for v in pg(model=None, x_batch=x, y_batch=y, a_batch=a, s_batch=s)]
        assert 0 < sum(ours_hit) < len(ours_hit)  # both outcomes were exercised


def test_pointing_ties_take_the_first_cell_in_row_major_order():
    flat = np.ones((3, 3))
    assert pointing_hit(flat, cover_fractions([(0, 0, 0.1, 0.1)], (3, 3)))  # touches cell (0, 0)
    assert not pointing_hit(flat, cover_fractions([(0.5, 0.5, 1, 1)], (3, 3)))
    tied = np.array([[0, 0, 5], [5, 0, 0], [0, 0, 0]])  # (0, 2) comes before (1, 0)
    assert pointing_hit(tied, cover_fractions([(0.9, 0, 1, 0.1)], (3, 3)))
    assert not pointing_hit(tied, cover_fractions([(0, 0.4, 0.1, 0.5)], (3, 3)))
    assert list(cell_order(tied)[:2]) == [2, 3]


def test_query_dependence_hand_cases_and_brute_force():
    assert query_dependence(np.tile([0.2, 0.3, 0.5], (6, 1))) == pytest.approx(0, abs=1e-12)
    assert query_dependence(np.eye(5)) == pytest.approx(1)
    # Two rows at 45°: 1 − cos = 1 − 1/√2.
    assert query_dependence([[1, 0], [1, 1]]) == pytest.approx(1 - 1 / np.sqrt(2))
    rng = np.random.default_rng(2)
    rows = rng.dirichlet(np.full(30, 0.3), size=12)
    pairs = [1 - a @ b / np.linalg.norm(a) / np.linalg.norm(b)
             for (i, a), (j, b) in itertools.product(enumerate(rows), repeat=2) if i != j]
    assert query_dependence(rows) == pytest.approx(np.mean(pairs), rel=1e-12)
    assert query_dependence(rows.reshape(12, 5, 6)) == pytest.approx(np.mean(pairs), rel=1e-12)
    with pytest.raises(ValueError, match="two query"):
        query_dependence(rows[:1])


def test_deletion_insertion_hand_cases():
    image = np.ones((3, 8, 8), np.float32)
    # A "model" whose probability is the share of the image left intact: both curves are straight lines.
    share = lambda x: x[:, 0].mean(axis=(1, 2))  # noqa: E731
    rng = np.random.default_rng(3)
    for steps in (None, 4, 7):
        d, i = deletion_insertion(image, rng.random((4, 4)), share, fill=(0, 0, 0), steps=steps)
        assert (d, i) == (pytest.approx(0.5), pytest.approx(0.5))
    # A "model" that sees only pixel (5, 6), in cell (2, 3) of a 4×4 map.
    pixel = lambda x: x[:, 0, 5, 6]  # noqa: E731
    saliency = np.zeros((4, 4))
    saliency[2, 3] = 1  # first in the map's order: deletion removes it first, insertion reveals it first
    d, i = deletion_insertion(image, saliency, pixel, fill=(0, 0, 0))
    assert d == pytest.approx(0.5 / 16)  # curve 1, 0, …, 0 over 17 points
    assert i == pytest.approx(1 - 0.5 / 16)  # curve 0, 1, …, 1
    saliency[2, 3] = -1  # now last (ties among the other 15 go in row-major order)
    d, i = deletion_insertion(image, saliency, pixel, fill=(0, 0, 0))
    assert (d, i) == (pytest.approx(1 - 0.5 / 16), pytest.approx(0.5 / 16))
    # Batching does not change the result.
    for batch in (1, 5, 100):
        assert deletion_insertion(image, saliency, pixel, (0, 0, 0), batch=batch) == (d, i)
    # The fill is the data mean per channel, here channel 0's 0.25.
    d, _ = deletion_insertion(image, np.ones((4, 4)), share, fill=(0.25, 0, 0), steps=2)
    assert d == pytest.approx(((1 + 0.625) / 2 + (0.625 + 0.25) / 2) / 2)
