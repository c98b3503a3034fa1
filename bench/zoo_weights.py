"""A weights folder for the app with both zoos, for the benchmarks, tests and CI, which have no photo-zoo weights.

The folder has the layout of ``assets/weights`` that ``$A2LENS_WEIGHTS`` replaces: the shipped
CIFAR-10 files (linked, not copied; an arch with no shipped file, such as the series' six before their
weights land, is written from a randomly initialised model) and ``imagenette/<arch>.safetensors``
written here from randomly initialised photo-zoo models with ``a2core.save_weights``, so the app's code
runs on every test run, for all thirteen archs, whether or not the trained weights have landed.

    folder = weights_folder(tmp_path)                       # then A2LENS_WEIGHTS=folder

Here, not under tests/, so that the tests import the benchmarks' helpers and never the other way round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

import torch

from a2core import build, read_meta, save_weights
from a2core.models import ALL_ARCHS, zoo_dir
from a2core.training.data import IMAGENETTE_CLASSES
from a2core.training.train import DATASETS, RECIPES
from a2core.weights import WEIGHTS_DIR, ModelMeta

PHOTO = "imagenette"


def photo_meta(arch: str) -> ModelMeta:
    """The metadata training writes for a photo-zoo model, without an accuracy (nothing was trained)."""
    recipe = RECIPES[PHOTO]
    return ModelMeta(arch=arch, classes=tuple(sorted(IMAGENETTE_CLASSES.values())), input_size=recipe.input_size,
                     mean=recipe.mean, std=recipe.std, dataset=f"random initialisation (tests), not {DATASETS[PHOTO]}",
                     recipe=asdict(recipe), val_accuracy=None, zoo=PHOTO)


def write_photo_weights(folder: Path, archs: Sequence[str] = ALL_ARCHS, seed: int = 0,
                        uniform: bool = False) -> Path:
    """``folder/imagenette/<arch>.safetensors`` for each of ``archs``, random weights (float16, as shipped).

    ``uniform`` zeroes the classifier, so every picture gets probability 1/10 for every class.
    """
    out = zoo_dir(PHOTO, root=folder)
    for arch in archs:
        torch.manual_seed(seed)
        model = build(arch, num_classes=len(IMAGENETTE_CLASSES), zoo=PHOTO).eval()
        if uniform:
            torch.nn.init.zeros_(model.fc.weight)
            torch.nn.init.zeros_(model.fc.bias)
        save_weights(model, out / f"{arch}.safetensors", photo_meta(arch), dtype=torch.float16)
    return folder


def link_cifar_weights(folder: Path, archs: Sequence[str] = ALL_ARCHS, seed: int = 0) -> Path:
    """Symbolic links in ``folder`` to the shipped CIFAR-10 weight files of ``archs``; an arch with no shipped
    file gets random weights with the shipped models' metadata (its classes, size and normalisation)."""
    folder.mkdir(parents=True, exist_ok=True)
    for arch in archs:
        shipped = WEIGHTS_DIR / f"{arch}.safetensors"
        if shipped.is_file():
            (folder / f"{arch}.safetensors").symlink_to(shipped)
            continue
        meta = replace(read_meta(WEIGHTS_DIR / "resnet.safetensors"), arch=arch, val_accuracy=None,
                       dataset="random initialisation (tests), not CIFAR-10")
        torch.manual_seed(seed)
        model = build(arch, num_classes=len(meta.classes)).eval()
        save_weights(model, folder / f"{arch}.safetensors", meta, dtype=torch.float16)
    return folder


def weights_folder(folder: Path, photo_archs: Sequence[str] = ALL_ARCHS, cifar_archs: Sequence[str] = ALL_ARCHS,
                   uniform: bool = False) -> Path:
    """Both zoos: the shipped CIFAR-10 files (random ones where none is shipped) and random photo-zoo weights."""
    link_cifar_weights(folder, cifar_archs)
    return write_photo_weights(folder, photo_archs, uniform=uniform)
