"""The series' six archs (CBAM, BAM, SK, CC-Net, ResNeSt, Triplet) on both backbones: each builds, trains a step,
and has its design where :data:`a2core.models.PHOTO_PLACEMENT` / ``CIFAR_PLACEMENT`` and ``SITES`` say."""

from __future__ import annotations

import pytest
import torch

from a2core import blocks
from a2core.models import (ALL_ARCHS, ARCHS, FAMILIES, PAPERS, PLACEMENT_REASONS, SERIES_ARCHS, ZOOS, attention_blocks,
                           build, family_of)
from a2core.training.card import placement_table

BLOCK_TYPE = {
    "cbam_resnet": blocks.CBAM,
    "bam_resnet": blocks.BottleneckAttention,
    "sk_resnet": blocks.SelectiveKernel,
    "cc_resnet": blocks.CrissCrossAttention,
    "resnest": blocks.SplitAttention,
    "triplet_resnet": blocks.TripletAttention,
}
#: Where each design sits, written out from the papers (see ``PLACEMENT_REASONS``).
EXPECTED = {
    ("cifar10", "cbam_resnet"): ["layer2.2.attn", "layer3.2.attn"],
    ("cifar10", "bam_resnet"): ["layer1.attn", "layer2.attn"],
    ("cifar10", "sk_resnet"): ["layer2.2.conv1", "layer3.2.conv1"],
    ("cifar10", "cc_resnet"): ["layer2.2.attn", "layer3.2.attn"],
    ("cifar10", "resnest"): ["layer2.2.conv1", "layer3.2.conv1"],
    ("cifar10", "triplet_resnet"): ["layer2.2.attn", "layer3.2.attn"],
    ("imagenette", "cbam_resnet"): [f"layer{s}.{i}.attn" for s in (1, 2, 3, 4) for i in (0, 1)],
    ("imagenette", "bam_resnet"): ["layer1.attn", "layer2.attn", "layer3.attn"],
    ("imagenette", "sk_resnet"): [f"layer{s}.{i}.conv1" for s in (1, 2, 3, 4) for i in (0, 1)],
    ("imagenette", "cc_resnet"): ["layer2.1.attn", "layer3.1.attn"],
    ("imagenette", "resnest"): [f"layer{s}.{i}.conv1" for s in (1, 2, 3, 4) for i in (0, 1)],
    ("imagenette", "triplet_resnet"): [f"layer{s}.{i}.attn" for s in (1, 2, 3, 4) for i in (0, 1)],
}
SIZE = {"cifar10": 32, "imagenette": 64}


def test_registry():
    assert set(SERIES_ARCHS) == set(BLOCK_TYPE) and len(SERIES_ARCHS) == 6
    assert ALL_ARCHS == ARCHS + SERIES_ARCHS and len(set(ALL_ARCHS)) == 13


@pytest.mark.parametrize("zoo", ["cifar10", "imagenette"])
@pytest.mark.parametrize("arch", SERIES_ARCHS)
def test_forward_backward_and_placement(arch, zoo):
    torch.manual_seed(0)
    model = build(arch, num_classes=10, zoo=zoo).train()
    found = attention_blocks(model)
    assert list(found) == EXPECTED[zoo, arch]
    assert all(type(b) is BLOCK_TYPE[arch] for b in found.values())
    logits = model(torch.randn(2, 3, SIZE[zoo], SIZE[zoo]))
    assert logits.shape == (2, 10)
    torch.nn.functional.cross_entropy(logits, torch.tensor([3, 7])).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize("zoo", ["cifar10", "imagenette"])
@pytest.mark.parametrize("arch", SERIES_ARCHS)
def test_only_the_attention_differs_from_the_plain_resnet(arch, zoo):
    plain = {k: tuple(v.shape) for k, v in build("resnet", zoo=zoo).state_dict().items()}
    model = build(arch, zoo=zoo)
    inside = tuple(f"{name}." for name in attention_blocks(model))
    mine = {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.startswith(inside)}
    replaced = {k for k in plain if k not in mine}
    # a conv-site design takes the place of the first conv and its BN, nothing else
    assert all(k.split(".")[2] in ("conv1", "bn1") for k in replaced), replaced
    assert {k: v for k, v in plain.items() if k not in replaced} == mine


