"""What the "fits none" flag reads off a model: its logits and its stages' pooled features.

    logits, pooled = read_features(model, batch)          # (B, K), {"layer1": (B, C1), ...}
    table = features_of_photos(models, paths, size)      # every model, every photo, cached by the caller

A stage's pooled feature is the spatial mean of its output (after the block's ReLU), the vector
the classifier's average pool would see had the network stopped there.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..images import load_image, model_view, to_tensor

#: The stages whose pooled outputs are read (the ResNets of both zoos have layer1 … layer3, photos layer4).
STAGES = ("layer1", "layer2", "layer3", "layer4")


def stages_of(model: nn.Module) -> list[str]:
    """The names of ``model``'s stages among :data:`STAGES`, in order."""
    return [name for name in STAGES if isinstance(getattr(model, name, None), nn.Module)]


@torch.no_grad()
def read_features(model: nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(B, 3, S, S) normalised images → logits (B, K) and each stage's spatial mean {stage: (B, C)}."""
    pooled: dict[str, torch.Tensor] = {}
    handles = [
        getattr(model, name).register_forward_hook(
            lambda _m, _i, out, name=name: pooled.__setitem__(name, out.float().mean((2, 3))))
        for name in stages_of(model)
    ]
    try:
        logits = model(batch).float()
    finally:
        for handle in handles:
            handle.remove()
    return logits, pooled


def squeezed(image: Image.Image, side: int = 224, quality: int = 75) -> Image.Image:
    """``image`` stored the way the Imagenette files here are: resized to side×side without keeping the aspect
    ratio, then saved as a JPEG of ``quality`` (a control: does a score tell the photos apart by that alone?)."""
    buffer = io.BytesIO()
    image.convert("RGB").resize((side, side), Image.Resampling.BILINEAR).save(buffer, "JPEG", quality=quality)
    return load_image(buffer.getvalue())


def features_of_photos(models: dict[str, nn.Module], photos: Sequence[Path], size: int, batch_size: int = 50,
                       transform=None, progress: Iterable | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Every model's logits and pooled stages for every photo at ``size`` → {arch: {"logits": (N, K),
    "layer1": (N, C1), ...}}. A photo is decoded once for all models (``transform`` applies to the decoded
    image, e.g. :func:`squeezed`); every model must share one normalisation (a zoo's models do)."""
    metas = {arch: model.meta for arch, model in models.items()}
    mean, std = next(iter(metas.values())).mean, next(iter(metas.values())).std
    if any(m.mean != mean or m.std != std for m in metas.values()):
        raise ValueError("the models normalise their input differently; read them one at a time")
    out: dict[str, dict[str, list[np.ndarray]]] = {arch: {} for arch in models}
    starts = range(0, len(photos), batch_size)
    for start in progress(starts) if progress else starts:
        images = []
        for path in photos[start:start + batch_size]:
            image = load_image(Path(path).read_bytes())
            images.append(to_tensor(model_view(transform(image) if transform else image, size), mean, std))
        batch = torch.stack(images)
        for arch, model in models.items():
            logits, pooled = read_features(model, batch)
            for key, value in {"logits": logits, **pooled}.items():
                out[arch].setdefault(key, []).append(value.numpy())
    return {arch: {key: np.concatenate(parts) for key, parts in table.items()} for arch, table in out.items()}
