"""The series' figures (a2core.figures.series): the per-stage branch shares are counts of the channels' picks."""

from __future__ import annotations

import numpy as np
import pytest

from a2core.figures import series


def test_branch_shares_count_each_stages_picks():
    # layer1: channels pick 0, 1, 1 (one block); layer2: 1, 0 and 0, 0 (two blocks): shares counted by hand
    weights = {
        "layer1.0.conv1": np.array([[0.9, 0.2, 0.4], [0.1, 0.8, 0.6]]),
        "layer2.0.conv1": np.array([[0.3, 0.7], [0.7, 0.3]]),
        "layer2.1.conv1": np.array([[0.6, 0.5], [0.4, 0.5]]),  # a tie goes to the first branch
    }
    shares = series.branch_shares(weights)
    assert list(shares) == ["layer1", "layer2"]
    np.testing.assert_allclose(shares["layer1"], [1 / 3, 2 / 3])
    np.testing.assert_allclose(shares["layer2"], [3 / 4, 1 / 4])
    with pytest.raises(ValueError, match="branches"):
        series.branch_shares({"layer1.0.conv1": np.ones((2, 3)), "layer2.0.conv1": np.ones((3, 3))})
    with pytest.raises(ValueError, match=r"\(branches, channels\)"):
        series.branch_shares({"layer1.0.conv1": np.ones(3)})


def test_branch_choice_bars_stack_the_shares_per_stage():
    shares = {"layer1": np.array([0.25, 0.75]), "layer2": np.array([1.0, 0.0])}
    fig = series.branch_choice_bars(shares, ["3×3", "3×3, dilation 2"])
    assert fig.layout.barmode == "stack" and [t.name for t in fig.data] == ["3×3", "3×3, dilation 2"]
    assert list(fig.data[1].y) == ["layer1", "layer2"] and list(fig.data[1].x) == [0.75, 0.0]


def test_triplet_branches_draw_both_rotated_gates():
    rng = np.random.default_rng(0)
    cw, ch = rng.random((8, 5)), rng.random((8, 4))
    fig = series.triplet_branches(cw, ch)
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), cw)
    np.testing.assert_array_equal(np.asarray(fig.data[1].z), ch)
    with pytest.raises(ValueError, match="one c"):
        series.triplet_branches(cw, rng.random((6, 4)))
