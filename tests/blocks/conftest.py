"""Shared set-up for the block tests: every test starts from the same random state."""

from __future__ import annotations

import pytest
import torch

import a2core  # noqa: F401  (imports torchvision through the shim before timm needs it)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
