"""The zoos' architectures: two ResNet backbones, twelve attention designs and the plain ResNet.

Two zoos share the designs and differ in the backbone:

- ``cifar10``: the ResNet-20 of He et al. (2016, §4.2) for 32×32 images, a 3×3
  stem and three stages of three BasicBlocks at 16, 32 and 64 channels. The
  attention block sits on the last BasicBlock of stages 2 and 3 (16×16 and
  8×8 maps at 32 px); BAM between the stages (:data:`CIFAR_PLACEMENT`).
- ``imagenette``: the ImageNet layout of torchvision's ResNet-18 (7×7/2 stem and
  3×3/2 max-pool, stride 4; four stages of two BasicBlocks), narrowed to 32,
  64, 128 and 256 channels so the zoo trains on a CPU. Each design is placed
  where its paper places it in ImageNet ResNets (:data:`PHOTO_PLACEMENT`); A²
  and Non-local sit in res3 and res4 (``layer2.1.attn`` and ``layer3.1.attn``:
  20×20 and 10×10 maps at 160 px).

Most designs ride on the residual branch of a BasicBlock, before the addition,
under the stable name ``layerK.I.attn``; SK and split attention replace the
block's first conv (``layerK.I.conv1``) and BAM sits between stages
(``layerK.attn``), see :data:`SITES`. Only the attention differs between the
archs of a zoo, so their accuracies compare.

    model = build("a2_resnet", num_classes=10)                   # CIFAR-10 zoo
    model = build("a2_resnet", num_classes=10, zoo="imagenette") # photo zoo
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

from torch import Tensor, nn

from .. import blocks
from .._compat import import_torchvision

import_torchvision()
from torchvision.models.resnet import BasicBlock  # noqa: E402  (after the import shim)

AttentionFactory = Callable[..., nn.Module]

#: arch name → factory of its attention block. Most designs take a stage's channel count c; those that
#: replace a convolution (:data:`SITES` "conv") take (in_channels, out_channels, stride), as the conv does.
ATTENTION: dict[str, AttentionFactory | None] = {
    "resnet": None,
    "se_resnet": lambda c: blocks.SqueezeExcitation(c),
    "nl_resnet": lambda c: blocks.NonLocal(c),
    "a2_resnet": lambda c: blocks.DoubleAttention(c, m=c // 2, n=c // 4),
    "gc_resnet": lambda c: blocks.GlobalContext(c),
    "eca_resnet": lambda c: blocks.EfficientChannelAttention(c),
    "gsop_resnet": lambda c: blocks.GlobalSecondOrderPooling(c),
    "cbam_resnet": lambda c: blocks.CBAM(c),
    "bam_resnet": lambda c: blocks.BottleneckAttention(c),
    "sk_resnet": lambda c_in, c_out, stride: blocks.SelectiveKernel(c_in, c_out, stride),
    "cc_resnet": lambda c: blocks.CrissCrossAttention(c),
    "resnest": lambda c_in, c_out, stride: blocks.SplitAttention(c_in, c_out, stride),
    "triplet_resnet": lambda c: blocks.TripletAttention(c),
}
#: The zoo the app was built with: the plain ResNet and its first six designs.
ARCHS: tuple[str, ...] = ("resnet", "se_resnet", "nl_resnet", "a2_resnet", "gc_resnet", "eca_resnet", "gsop_resnet")
#: The rest of the seed article's series (CBAM, BAM, SKNet, CC-Net, ResNeSt, Triplet): built and trained like
#: the zoo. What a zoo offers (the app, the zoo table, the evaluate and metrics commands) is every arch of
#: :data:`ALL_ARCHS` with a weight file (:func:`a2core.weights.archs_with_weights`), so these appear when
#: their weights land.
SERIES_ARCHS: tuple[str, ...] = ("cbam_resnet", "bam_resnet", "sk_resnet", "cc_resnet", "resnest", "triplet_resnet")
ALL_ARCHS: tuple[str, ...] = ARCHS + SERIES_ARCHS

#: Where a design enters a BasicBlock ResNet (default "branch"):
#: "branch": on the residual branch, after the second conv's BN, named ``layerK.I.attn``;
#: "conv":   in place of the first 3×3 conv (and its BN and ReLU, which the design holds), named
#:           ``layerK.I.conv1`` as in timm's SK-ResNets;
#: "stage":  on the main path after a stage's last block, named ``layerK.attn`` (BAM, "at each bottleneck").
SITES: dict[str, str] = {"bam_resnet": "stage", "sk_resnet": "conv", "resnest": "conv"}

#: The photo zoo's blocks: A²'s logit convs start with He init (``DoubleAttention``'s ``logit_init``),
#: since its short run does not sharpen maps that start uniform. The CIFAR-10 zoo keeps the init it was
#: trained with, so that its recipe reproduces its weights.
PHOTO_ATTENTION: dict[str, AttentionFactory | None] = {
    **ATTENTION, "a2_resnet": lambda c: blocks.DoubleAttention(c, m=c // 2, n=c // 4, logit_init="he"),
}

ATTENTION_BLOCKS = (
    blocks.DoubleAttention,
    blocks.SqueezeExcitation,
    blocks.NonLocal,
    blocks.GlobalContext,
    blocks.EfficientChannelAttention,
    blocks.GlobalSecondOrderPooling,
    blocks.CBAM,
    blocks.BottleneckAttention,
    blocks.SelectiveKernel,
    blocks.CrissCrossAttention,
    blocks.SplitAttention,
    blocks.TripletAttention,
)


class AttentionBasicBlock(BasicBlock):
    """torchvision's BasicBlock with an attention module on its residual branch, or as its first conv.

    out = ReLU(x' + attn(BN(conv(ReLU(BN(conv(x))))))), x' the (downsampled) input.
    ``attn`` is ``nn.Identity`` in blocks without attention; ``conv`` replaces the first conv, BN and ReLU.
    """

    def __init__(self, inplanes: int, planes: int, stride: int = 1, attn: nn.Module | None = None,
                 conv: nn.Module | None = None):
        downsample = None
        if stride != 1 or inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )
        super().__init__(inplanes, planes, stride, downsample)
        self.attn = attn if attn is not None else nn.Identity()
        if conv is not None:
            # an attention conv (SK, split attention) holds its own BN and ReLU; its output is already ≥ 0,
            # so the ReLU of the forward below changes nothing
            self.conv1, self.bn1 = conv, nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.attn(self.bn2(self.conv2(out)))
        return self.relu(out + identity)


#: Where a design sits: (stage, block index, blocks in the stage) → has attention. Stages count from 1.
Placement = Callable[[int, int, int], bool]


def last_block_of(*stages: int) -> Placement:
    """Attention on the last block of each of ``stages``."""
    return lambda stage, i, blocks: stage in stages and i == blocks - 1


def every_block_of(*stages: int) -> Placement:
    """Attention on every block of each of ``stages``."""
    return lambda stage, i, blocks: stage in stages


#: Placement in the photo zoo, after each paper's ImageNet ResNets (why: :data:`PLACEMENT_REASONS`).
PHOTO_PLACEMENT: dict[str, Placement] = {
    "resnet": every_block_of(),
    "se_resnet": every_block_of(1, 2, 3, 4),
    "nl_resnet": last_block_of(2, 3),
    "a2_resnet": last_block_of(2, 3),
    "gc_resnet": every_block_of(2, 3, 4),
    "eca_resnet": every_block_of(1, 2, 3, 4),
    "gsop_resnet": last_block_of(1, 2, 3, 4),
    "cbam_resnet": every_block_of(1, 2, 3, 4),
    "bam_resnet": last_block_of(1, 2, 3),
    "sk_resnet": every_block_of(1, 2, 3, 4),
    "cc_resnet": last_block_of(2, 3),
    "resnest": every_block_of(1, 2, 3, 4),
    "triplet_resnet": every_block_of(1, 2, 3, 4),
}

#: Placement in the CIFAR-10 zoo: every design on the last block of stages 2 and 3, the one rule of that zoo,
#: but BAM, which sits between stages by definition: after stages 1 and 2 of three.
CIFAR_PLACEMENT: dict[str, Placement] = {arch: last_block_of(2, 3) for arch in ATTENTION} | {
    "bam_resnet": last_block_of(1, 2),
}

_CIFAR_RULE = "the zoo's one rule (the same two places for every design), so they compare block for block"

#: Why each design sits where it does, per zoo: the cards' and the docs' placement tables say it.
PLACEMENT_REASONS: dict[str, dict[str, str]] = {
    "imagenette": {
        "resnet": "the baseline: no attention",
        "se_resnet": "SENet puts SE in every residual block",
        "nl_resnet": "Non-local blocks go in res3 and res4, every other block (Wang et al. 2018): here one a stage",
        "a2_resnet": "as Non-local: A²-Nets add the block to res3 and res4 (Chen et al. 2018), one a stage here",
        "gc_resnet": "GCNet puts GC in every block of c3–c5",
        "eca_resnet": "ECA-Net puts ECA in every residual block, where SE-ResNet has SE",
        "gsop_resnet": "GSoP-Net1: the last block of each stage (the authors' ResNet-50 code)",
        "cbam_resnet": "CBAM sits in every residual block, on the branch before the addition",
        "bam_resnet": "BAM sits at the bottlenecks between stages, not inside the blocks",
        "sk_resnet": "SKNet replaces the 3×3 conv of every block by an SK convolution",
        "cc_resnet": ("CC-Net puts criss-cross attention in a segmentation head, not in the backbone; it answers "
                      "Non-local's cost, so it sits where Non-local does and the two compare position for position"),
        "resnest": "ResNeSt replaces the 3×3 conv of every block by split attention",
        "triplet_resnet": "Triplet attention sits in every residual block, as CBAM does",
    },
    "cifar10": {arch: _CIFAR_RULE for arch in ATTENTION} | {
        "resnet": "the baseline: no attention",
        "bam_resnet": "BAM sits between stages by definition: after stages 1 and 2 of three",
        "sk_resnet": f"{_CIFAR_RULE}; SK replaces those blocks' 3×3 conv",
        "resnest": f"{_CIFAR_RULE}; split attention replaces those blocks' 3×3 conv",
    },
}


class AttentionResNet(nn.Module):
    """A ResNet of BasicBlocks with attention blocks on chosen residual branches, (N, 3, H, W) → logits.

    Args:
        num_classes: output classes.
        layers: BasicBlocks in each stage; stages after the first halve the resolution.
        widths: channels of the stages.
        attention: factory from a stage's channel count to its attention block, or None.
        placement: which blocks carry attention (see :func:`last_block_of`, :func:`every_block_of`).
        stem: "cifar" (3×3 conv, stride 1) or "imagenet" (7×7/2 conv and 3×3/2 max-pool, stride 4).
        site: where the attention enters a block, "branch", "conv" or "stage" (see :data:`SITES`).
    """

    def __init__(
        self,
        num_classes: int = 10,
        layers: Sequence[int] = (3, 3, 3),
        widths: Sequence[int] = (16, 32, 64),
        attention: AttentionFactory | None = None,
        placement: Placement = last_block_of(2, 3),
        stem: str = "cifar",
        site: str = "branch",
    ):
        super().__init__()
        if stem not in ("cifar", "imagenet"):
            raise ValueError(f"stem must be 'cifar' or 'imagenet', got {stem!r}")
        if site not in ("branch", "conv", "stage"):
            raise ValueError(f"site must be 'branch', 'conv' or 'stage', got {site!r}")
        if stem == "cifar":
            self.conv1 = nn.Conv2d(3, widths[0], 3, padding=1, bias=False)
            self.maxpool = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(3, widths[0], 7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        inplanes = widths[0]
        for stage, (planes, blocks_in_stage) in enumerate(zip(widths, layers, strict=True), start=1):
            units = {}
            for i in range(blocks_in_stage):
                stride = 2 if stage > 1 and i == 0 else 1
                placed = attention is not None and placement(stage, i, blocks_in_stage)
                attn = attention(planes) if placed and site == "branch" else None
                conv = attention(inplanes, planes, stride) if placed and site == "conv" else None
                units[str(i)] = AttentionBasicBlock(inplanes, planes, stride, attn, conv)
                inplanes = planes
                if placed and site == "stage":
                    units["attn"] = attention(planes)
            self.add_module(f"layer{stage}", nn.Sequential(OrderedDict(units)))
        self.num_stages = len(widths)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inplanes, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d) and not _is_attention_part(self, module):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for stage in range(1, self.num_stages + 1):
            x = getattr(self, f"layer{stage}")(x)
        return self.fc(self.avgpool(x).flatten(1))


def CifarResNet(num_classes: int = 10, blocks_per_stage: int = 3, widths: Sequence[int] = (16, 32, 64),
                attention: AttentionFactory | None = None, placement: Placement = last_block_of(2, 3),
                site: str = "branch") -> AttentionResNet:
    """ResNet for 32×32 images (ResNet-20 by default): attention on the last block of stages 2 and 3."""
    return AttentionResNet(num_classes, (blocks_per_stage,) * len(widths), widths, attention, placement,
                           stem="cifar", site=site)


def PhotoResNet(num_classes: int = 10, layers: Sequence[int] = (2, 2, 2, 2),
                widths: Sequence[int] = (32, 64, 128, 256), attention: AttentionFactory | None = None,
                placement: Placement = last_block_of(2, 3), site: str = "branch") -> AttentionResNet:
    """ResNet-18 layout for photos (stride-4 stem), narrowed to ``widths``."""
    return AttentionResNet(num_classes, layers, widths, attention, placement, stem="imagenet", site=site)


def _is_attention_part(model: nn.Module, module: nn.Module) -> bool:
    # The blocks choose their own initialisation (zero-init of the last layer).
    return any(module is m for block in attention_blocks(model).values() for m in block.modules())


def attention_blocks(model: nn.Module) -> dict[str, nn.Module]:
    """Every attention block of ``model`` by its stable name, in forward order."""
    return {name: m for name, m in model.named_modules() if isinstance(m, ATTENTION_BLOCKS)}


#: The zoos: name → the data set its models are trained on (their backbones differ, see above).
ZOOS: tuple[str, ...] = ("cifar10", "imagenette")


def build(arch: str, num_classes: int = 10, zoo: str = "cifar10", **kwargs) -> AttentionResNet:
    """Build ``arch`` (one of :data:`ALL_ARCHS`) of ``zoo`` (one of :data:`ZOOS`) with freshly initialised weights."""
    if arch not in ATTENTION:
        raise ValueError(f"unknown arch {arch!r}; choose one of {', '.join(ALL_ARCHS)}")
    kwargs.setdefault("site", SITES.get(arch, "branch"))
    if zoo == "cifar10":
        kwargs.setdefault("placement", CIFAR_PLACEMENT[arch])
        return CifarResNet(num_classes=num_classes, attention=ATTENTION[arch], **kwargs)
    if zoo == "imagenette":
        kwargs.setdefault("placement", PHOTO_PLACEMENT[arch])
        return PhotoResNet(num_classes=num_classes, attention=PHOTO_ATTENTION[arch], **kwargs)
    raise ValueError(f"unknown zoo {zoo!r}; choose one of {', '.join(ZOOS)}")
