"""Shared set-up for the block tests: every test starts from the same random state."""

from __future__ import annotations

import pytest
import torch

import a2core  # noqa: F401  (imports torchvision through the shim before timm needs it)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True, scope="package")
def _one_thread():
    # The tensors here are tiny: extra threads only add overhead (several × on a busy CPU).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
