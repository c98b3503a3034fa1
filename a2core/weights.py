"""Shipped weights: safetensors files with the model card's metadata inside.

The metadata travels in the safetensors header as one JSON string under the key
``a2lens``, so a weight file alone says what it is and how to feed it. Loading
never unpickles anything.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from .models import ALL_ARCHS, ZOOS, build

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "assets" / "weights"
_META_KEY = "a2lens"


class WeightsError(ValueError):
    """A weight file that does not fit the requested architecture."""


@dataclass(frozen=True)
class ModelMeta:
    """What a trained model needs to be used and reported honestly."""

    arch: str
    classes: tuple[str, ...]
    input_size: int = 32
    mean: tuple[float, float, float] = (0.4914, 0.4822, 0.4465)
    std: tuple[float, float, float] = (0.2470, 0.2435, 0.2616)
    dataset: str = ""
    recipe: dict = field(default_factory=dict)
    val_accuracy: float | None = None
    #: the zoo (and so the backbone) the weights are for; files written before the photo zoo are CIFAR-10's
    zoo: str = "cifar10"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelMeta:
        data = dict(data)
        for key in ("classes", "mean", "std"):
            if key in data:
                data[key] = tuple(data[key])
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def save_weights(model: nn.Module, path: str | Path, meta: ModelMeta | dict, dtype: torch.dtype | None = None) -> Path:
    """Write ``model``'s state dict and ``meta`` to a safetensors file.

    ``dtype`` (e.g. ``torch.float16``) stores the floating-point tensors at that
    precision; :func:`load_pretrained` casts them back to the model's.
    """
    meta = meta if isinstance(meta, ModelMeta) else ModelMeta.from_dict(meta)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if dtype is not None:
        tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()}
    save_file(tensors, str(path), metadata={_META_KEY: json.dumps(meta.to_dict())})
    return path


def read_meta(path: str | Path) -> ModelMeta:
    """The metadata of a weight file, without loading its tensors."""
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
    except SafetensorError as error:  # e.g. a pickled .pt file or a truncated download
        raise WeightsError(f"{path} is not a readable safetensors file: {error}") from error
    if _META_KEY not in header:
        raise WeightsError(f"{path} has no A²Lens metadata; was it written by a2core.save_weights?")
    try:
        return ModelMeta.from_dict(json.loads(header[_META_KEY]))
    except (ValueError, TypeError) as error:  # not JSON, or without arch / classes
        raise WeightsError(f"{path} has malformed A²Lens metadata: {error}") from error


def zoo_dir(zoo: str = "cifar10", root: str | Path | None = None) -> Path:
    """Where a zoo's weights live under ``root`` (the shipped ``assets/weights/`` by default):
    ``root/`` for CIFAR-10, ``root/<zoo>/`` for the others."""
    if zoo not in ZOOS:
        raise ValueError(f"unknown zoo {zoo!r}; choose one of {', '.join(ZOOS)}")
    root = Path(WEIGHTS_DIR if root is None else root)  # read at call time: tests point WEIGHTS_DIR elsewhere
    return root if zoo == "cifar10" else root / zoo


def archs_with_weights(folder: str | Path) -> tuple[str, ...]:
    """The archs of :data:`~a2core.models.ALL_ARCHS` that have ``folder/<arch>.safetensors``, in zoo order.

    What a zoo offers is what its folder holds: weights that land (the series' six, trained later) join every
    list that reads this, with no change of code.
    """
    folder = Path(folder)
    return tuple(a for a in ALL_ARCHS if (folder / f"{a}.safetensors").is_file())


def default_path(arch: str, zoo: str = "cifar10") -> Path:
    return zoo_dir(zoo) / f"{arch}.safetensors"


def load_pretrained(arch: str, path: str | Path | None = None, zoo: str = "cifar10") -> nn.Module:
    """Build ``arch`` and load its shipped weights of ``zoo`` (or the weights at ``path``), in eval mode.

    The backbone follows the file's metadata, so ``path`` may hold a model of
    either zoo. The model carries its metadata as ``model.meta`` (a
    :class:`ModelMeta`). Raises :class:`WeightsError` when the file is for
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


def load_fitting(model: nn.Module, state: dict[str, torch.Tensor], problem: str) -> None:
    """Load ``state`` into ``model`` (cast to its dtypes) when every tensor fits exactly, else raise
    :class:`WeightsError` starting with ``problem`` and naming the missing, unexpected and mis-shaped tensors."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or wrong:
        problems = [f"missing {missing[:5]}" if missing else "", f"unexpected {unexpected[:5]}" if unexpected else ""]
        problems += wrong[:5]
        raise WeightsError(f"{problem}: " + "; ".join(p for p in problems if p))
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})
