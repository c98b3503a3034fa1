"""The zoos as model sources: the weight files of each zoo's archs, read afresh on every run."""

from __future__ import annotations

import os
from pathlib import Path

from a2core.models import archs_with_weights, zoo_dir
from a2core.weights import read_meta
from app.sources import SAMPLES_DIR, ModelSource, ZooView, samples

#: The app's own model: a zoo is the default only when it has this arch's weights.
MAIN_ARCH = "a2_resnet"

#: The zoos in the picker's order: the first with weights for :data:`MAIN_ARCH` is the default.
ZOO_VIEWS: dict[str, ZooView] = {
    "imagenette": ZooView(
        zoo="imagenette", label="Photos: Imagenette (10 classes, 160 px)", backbone="ResNet-18",
        about="Every model is the same ResNet-18 layout (stride-4 stem, four stages of two blocks, narrowed to "
        "32–256 channels) with one attention design placed where its paper places it in ImageNet ResNets (A² and "
        "Non-local in res3 and res4), trained on Imagenette at 160 px with one recipe, so the columns compare. "
        "Model card: `assets/weights/imagenette/MODEL_CARD.md`.",
        # every choice keeps the finest A² map (stride 8) at 20×20 or finer
        sizes=(160, 192, 224, 256, 320), samples=SAMPLES_DIR / "imagenette", sample_label="Imagenette validation",
        default_sample="English_springer · val_00008162", pending="in training",
    ),
    "cifar10": ZooView(
        zoo="cifar10", label="CIFAR-10 (10 classes, 32 px)", backbone="ResNet-20",
        about="Every model is the same CIFAR ResNet-20 with one attention design on the last block of stages 2 "
        "and 3, trained with the same recipe, so the columns compare. Model card: `assets/weights/MODEL_CARD.md`.",
        sizes=(32, 64, 96, 128),
        samples=SAMPLES_DIR, sample_label="CIFAR-10 validation", default_sample="cat · val_0000",
    ),
}


def weights_dir(zoo: str = "cifar10") -> Path:
    """Where the app finds a zoo's ``<arch>.safetensors``.

    ``$A2LENS_WEIGHTS`` replaces the shipped ``assets/weights`` and has its layout: the CIFAR-10
    zoo's files in it, the photo zoo's in its ``imagenette/`` folder.
    """
    return zoo_dir(zoo, root=os.environ.get("A2LENS_WEIGHTS"))


def zoo_source(zoo: str) -> ModelSource:
    """The zoo's weight files that exist now (read on every run: weights that land show up at once)."""
    view, folder = ZOO_VIEWS[zoo], weights_dir(zoo)
    # every arch of the series whose file is there: the six trained later appear when their weights land
    weights = {arch: folder / f"{arch}.safetensors" for arch in archs_with_weights(folder)}
    meta = read_meta(next(iter(weights.values()))) if weights else None
    return ModelSource(
        key=zoo, label=view.label, zoo=zoo, weights=weights, view=view, folder=folder,
        classes=tuple(meta.classes) if meta else (), input_size=meta.input_size if meta else view.sizes[0],
        samples=samples(view.samples),
    )
