"""Fixtures the page tests share.

A page test's module asks for its models warm with ``pytestmark = pytest.mark.usefixtures("warm_model")``
(the Explore and Learn pages' A²-ResNet) or ``"warm_models"`` (every arch of the zoo, for Compare).
"""

from __future__ import annotations

import pytest


def _warm(archs) -> None:
    # Import torch and load the models once, outside AppTest's per-run timeout (st.cache_resource is per
    # process, so the pages' runs then find them loaded).
    from app.common import load_model, weights_dir

    for arch in archs:
        load_model(arch, str(weights_dir() / f"{arch}.safetensors"))


@pytest.fixture(scope="module")
def warm_model() -> None:
    """The A²-ResNet of the weights folder the app reads, loaded once per module."""
    _warm(("a2_resnet",))


@pytest.fixture(scope="module")
def warm_models() -> None:
    """Every arch of the zoo, loaded once per module."""
    from a2core.models import ARCHS

    _warm(ARCHS)
