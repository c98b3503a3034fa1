"""Fixtures shared across the test tree."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    # The models and tensors in the tests are tiny: extra threads only add overhead
    # (several × on a busy CPU). Subprocesses (servers, torchrun, benchmarks) choose their own.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
