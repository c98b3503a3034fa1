"""Fixtures shared across the test tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

import a2core
from a2core.weights import WEIGHTS_DIR, ModelMeta, read_meta, save_weights


@pytest.fixture(scope="session")
def zoo_weights(tmp_path_factory) -> Path:
    """A weights folder with a file for every arch: the shipped ones, and untrained stand-ins for the rest.

    The pages must work for whatever set of models is shipped; the stand-ins let
    the tests drive every column of the Compare page while the zoo is still
    being trained. Point the app at it with ``A2LENS_WEIGHTS``.
    """
    folder = tmp_path_factory.mktemp("zoo_weights")
    classes = read_meta(WEIGHTS_DIR / "a2_resnet.safetensors").classes
    for arch in a2core.ARCHS:
        shipped = WEIGHTS_DIR / f"{arch}.safetensors"
        if shipped.is_file():
            shutil.copy(shipped, folder / shipped.name)
        else:
            save_weights(a2core.build(arch, len(classes)), folder / shipped.name,
                         ModelMeta(arch=arch, classes=classes, dataset="untrained stand-in for tests"))
    return folder


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    # The models and tensors in the tests are tiny: extra threads only add overhead
    # (several × on a busy CPU). Subprocesses (servers, torchrun, benchmarks) choose their own.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
