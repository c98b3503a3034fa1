"""The seed article's three families of attention, and where each design of the zoo belongs.

The article sorts the designs by what they weigh: a **channel** attention learns one weight per channel (a
C-vector over the C × H × W feature map), a **spatial** attention one weight per position (an H × W map
applied to every channel), and a **mixed** attention both ("BAM and CBAM are the representatives").
Non-local and the designs that answer its cost (A², CC-Net, GC) weigh positions by what they see across the
whole image, so the spatial family is the global, pairwise one here.
"""

from __future__ import annotations

#: family → (title, the archs in it, in the zoo's order). The plain ResNet belongs to none.
FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "channel": ("Channel attention: a weight per channel",
                ("se_resnet", "eca_resnet", "gsop_resnet", "sk_resnet", "resnest")),
    "spatial": ("Spatial attention, global and pairwise: each position weighs the others",
                ("nl_resnet", "a2_resnet", "cc_resnet", "gc_resnet")),
    "mixed": ("Mixed attention: channels and positions",
              ("cbam_resnet", "bam_resnet", "triplet_resnet")),
}


#: arch → its design and paper, as the README and the cards cite them. The plain ResNet has none.
PAPERS: dict[str, str] = {
    "se_resnet": "SE: Hu et al., CVPR 2018",
    "nl_resnet": "Non-local: Wang et al., CVPR 2018",
    "a2_resnet": "A²-Nets: Chen et al., NeurIPS 2018",
    "gc_resnet": "GCNet: Cao et al., ICCV Workshops 2019",
    "eca_resnet": "ECA-Net: Wang et al., CVPR 2020",
    "gsop_resnet": "GSoP-Net: Gao et al., CVPR 2019",
    "cbam_resnet": "CBAM: Woo et al., ECCV 2018",
    "bam_resnet": "BAM: Park et al., BMVC 2018",
    "sk_resnet": "SKNet: Li et al., CVPR 2019",
    "cc_resnet": "CCNet: Huang et al., ICCV 2019",
    "resnest": "ResNeSt: Zhang et al., 2020",
    "triplet_resnet": "Triplet attention: Misra et al., WACV 2021",
}


def by_family(archs) -> list[tuple[str | None, list[str]]]:
    """``archs`` grouped as the article sorts them: the plain ResNet (family None) first, then each family of
    :data:`FAMILIES` that has one of them, in its order; each group keeps the order of ``archs``."""
    groups = [(None, [a for a in archs if family_of(a) is None])]
    groups += [(family, [a for a in archs if family_of(a) == family]) for family in FAMILIES]
    return [(family, members) for family, members in groups if members]


def family_of(arch: str) -> str | None:
    """The family of ``arch`` ("channel", "spatial" or "mixed"), None for the plain ResNet."""
    for family, (_, archs) in FAMILIES.items():
        if arch in archs:
            return family
    return None
