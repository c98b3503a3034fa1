"""Every block in every precision: float64 stays float64, bf16 is raised to float32, never lowered.

- ``torch.autograd.gradcheck`` in float64, train and eval mode, with the attention path switched on
  (the zero-initialised last BatchNorm / conv of A², Non-local and GC, and CC-Net's γ, set non-zero), so a cast to
  float32 anywhere on the path would fail it.
- Output and map dtypes for float64, float32, and bf16 autocast (float32 and bf16 input): the output
  keeps the input's dtype, the maps come back in at least float32 and in float64 for float64 input.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from a2core import blocks
from tests.blocks.helpers import switch_on

C = 8


FACTORIES = {
    "A2": lambda: blocks.DoubleAttention(C, 4, 3),
    "A2 pairwise": lambda: blocks.DoubleAttention(C, 4, 3, order="pairwise"),
    "NonLocal": lambda: blocks.NonLocal(C),
    "SE": lambda: blocks.SqueezeExcitation(C),
    "GC": lambda: blocks.GlobalContext(C),
    "ECA": lambda: blocks.EfficientChannelAttention(C),
    "GSoP": lambda: blocks.GlobalSecondOrderPooling(C),
    "CBAM": lambda: blocks.CBAM(C),
    "BAM": lambda: blocks.BottleneckAttention(C),
    "SK": lambda: blocks.SelectiveKernel(C, C),
    "CC": lambda: blocks.CrissCrossAttention(C),
    "SplitAttention": lambda: blocks.SplitAttention(C, C),
    "Triplet": lambda: blocks.TripletAttention(C),
}


def make(name: str, dtype=torch.float32) -> nn.Module:
    torch.manual_seed(0)
    return switch_on(FACTORIES[name]()).to(dtype)


def tensor_fields(maps) -> dict[str, torch.Tensor]:
    return {f.name: getattr(maps, f.name) for f in dataclasses.fields(maps)
            if isinstance(getattr(maps, f.name), torch.Tensor)}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("name", FACTORIES)
def test_gradcheck_float64(name, train):
    block = make(name, torch.float64).train(train)
    if train:
        # BatchNorm's running statistics change at each call; gradcheck calls many times, the output must not
        for module in block.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.momentum = 0.0
    x = torch.randn(2, C, 3, 4, dtype=torch.float64, requires_grad=True)
    y = block(x)
    assert not torch.allclose(y, x)  # the attention path contributes
    assert torch.autograd.gradcheck(block, (x,), eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("name", FACTORIES)
def test_float64_stays_float64(name):
    block = make(name, torch.float64).eval()
    x = torch.randn(2, C, 3, 4, dtype=torch.float64)
    y, maps = block(x, return_maps=True)
    assert y.dtype == torch.float64
    for field, t in tensor_fields(maps).items():
        assert t.dtype == torch.float64, field


@pytest.mark.parametrize("name", FACTORIES)
def test_float32_stays_float32(name):
    y, maps = make(name).eval()(torch.randn(2, C, 3, 4), return_maps=True)
    assert y.dtype == torch.float32
    for field, t in tensor_fields(maps).items():
        assert t.dtype == torch.float32, field


@pytest.mark.parametrize("input_dtype", [torch.float32, torch.bfloat16], ids=["float32 input", "bf16 input"])
@pytest.mark.parametrize("name", FACTORIES)
def test_bf16_autocast_maps_are_float32(name, input_dtype):
    block = make(name).eval()
    x = torch.randn(2, C, 3, 4)
    with torch.no_grad():
        ref_y, ref_maps = block(x, return_maps=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y, maps = block(x.to(input_dtype), return_maps=True)
    assert y.dtype == input_dtype
    torch.testing.assert_close(y.float(), ref_y, rtol=0.05, atol=0.05)
    for field, t in tensor_fields(maps).items():
        assert t.dtype == torch.float32, field
        torch.testing.assert_close(t, tensor_fields(ref_maps)[field], rtol=0.05, atol=0.05)
