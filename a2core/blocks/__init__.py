"""Attention blocks, one design per module.

Every block maps (N, c, *spatial) to a tensor of the same shape; called with
``return_maps=True`` it returns ``(y, maps)``, a dataclass of the attention
tensors worth looking at.
"""

from .bottleneck_attention import BAMMaps, BottleneckAttention
from .cbam import CBAM, CBAMMaps
from .criss_cross import CrissCrossAttention, CrissCrossMaps
from .double_attention import DoubleAttention, DoubleAttentionMaps
from .efficient_channel import EfficientChannelAttention, EfficientChannelAttentionMaps, eca_kernel_size
from .global_context import GlobalContext, GlobalContextMaps
from .non_local import NonLocal, NonLocalMaps
from .second_order_pooling import GlobalSecondOrderPooling, GlobalSecondOrderPoolingMaps
from .selective_kernel import SelectiveKernel, SelectiveKernelMaps
from .split_attention import SplitAttention, SplitAttentionMaps
from .squeeze_excitation import SqueezeExcitation, SqueezeExcitationMaps
from .triplet import TripletAttention, TripletAttentionMaps

__all__ = [
    "BAMMaps",
    "BottleneckAttention",
    "CBAM",
    "CBAMMaps",
    "CrissCrossAttention",
    "CrissCrossMaps",
    "DoubleAttention",
    "DoubleAttentionMaps",
    "EfficientChannelAttention",
    "EfficientChannelAttentionMaps",
    "GlobalContext",
    "GlobalContextMaps",
    "GlobalSecondOrderPooling",
    "GlobalSecondOrderPoolingMaps",
    "NonLocal",
    "NonLocalMaps",
    "SelectiveKernel",
    "SelectiveKernelMaps",
    "SplitAttention",
    "SplitAttentionMaps",
    "SqueezeExcitation",
    "SqueezeExcitationMaps",
    "TripletAttention",
    "TripletAttentionMaps",
    "eca_kernel_size",
]
