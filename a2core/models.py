"""The zoo's architectures: one CIFAR-style ResNet, seven attention designs.

All archs share the backbone of He et al. (2016, §4.2) for 32×32 images: a 3×3
stem and three stages of BasicBlocks at 16, 32 and 64 channels (ResNet-20 has
three blocks a stage). An attention block sits on the residual branch of the
last BasicBlock of stages 2 and 3, before the addition, under the stable name
``layerK.I.attn``; at the 32-pixel training size its feature maps are 16×16 and
8×8. Only the attention differs between archs, so their accuracies compare.

    model = build("a2_resnet", num_classes=10)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor, nn

from . import blocks
from ._compat import import_torchvision

import_torchvision()
from torchvision.models.resnet import BasicBlock  # noqa: E402  (after the import shim)

AttentionFactory = Callable[[int], nn.Module]

#: arch name → factory from a stage's channel count c to its attention block.
ATTENTION: dict[str, AttentionFactory | None] = {
    "resnet": None,
    "se_resnet": lambda c: blocks.SqueezeExcitation(c),
    "nl_resnet": lambda c: blocks.NonLocal(c),
    "a2_resnet": lambda c: blocks.DoubleAttention(c, m=c // 2, n=c // 4),
    "gc_resnet": lambda c: blocks.GlobalContext(c),
    "eca_resnet": lambda c: blocks.EfficientChannelAttention(c),
    "gsop_resnet": lambda c: blocks.GlobalSecondOrderPooling(c),
}
ARCHS: tuple[str, ...] = tuple(ATTENTION)

ATTENTION_BLOCKS = (
    blocks.DoubleAttention,
    blocks.SqueezeExcitation,
    blocks.NonLocal,
    blocks.GlobalContext,
    blocks.EfficientChannelAttention,
    blocks.GlobalSecondOrderPooling,
)


class AttentionBasicBlock(BasicBlock):
    """torchvision's BasicBlock with an attention module on its residual branch.

    out = ReLU(x' + attn(BN(conv(ReLU(BN(conv(x))))))), x' the (downsampled) input.
    ``attn`` is ``nn.Identity`` in blocks without attention.
    """

    def __init__(self, inplanes: int, planes: int, stride: int = 1, attn: nn.Module | None = None):
        downsample = None
        if stride != 1 or inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )
        super().__init__(inplanes, planes, stride, downsample)
        self.attn = attn if attn is not None else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.attn(self.bn2(self.conv2(out)))
        return self.relu(out + identity)


class CifarResNet(nn.Module):
    """ResNet for small images, (N, 3, H, W) → logits (N, num_classes).

    Args:
        num_classes: output classes.
        blocks_per_stage: BasicBlocks in each stage (3 gives ResNet-20).
        widths: channels of the stages; stages after the first halve the resolution.
        attention: factory for the attention block, or None for the plain ResNet.
        attention_stages: 1-based stages whose last block carries attention.
    """

    def __init__(
        self,
        num_classes: int = 10,
        blocks_per_stage: int = 3,
        widths: Sequence[int] = (16, 32, 64),
        attention: AttentionFactory | None = None,
        attention_stages: Sequence[int] = (2, 3),
    ):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        inplanes = widths[0]
        for stage, planes in enumerate(widths, start=1):
            units = []
            for i in range(blocks_per_stage):
                stride = 2 if stage > 1 and i == 0 else 1
                last = i == blocks_per_stage - 1
                attn = attention(planes) if attention and last and stage in attention_stages else None
                units.append(AttentionBasicBlock(inplanes, planes, stride, attn))
                inplanes = planes
            self.add_module(f"layer{stage}", nn.Sequential(*units))
        self.num_stages = len(widths)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inplanes, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d) and not _is_attention_part(self, module):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        for stage in range(1, self.num_stages + 1):
            x = getattr(self, f"layer{stage}")(x)
        return self.fc(self.avgpool(x).flatten(1))


def _is_attention_part(model: nn.Module, module: nn.Module) -> bool:
    # The blocks choose their own initialisation (zero-init of the last layer).
    return any(module is m for block in attention_blocks(model).values() for m in block.modules())


def attention_blocks(model: nn.Module) -> dict[str, nn.Module]:
    """Every attention block of ``model`` by its stable name, in forward order."""
    return {name: m for name, m in model.named_modules() if isinstance(m, ATTENTION_BLOCKS)}


def build(arch: str, num_classes: int = 10, **kwargs) -> CifarResNet:
    """Build ``arch`` (one of :data:`ARCHS`) with freshly initialised weights."""
    if arch not in ATTENTION:
        raise ValueError(f"unknown arch {arch!r}; choose one of {', '.join(ARCHS)}")
    return CifarResNet(num_classes=num_classes, attention=ATTENTION[arch], **kwargs)
