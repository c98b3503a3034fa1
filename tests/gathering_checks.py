"""The check that a trained A²-ResNet's gathering maps carry information, shared by both zoos' tests.

On real pictures, each A² block's mean gathering entropy lies clearly below log(hw) (a map that
gathers evenly from everywhere), some descriptor is sharp, and the descriptors differ from each other.
"""

from __future__ import annotations

import math

import torch


def gathering_report(maps: dict) -> dict[str, dict[str, float]]:
    """{block: mean entropy, log(hw), sharpest descriptor's mean entropy, mean pairwise cosine} of a batch's maps.

    ``maps`` is the second value of ``a2core.attention_maps``; blocks without gathering maps are left out.
    """
    report = {}
    for name, m in maps.items():
        if not hasattr(m, "gather"):
            continue
        gather = m.gather.flatten(2)  # (N, n, L), each row a distribution over positions
        n, positions = gather.shape[1:]
        entropy = -(gather * gather.clamp_min(1e-12).log()).sum(-1)  # (N, n)
        # Pairwise cosine similarity of the n maps of each image: identical descriptors would give 1 everywhere.
        unit = torch.nn.functional.normalize(gather, dim=-1)
        off_diagonal = (unit @ unit.transpose(1, 2))[:, ~torch.eye(n, dtype=torch.bool)]
        peaks = gather.argmax(-1)  # (N, n)
        report[name] = {"mean_entropy": entropy.mean().item(), "uniform": math.log(positions),
                        "sharpest": entropy.mean(0).min().item(), "mean_cosine": off_diagonal.mean().item(),
                        "images_with_one_peak": sum(len(set(row.tolist())) == 1 for row in peaks)}
    return report


def assert_sharp_and_distinct(maps: dict) -> None:
    """Trained descriptors look at particular places, and not all at the same ones."""
    report = gathering_report(maps)
    assert report, "no A² block"
    for name, r in report.items():
        # The shipped CIFAR model's maps are measurably below uniform (its model card lists them; the
        # first CIFAR zoo, weight-decaying θ, was within 0.16 nats of it).
        assert r["mean_entropy"] < r["uniform"] - 0.3, f"{name}: mean entropy {r['mean_entropy']:.2f} vs log(hw) {r['uniform']:.2f}"
        assert r["sharpest"] < 0.85 * r["uniform"], f"{name}: no descriptor is sharp ({r['sharpest']:.2f})"
        assert r["mean_cosine"] < 0.8, f"{name}: descriptors alike (mean cosine {r['mean_cosine']:.2f})"
        # And the descriptors' sharpest positions are spread over several places.
        assert r["images_with_one_peak"] == 0, f"{name}: all descriptors peak at one place"
