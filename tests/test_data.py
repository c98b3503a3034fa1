"""The in-memory data set's batch helpers."""

from __future__ import annotations

import pytest
import torch

from a2core.training.data import random_windows


def window_offsets(image: torch.Tensor, window: torch.Tensor) -> list[tuple[int, int]]:
    """Every (top, left) at which ``window`` is a crop of ``image``."""
    size = window.shape[-1]
    return [(t, l) for t in range(image.shape[-2] - size + 1) for l in range(image.shape[-1] - size + 1)
            if torch.equal(image[:, t:t + size, l:l + size], window)]


def test_random_windows_are_crops_of_their_own_image_at_scattered_places():
    torch.manual_seed(0)
    images = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    windows = random_windows(images, 24)
    assert windows.shape == (64, 3, 24, 24) and windows.dtype == torch.uint8
    offsets = []
    for image, window in zip(images, windows):
        (offset,) = window_offsets(image, window)  # random pixels: exactly one place matches
        offsets.append(offset)
    # Each image draws its own place: 64 draws from 9 × 9 places are far from all alike.
    assert len(set(offsets)) > 20
    assert {t for t, _ in offsets} == set(range(9)) and {l for _, l in offsets} == set(range(9))


def test_random_windows_follow_the_torch_seed():
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    torch.manual_seed(1)
    first = random_windows(images, 20)
    torch.manual_seed(1)
    assert torch.equal(first, random_windows(images, 20))


@pytest.mark.parametrize("size", [0, 33])
def test_a_window_that_does_not_fit_is_an_error(size):
    with pytest.raises(ValueError, match="does not fit"):
        random_windows(torch.zeros(2, 3, 32, 32, dtype=torch.uint8), size)
