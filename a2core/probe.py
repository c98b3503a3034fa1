"""Attention maps of a whole model in one forward pass."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .models import attention_blocks


@torch.no_grad()
def attention_maps(model: nn.Module, images: Tensor) -> tuple[Tensor, dict[str, object]]:
    """Run ``model`` once on ``images`` (N, 3, H, W) → (logits, {block name: maps}).

    Each attention block is asked for its maps through a forward pre-hook that
    sets ``return_maps=True``; a forward hook keeps the maps and hands the
    block's output on, so the model computes exactly what it computes
    otherwise. Hooks, training mode and gradients are restored afterwards.
    """
    maps: dict[str, object] = {}
    handles = []

    def ask_for_maps(module, args, kwargs):
        return args, {**kwargs, "return_maps": True}

    def keep_maps(name):
        def hook(module, args, kwargs, output):
            y, maps[name] = output
            return y

        return hook

    for name, block in attention_blocks(model).items():
        handles.append(block.register_forward_pre_hook(ask_for_maps, with_kwargs=True))
        handles.append(block.register_forward_hook(keep_maps(name), with_kwargs=True))
    # Per module, not just the top flag: a model may hold submodules in eval (e.g. frozen BN).
    modes = {module: module.training for module in model.modules()}
    try:
        model.eval()
        logits = model(images)
    finally:
        for module, training in modes.items():
            module.training = training
        for handle in handles:
            handle.remove()
    return logits, maps
