"""The backbones and the arch registry: ``build(arch, zoo=...)`` for every arch of :data:`ARCHS`.

``resnet``: the CIFAR ResNet-20 and the photo ResNet-18 layout, where each design sits, the registry.
``own``: your own model, a timm or torchvision architecture with your safetensors weights; it needs
:mod:`a2core.weights` (which imports this package), so it is imported as ``a2core.models.own``, not here.
May import torch, torchvision (through ``a2core._compat``), timm (``own``, optional) and :mod:`a2core.blocks`;
nothing that probes, trains or draws.
"""

from .families import FAMILIES, by_family, family_of
from .resnet import (
    ALL_ARCHS,
    ARCHS,
    ATTENTION,
    ATTENTION_BLOCKS,
    CIFAR_PLACEMENT,
    PHOTO_PLACEMENT,
    SERIES_ARCHS,
    SITES,
    ZOOS,
    AttentionBasicBlock,
    AttentionResNet,
    CifarResNet,
    PhotoResNet,
    attention_blocks,
    build,
    every_block_of,
    last_block_of,
)

__all__ = [
    "ALL_ARCHS",
    "ARCHS",
    "ATTENTION",
    "ATTENTION_BLOCKS",
    "CIFAR_PLACEMENT",
    "FAMILIES",
    "PHOTO_PLACEMENT",
    "SERIES_ARCHS",
    "SITES",
    "ZOOS",
    "AttentionBasicBlock",
    "AttentionResNet",
    "CifarResNet",
    "PhotoResNet",
    "attention_blocks",
    "build",
    "by_family",
    "every_block_of",
    "family_of",
    "last_block_of",
]
