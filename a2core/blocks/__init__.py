"""Attention blocks, one design per module.

Every block maps (N, c, *spatial) to a tensor of the same shape; called with
``return_maps=True`` it returns ``(y, maps)``, a dataclass of the attention
tensors worth looking at.
"""

from .double_attention import DoubleAttention, DoubleAttentionMaps
from .efficient_channel import EfficientChannelAttention, EfficientChannelAttentionMaps, eca_kernel_size
from .global_context import GlobalContext, GlobalContextMaps
from .non_local import NonLocal, NonLocalMaps
from .second_order_pooling import GlobalSecondOrderPooling, GlobalSecondOrderPoolingMaps
from .squeeze_excitation import SqueezeExcitation, SqueezeExcitationMaps

__all__ = [
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
    "SqueezeExcitation",
    "SqueezeExcitationMaps",
    "eca_kernel_size",
]