@pytest.mark.parametrize("arch", ["sk_resnet", "resnest"])
def test_conv_site_keeps_the_block_shape_and_starts_with_he_init(arch):
    model = build(arch, zoo="imagenette")
    block = model.layer2[0]  # the stage's first block: stride 2, 32 → 64 channels
    assert isinstance(block.bn1, torch.nn.Identity)
    x = torch.randn(2, 32, 16, 16)
    assert block.conv1(x).shape == (2, 64, 8, 8)
    convs = [m for m in block.conv1.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]
    for conv in convs:
        fan_out = conv.out_channels * 9  # PyTorch's fan-out counts every output channel, grouped or not
        assert conv.weight.std().item() == pytest.approx((2 / fan_out) ** 0.5, rel=0.15)


def test_bam_sits_on_the_main_path_between_stages():
    model = build("bam_resnet", zoo="imagenette").eval()
    bam = model.layer2.attn
    seen = []
    bam.register_forward_hook(lambda m, args, out: seen.append((args[0].shape, out.shape)))
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
    assert seen == [(torch.Size([1, 64, 8, 8]), torch.Size([1, 64, 8, 8]))]
    assert list(model.layer2) == [model.layer2[0], model.layer2[1], bam]  # after the stage's blocks


def test_cc_starts_as_the_identity_where_non_local_sits():
    model = build("cc_resnet", zoo="imagenette").eval()
    for name, block in attention_blocks(model).items():
        x = torch.randn(1, block.value.in_channels, 5, 5)
        assert torch.equal(block(x), x), name


def test_every_design_has_one_family_and_the_seeds_representatives_are_mixed():
    members = [arch for _, archs in FAMILIES.values() for arch in archs]
    assert sorted(members) == sorted(a for a in ALL_ARCHS if a != "resnet")  # each once
    assert family_of("resnet") is None
    assert family_of("cbam_resnet") == family_of("bam_resnet") == "mixed"  # the seed article's words
    assert family_of("se_resnet") == "channel" and family_of("nl_resnet") == "spatial"


@pytest.mark.parametrize("zoo", ZOOS)
def test_placement_table_says_where_and_why_for_every_arch(zoo):
    # Every arch of the zoo has a reason, and the table (the cards', the docs') has one row per arch with the
    # modules that hold its design and that reason.
    assert set(PLACEMENT_REASONS[zoo]) == set(ALL_ARCHS)
    rows = placement_table(ALL_ARCHS, zoo).splitlines()
    assert rows[0] == "| model | attention block | where | why there |" and len(rows) == 2 + len(ALL_ARCHS)
    for arch, row in zip(ALL_ARCHS, rows[2:]):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[0] == f"`{arch}`" and cells[3] == PLACEMENT_REASONS[zoo][arch]
        if (zoo, arch) in EXPECTED:
            assert cells[2] == ", ".join(f"`{n}`" for n in EXPECTED[zoo, arch])
    assert "Non-local" in PLACEMENT_REASONS["imagenette"]["cc_resnet"]  # CC-Net's place is argued, not the paper's


def test_every_design_cites_the_paper_its_block_implements():
    # The README's design table cites PAPERS; each citation's authors and year are the ones the block's own module
    # names in its first line (written beside the code, from the paper).
    import importlib

    assert set(PAPERS) == set(ALL_ARCHS) - {"resnet"}
    for arch, paper in PAPERS.items():
        block = next(iter(attention_blocks(build(arch)).values()))
        first_line = importlib.import_module(type(block).__module__).__doc__.splitlines()[0]
        authors = paper.split(": ")[1].split(",")[0]  # "Hu et al."
        year = paper.rsplit(" ", 1)[1]
        assert authors in first_line and year in first_line, (arch, paper, first_line)
