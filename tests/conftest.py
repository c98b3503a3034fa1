"""Fixtures shared across the test tree, and the ``browser`` marker of every end-to-end test.

The fast part, for a developer between edits (the marks are the ``slow`` and ``browser`` of pyproject.toml)::

    python3 -m pytest -m "not slow and not browser"

CI (``.ci/run``) runs everything: ``python3 -m pytest``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import torch


E2E = Path(__file__).resolve().parent / "e2e"


def pytest_collection_modifyitems(items):
    # Every test under tests/e2e drives Chromium against a served app: marked here, so a new file there is too.
    for item in items:
        if E2E in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


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
