"""Grad-CAM (Selvaraju et al., ICCV 2017) at the layer that holds an attention block, through Captum.

For a layer's output A (K channels, h × w) and the logit y_c of a class c:

    α_k = mean_{h,w} ∂y_c / ∂A_k          (K,)    how much channel k drives the class
    cam = ReLU(Σ_k α_k A_k)                (h, w)  where the layer's features raise y_c

An attention block's maps are what the block computes on every forward pass,
whatever the class; Grad-CAM is a gradient explanation of one class. Both on
one feature map side by side show where a block gathers beside what drives
the prediction. The layer is the block's *holder* (:func:`holder_of`): the
residual unit the attention sits in, whose output carries the block's effect.

Captum's ``LayerGradCam`` puts a forward hook on the layer for the duration of
the call, so give :func:`grad_cam` a model no other thread runs meanwhile (the
app keeps a copy of each model for it, under a lock).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn


def holder_of(model: nn.Module, block: str) -> str:
    """The name of the module whose output Grad-CAM explains for the attention block named ``block``.

    The block's parent (``layer2.2`` for ``layer2.2.attn``, timm's ``layer3.1`` for ``layer3.1.se``);
    when the parent is a plain container (torchvision's MBConv keeps its layers in a ``block``
    Sequential), the unit that owns that container, whose output includes the residual.
    """
    parts = block.split(".")
    if len(parts) < 2:
        raise ValueError(f"{block!r} is the model's own child: no layer holds it")
    parent = ".".join(parts[:-1])
    if isinstance(model.get_submodule(parent), (nn.Sequential, nn.ModuleList)) and parent.count(".") >= 1:
        parent = parent.rsplit(".", 1)[0]
    return parent


def grad_cam(model: nn.Module, images: Tensor, layer: str, target: int | Tensor | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM of ``images`` (N, 3, H, W) at the output of ``model``'s submodule ``layer``.

    target: the class to explain, one for all images or one per image; None explains each image's
    predicted class. Returns (cams (N, h, w) float32 ≥ 0 on the layer's feature map, the explained
    classes (N,) int). The model runs in the mode it is in (eval for an explanation of inference).
    """
    from captum.attr import LayerGradCam

    module = model.get_submodule(layer)
    with torch.enable_grad():
        if target is None:
            with torch.no_grad():
                target = model(images).argmax(dim=1)
        targets = torch.as_tensor(target, device=images.device).expand(images.shape[0])
        cams = LayerGradCam(model, module).attribute(images, target=targets, relu_attributions=True)
    return cams[:, 0].detach().float().cpu().numpy(), targets.cpu().numpy().astype(np.int64)
