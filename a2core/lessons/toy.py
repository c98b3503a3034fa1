"""A double attention block small enough to follow by hand, for a lecture.

The toy scene is the article's example, a ball and a bat, on a 6×6 feature map
with three readable channels (ball, bat, grass). φ is the identity, so A = X and
a global descriptor g_i simply says how much ball, bat and grass descriptor i
collected. The teacher sets θ (what each descriptor looks for) and ρ (which
descriptor each kind of position asks for) with sliders:

    theta = default_theta(n=2)          # (n, 3): descriptor 1 looks for the ball, 2 for the bat
    rho = default_rho(n=2)              # (n, 3): the ball asks for the bat, the bat for the ball
    steps = toy_steps(theta, rho)       # every tensor of the block, see a2core.steps

:func:`toy_scene` is the same toy as plain numbers, what the Learn page's browser view
(:mod:`a2core.figures.toy`) recomputes live while the sliders move.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .steps import DoubleAttentionSteps, bilinear_terms, double_attention_steps

#: the toy feature map's channels, in order.
TOY_CHANNELS: tuple[str, ...] = ("ball", "bat", "grass")
TOY_SIZE = 6
#: the slider range of the θ and ρ weights: ±5 already gives near one-hot softmaxes.
WEIGHT_RANGE = (-5.0, 5.0)
#: the sliders' step.
WEIGHT_STEP = 0.5
#: the numbers of descriptors the Learn page offers.
TOY_N = (2, 3)
#: the ball's cell whose received mix the Learn page spells out.
BALL_CELL = (1, 1)


def toy_feature_map(size: int = TOY_SIZE) -> Tensor:
    """X (3, size, size): a 2×2 ball at the top left, a vertical bat, a row of grass at the bottom.

    Entries are 0 or 1, so the softmaxes can be worked out on a blackboard.
    """
    if size < 5:
        raise ValueError(f"the toy scene needs at least 5×5 positions, got {size}")
    x = torch.zeros(len(TOY_CHANNELS), size, size)
    x[0, 1:3, 1:3] = 1  # ball
    x[1, 0 : size - 2, size - 2] = 1  # bat, clear of the grass
    x[2, size - 1, :] = 1  # grass
    return x


def default_theta(n: int = 2) -> Tensor:
    """θ (n, 3): descriptor i looks for channel i (ball, bat, grass)."""
    _check_n(n)
    return 4.0 * torch.eye(n, len(TOY_CHANNELS))


def default_rho(n: int = 2) -> Tensor:
    """ρ (n, 3): ball positions ask for the bat descriptor, bat positions for the ball's, grass for grass."""
    _check_n(n)
    rho = torch.zeros(n, len(TOY_CHANNELS))
    rho[1, 0] = 4.0  # a ball position's logit for descriptor 2 (the bat)
    rho[0, 1] = 4.0  # a bat position's logit for descriptor 1 (the ball)
    if n == 3:
        rho[2, 2] = 4.0
    return rho


def _check_n(n: int) -> None:
    if n not in (1, 2, 3):
        raise ValueError(f"the toy has n = 1, 2 or 3 descriptors, got {n}")


def toy_scene(size: int = TOY_SIZE) -> dict:
    """The toy as plain numbers (JSON-ready): X (3, size, size) as nested lists, the channels, the default
    θ and ρ for each n of :data:`TOY_N` (under ``str(n)``), the sliders' range and step, the ball's cell."""
    return {
        "channels": list(TOY_CHANNELS),
        "size": size,
        "x": toy_feature_map(size).tolist(),
        "range": list(WEIGHT_RANGE),
        "step": WEIGHT_STEP,
        "choices": list(TOY_N),
        "defaults": {str(n): {"theta": default_theta(n).tolist(), "rho": default_rho(n).tolist()} for n in TOY_N},
        "ball": list(BALL_CELL),
    }


def toy_steps(
    theta: Tensor, rho: Tensor, size: int = TOY_SIZE, dtype: torch.dtype = torch.float32
) -> DoubleAttentionSteps:
    """The block on the toy scene with φ = identity and the given θ, ρ (n, 3) (no biases), computed in ``dtype``
    (float64: the numbers the browser view computes)."""
    theta, rho = torch.as_tensor(theta, dtype=dtype), torch.as_tensor(rho, dtype=dtype)
    c = len(TOY_CHANNELS)
    if theta.shape != rho.shape or theta.dim() != 2 or theta.shape[1] != c:
        raise ValueError(f"theta and rho must both be (n, {c}), got {tuple(theta.shape)} and {tuple(rho.shape)}")
    _check_n(theta.shape[0])
    return double_attention_steps(toy_feature_map(size).to(dtype), torch.eye(c, dtype=dtype), theta, rho)


def strongest_terms(steps: DoubleAttentionSteps, k: int = 3) -> list[int]:
    """The k positions j whose bilinear terms a_j b̄_jᵀ weigh most, largest first: score ‖a_j‖₁ · max_i b̄_ij.

    Scores are compared at 6 significant digits and ties keep position order, so float32, float64 and the
    browser (toy.js) rank the ties the math makes alike (the ball's and the bat's cells under the default θ).
    """
    score = steps.a.abs().sum(0) * steps.gather.max(0).values
    rounded = [float(f"{value:.5e}") for value in score.tolist()]
    return sorted(range(len(rounded)), key=lambda j: (-rounded[j], j))[:k]


def bilinear_check(steps: DoubleAttentionSteps) -> dict[str, Tensor | float]:
    """G three ways: A softmax(B)ᵀ, Σ_j a_j softmax(B)_jᵀ (bilinear pooling), the block's own G.

    Returns the matmul and outer-product-sum versions (m, n) and the largest
    difference between any two of the three, which is round-off only.
    """
    matmul = steps.a @ steps.gather.T
    outer_sum = bilinear_terms(steps.a, steps.gather).sum(0)
    diff = max(
        (matmul - outer_sum).abs().max().item(),
        (matmul - steps.descriptors).abs().max().item(),
    )
    return {"matmul": matmul, "outer_sum": outer_sum, "max_abs_diff": diff}
