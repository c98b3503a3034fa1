"""The zoos' shipped weights: where each zoo's files are, and ``load_pretrained`` to build an arch with them.

    model = load_pretrained("a2_resnet", zoo="imagenette")   # assets/weights/imagenette/a2_resnet.safetensors

Reading and checking the file is :mod:`a2core.weights`' (weight I/O, which never imports the models);
this module adds what only the models know: the zoos and the architecture to build.
"""

from __future__ import annotations

from pathlib import Path

from safetensors import safe_open
from torch import nn

from .. import weights
from ..weights import WeightsError, load_fitting, read_meta
from .resnet import ALL_ARCHS, ZOOS, build


def zoo_dir(zoo: str = "cifar10", root: str | Path | None = None) -> Path:
    """Where a zoo's weights live under ``root`` (the shipped ``assets/weights/`` by default):
    ``root/`` for CIFAR-10, ``root/<zoo>/`` for the others."""
    if zoo not in ZOOS:
        raise ValueError(f"unknown zoo {zoo!r}; choose one of {', '.join(ZOOS)}")
    root = Path(weights.WEIGHTS_DIR if root is None else root)  # read at call time: tests point it elsewhere
    return root if zoo == "cifar10" else root / zoo


def archs_with_weights(folder: str | Path) -> tuple[str, ...]:
    """The archs of :data:`~a2core.models.ALL_ARCHS` that have ``folder/<arch>.safetensors``, in zoo order.

    What a zoo offers is what its folder holds: weights that land (the series' six, trained later) join every
    list that reads this, with no change of code.
    """
    folder = Path(folder)
    return tuple(a for a in ALL_ARCHS if (folder / f"{a}.safetensors").is_file())


def default_path(arch: str, zoo: str = "cifar10") -> Path:
    """The shipped weight file of ``arch`` in ``zoo``: ``zoo_dir(zoo) / <arch>.safetensors``."""
    return zoo_dir(zoo) / f"{arch}.safetensors"


def load_pretrained(arch: str, path: str | Path | None = None, zoo: str = "cifar10") -> nn.Module:
    """Build ``arch`` and load its shipped weights of ``zoo`` (or the weights at ``path``), in eval mode.

    The backbone follows the file's metadata, so ``path`` may hold a model of
    either zoo. The model carries its metadata as ``model.meta`` (a
    :class:`~a2core.weights.ModelMeta`). Raises :class:`~a2core.weights.WeightsError` when the file is for
    another arch or its tensors do not fit, and FileNotFoundError when there is
    no file.
    """
    path = Path(path) if path is not None else default_path(arch, zoo)
    if not path.is_file():
        raise FileNotFoundError(f"no weights for {arch!r} at {path}; train them with python -m a2core.training.train")
    meta = read_meta(path)
    if meta.arch != arch:
        raise WeightsError(f"{path} holds weights for {meta.arch!r}, not {arch!r}")
    if meta.zoo not in ZOOS:
        raise WeightsError(f"{path} is for zoo {meta.zoo!r}, which this version does not know ({', '.join(ZOOS)})")
    model = build(arch, num_classes=len(meta.classes), zoo=meta.zoo)
    with safe_open(str(path), framework="pt") as f:
        state = {k: f.get_tensor(k) for k in f.keys()}
    load_fitting(model, state, f"{path} does not fit {arch!r}")
    model.meta = meta
    return model.eval()
