"""The teaching tensors of the Learn page, usable in a notebook.

``steps``: the A² block step by step (gather, distribute) on a real block's input; ``toy``: a block
small enough to read every number; ``cost``: what the two orders of its products cost, counted;
``orders``: the same, measured, under caps that keep a shared server up.
May import torch, :mod:`a2core.blocks` and :mod:`a2core.probe`; never figures, training or the app.
"""

from .cost import OrderCost, criss_cross_cost, double_attention_costs, non_local_cost, pointwise_flops, positions
from .orders import MAX_MEASURE_FLOPS, MAX_PAIRWISE_BYTES, measure_orders, measure_plan, measure_refusal
from .steps import DoubleAttentionSteps, bilinear_terms, block_inputs, block_steps, double_attention_steps
from .toy import (
    TOY_CHANNELS,
    TOY_N,
    WEIGHT_RANGE,
    WEIGHT_STEP,
    bilinear_check,
    default_rho,
    default_theta,
    strongest_terms,
    toy_scene,
    toy_steps,
)

__all__ = [
    "MAX_MEASURE_FLOPS",
    "MAX_PAIRWISE_BYTES",
    "TOY_CHANNELS",
    "TOY_N",
    "WEIGHT_RANGE",
    "WEIGHT_STEP",
    "DoubleAttentionSteps",
    "OrderCost",
    "bilinear_check",
    "bilinear_terms",
    "block_inputs",
    "block_steps",
    "default_rho",
    "default_theta",
    "criss_cross_cost",
    "double_attention_costs",
    "double_attention_steps",
    "measure_orders",
    "measure_plan",
    "measure_refusal",
    "non_local_cost",
    "pointwise_flops",
    "positions",
    "strongest_terms",
    "toy_scene",
    "toy_steps",
]
