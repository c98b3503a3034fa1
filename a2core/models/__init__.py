"""The backbones and the arch registry: ``build(arch, zoo=...)`` for every arch of :data:`ARCHS`.

``resnet``: the CIFAR ResNet-20 and the photo ResNet-18 layout, where each design sits, the registry.
``pretrained``: where each zoo's shipped weights are, and ``load_pretrained`` to build an arch with them.
``own``: your own model, a timm or torchvision architecture with your safetensors weights.
May import torch, torchvision (through ``a2core._compat``), timm (``own``, optional), :mod:`a2core.blocks`
and the weight I/O :mod:`a2core.weights` (which never imports this package); nothing that probes, trains or draws.
"""

from .families import FAMILIES, PAPERS, by_family, family_of
from .own import ModelSpec, load_own_model
from .pretrained import archs_with_weights, default_path, load_pretrained, zoo_dir
from .resnet import (
    ALL_ARCHS,
    ARCHS,
    ATTENTION,
    ATTENTION_BLOCKS,
    CIFAR_PLACEMENT,
    PHOTO_PLACEMENT,
    PLACEMENT_REASONS,
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
    "ModelSpec",
    "PAPERS",
    "PHOTO_PLACEMENT",
    "PLACEMENT_REASONS",
    "SERIES_ARCHS",
    "SITES",
    "ZOOS",
    "AttentionBasicBlock",
    "AttentionResNet",
    "CifarResNet",
    "PhotoResNet",
    "archs_with_weights",
    "attention_blocks",
    "build",
    "by_family",
    "default_path",
    "every_block_of",
    "family_of",
    "last_block_of",
    "load_own_model",
    "load_pretrained",
    "zoo_dir",
]
