"""Fixtures shared across the test tree."""

from __future__ import annotations

import contextlib

import pytest
import torch


@contextlib.contextmanager
def _torch_threads(threads: int | None):
    # torch's thread count is one setting for the whole process: set it (None: leave it) and give the
    # previous one back afterwards, whatever the test did to it (a --threads option, for instance).
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    # The models and tensors in the tests are tiny: extra threads only add overhead
    # (several × on a busy CPU). Subprocesses (servers, torchrun, benchmarks) choose their own.
    with _torch_threads(1):
        yield


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a whole module, even after a test elsewhere changed the count: OpenMP's
    barriers stall when a busy machine deschedules a second thread."""
    with _torch_threads(1):
        yield


@pytest.fixture
def keep_torch_threads():
    """The torch thread count as it was before the test (for tests of code that sets it, e.g. ``--threads``)."""
    with _torch_threads(None):
        yield
