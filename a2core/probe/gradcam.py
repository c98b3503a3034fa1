"""Grad-CAM (Selvaraju et al., ICCV 2017) at the layer that holds an attention block.

For a layer's output A (K channels, h × w) and the logit y_c of a class c:

    α_k = mean_{h,w} ∂y_c / ∂A_k          (K,)    how much channel k drives the class
    cam = ReLU(Σ_k α_k A_k)                (h, w)  where the layer's features raise y_c

An attention block's maps are what the block computes on every forward pass,
whatever the class; Grad-CAM is a gradient explanation of one class. Both on
one feature map side by side show where a block gathers beside what drives
the prediction. The layer is the block's *holder* (:func:`holder_of`): the
residual unit the attention sits in, whose output carries the block's effect.

The layer's output is kept by an inert tap (:mod:`a2core.probe.taps`) for the
calling thread only, so Grad-CAM runs on a model other threads are running
meanwhile (the app's shared model) without changing it. Captum's
``LayerGradCam`` computes the same maps (the tests use it as their reference)
but hooks the layer for the duration of its call, and such a hook also sees
other threads' forward passes through the layer.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from .taps import holder_of, probing

__all__ = ["grad_cam", "holder_of"]


def grad_cam(model: nn.Module, images: Tensor, layer: str, target: int | Tensor | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM of ``images`` (N, 3, H, W) at the output of ``model``'s submodule ``layer``.

    target: the class to explain, one for all images or one per image; None explains each image's
    predicted class. Returns (cams (N, h, w) float32 ≥ 0 on the layer's feature map, the explained
    classes (N,) int). The model runs in the mode it is in (eval for an explanation of inference);
    its parameters' ``.grad`` are left alone.
    """
    # An input that asks for gradients puts the layer's output in the graph even when every
    # parameter is frozen.
    images = images.detach().requires_grad_(True)
    with torch.enable_grad(), probing(model, outputs=[layer]) as probe:
        logits = model(images)
    features = probe.outputs[layer]  # A: (N, K, h, w)
    targets = logits.argmax(1) if target is None else torch.as_tensor(target, device=images.device)
    targets = targets.expand(images.shape[0])
    (grads,) = torch.autograd.grad(logits.gather(1, targets[:, None]).sum(), features)  # ∂y_c/∂A
    alpha = grads.mean(dim=tuple(range(2, grads.dim())), keepdim=True)  # α_k: (N, K, 1, 1)
    cams = torch.relu((alpha * features).sum(1))
    return cams.detach().float().cpu().numpy(), targets.cpu().numpy().astype(np.int64)
