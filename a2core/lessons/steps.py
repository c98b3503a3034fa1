"""The double attention block one named step at a time, on real or hand-made weights.

:class:`~a2core.blocks.DoubleAttention` computes Z in one go. For teaching, the
same math is spelled out here step by step, with every intermediate kept:

    A = φ(X)           (m, L)    features to gather
    B = θ(X)           (n, L)    gathering logits
    V = ρ(X)           (n, L)    distribution logits
    softmax_L(B)       (n, L)    gathering maps, each row sums to 1 over positions
    G = A softmax_L(B)ᵀ (m, n)   global descriptors g_1 … g_n
    softmax_n(V)       (n, L)    distribution weights, each column sums to 1 over descriptors
    Z = G softmax_n(V) (m, L)    what every position receives

:func:`double_attention_steps` takes the 1×1 convolutions as plain matrices, so
the Learn page's toy (weights set by sliders) and the trained block
(:func:`block_steps`, weights read from its convolutions) go through the same
code. :func:`block_inputs` captures the feature map X that a model hands to its
attention blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..blocks import DoubleAttention
from ..probe import probing, tapped_blocks


@dataclass(frozen=True)
class DoubleAttentionSteps:
    """Every tensor of one double attention pass on one feature map (no batch axis).

    x: (c, *spatial) input; a: (m, L); b, v: (n, L) logits; gather: (n, L);
    descriptors: (m, n); distribute: (n, L); z: (m, L); y: (c, *spatial) or None
    when the output projection is not known (the toy has none).
    """

    x: Tensor
    a: Tensor
    b: Tensor
    v: Tensor
    gather: Tensor
    descriptors: Tensor
    distribute: Tensor
    z: Tensor
    y: Tensor | None = None

    @property
    def spatial(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def as_maps(self, t: Tensor) -> Tensor:
        """(k, L) → (k, *spatial), e.g. ``steps.as_maps(steps.gather)`` gives the gathering maps."""
        return t.reshape(t.shape[0], *self.spatial)

    def implied_attention(self) -> Tensor:
        """(L, L), row j = what query position j receives: softmax_n(V)ᵀ softmax_L(B).

        Z = A Pᵀ with this P, so each row sums to 1: position j's rank-n stand-in
        for a Non-local attention row (same convention as a2core.analysis).
        """
        return self.distribute.T @ self.gather


def _pointwise(weight: Tensor, bias: Tensor | None, x: Tensor) -> Tensor:
    """A 1×1 convolution as a matrix: (k, c) · (c, L) (+ bias) → (k, L)."""
    out = weight @ x
    return out if bias is None else out + bias[:, None]


def double_attention_steps(
    x: Tensor,
    w_phi: Tensor,
    w_theta: Tensor,
    w_rho: Tensor,
    b_phi: Tensor | None = None,
    b_theta: Tensor | None = None,
    b_rho: Tensor | None = None,
) -> DoubleAttentionSteps:
    """Run the gather and distribute steps on X (c, *spatial) with weights (m, c), (n, c), (n, c)."""
    if x.dim() < 2:
        raise ValueError(f"expected x of shape (c, *spatial), got {tuple(x.shape)}")
    flat = x.reshape(x.shape[0], -1)  # (c, L)
    a = _pointwise(w_phi, b_phi, flat)
    b = _pointwise(w_theta, b_theta, flat)
    v = _pointwise(w_rho, b_rho, flat)
    gather = b.softmax(dim=1)  # over the L positions
    descriptors = a @ gather.T  # g_i = A softmax(b_i)ᵀ
    distribute = v.softmax(dim=0)  # over the n descriptors
    z = descriptors @ distribute  # z_j = G v_j
    return DoubleAttentionSteps(x, a, b, v, gather, descriptors, distribute, z)


def _conv_matrix(conv: nn.Conv2d) -> tuple[Tensor, Tensor | None]:
    bias = None if conv.bias is None else conv.bias.detach()
    return conv.weight.detach()[:, :, 0, 0], bias


@torch.no_grad()
def block_steps(block: DoubleAttention, x: Tensor) -> DoubleAttentionSteps:
    """The trained ``block``'s steps on its input X (1, c, H, W) or (c, H, W), output Y included.

    Uses the block's own φ, θ, ρ and projection, so Y equals ``block(x)``.
    """
    if x.dim() == 4:
        if x.shape[0] != 1:
            raise ValueError(f"one image at a time, got a batch of {x.shape[0]}")
        x = x[0]
    x = x.float()
    steps = double_attention_steps(x, *_weights(block))
    z = steps.as_maps(steps.z).unsqueeze(0)
    y = x + block.proj(z)[0]
    return DoubleAttentionSteps(**{**steps.__dict__, "y": y})


def _weights(block: DoubleAttention) -> tuple[Tensor, ...]:
    (w_phi, b_phi), (w_theta, b_theta), (w_rho, b_rho) = (
        _conv_matrix(block.phi),
        _conv_matrix(block.theta),
        _conv_matrix(block.rho),
    )
    return w_phi, w_theta, w_rho, b_phi, b_theta, b_rho


def bilinear_terms(a: Tensor, b: Tensor) -> Tensor:
    """The outer products a_j b_jᵀ of bilinear pooling, (m, L), (n, L) → (L, m, n).

    Their sum over positions is A Bᵀ; with B the gathering maps it is G.
    """
    return torch.einsum("mj,nj->jmn", a, b)


@torch.no_grad()
def block_inputs(model: nn.Module, images: Tensor, names=None) -> tuple[Tensor, dict[str, Tensor]]:
    """One forward pass → (logits, {block name: the X that block receives, (N, c, H, W)}).

    ``names`` restricts the capture to some attention blocks (default: all).
    Read through the blocks' taps (:mod:`a2core.probe`): the shared model is
    not changed, so any number of threads may call this at once; it runs in
    the mode it is in.
    """
    names = list(tapped_blocks(model) if names is None else names)
    with probing(model, inputs=names) as probe:
        logits = model(images)
    return logits, {name: probe.inputs[name] for name in names if name in probe.inputs}
