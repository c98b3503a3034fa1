"""Pilot: do the photo A² block's gathering maps sharpen within a short run, from which start?

    python -m bench.init_pilot V0|V1|V3|V4 STEPS [--data ../shared/data/imagenette]   # ~4 min per 100 steps

What chose the photo zoo's He init of θ and ρ (README, *Why the photo A² starts θ and ρ with He init*;
its four runs' output is in ``bench/results/init_pilot/``). Four starts of the photo ``a2_resnet``:
V0: the block as the CIFAR zoo starts it (PyTorch's init, output BN γ = 0); V1: He init (fan_out) of θ
and ρ; V3: γ = 1; V4: both. 3,000 train photos (300 a class) at 128 px, one-cycle over STEPS, the
photo recipe's other settings, one thread. Every 100 steps it prints a JSON line: val top-1 on 300
photos and, for each A² block, the mean gathering entropy minus log(hw), the sharpest descriptor (its
entropy / log(hw)), the mean pairwise cosine of the maps, θ's relative move and the output BN's |γ|.

Unlike ``a2core.training.train`` (whole runs, checkpoints, the shipped recipe) this measures the maps
while a short run trains. It builds the block with PyTorch's init and re-initialises θ and ρ after
building (as the logged runs did: the same random numbers), not with ``logit_init="he"``.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch
import torch.nn as nn

from a2core.blocks import DoubleAttention
from a2core.images import normalize
from a2core.models import PHOTO_PLACEMENT, PhotoResNet
from a2core.probe import attention_maps
from a2core.training.data import ImageFolderTensors, random_resized_crops, train_augmentation
from a2core.training.train import RECIPES, one_cycle, param_groups

VARIANTS = {"V0": (False, False), "V1": (True, False), "V3": (False, True), "V4": (True, True)}  # (He init, γ = 1)


def build(variant: str) -> nn.Module:
    torch.manual_seed(0)
    model = PhotoResNet(10, attention=lambda c: DoubleAttention(c, m=c // 2, n=c // 4),
                        placement=PHOTO_PLACEMENT["a2_resnet"])
    he, active = VARIANTS[variant]
    blocks = [m for m in model.modules() if isinstance(m, DoubleAttention)]
    if active:
        for b in blocks:
            nn.init.ones_(b.proj[1].weight)  # the block adds its output at full scale from the start
    if he:
        for b in blocks:
            for conv in (b.theta, b.rho):
                nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    return model.to(memory_format=torch.channels_last)


def report(model: nn.Module, init: dict, val, variant: str, step: int) -> dict:
    """Val top-1 and each A² block's map statistics (see the module's docstring)."""
    recipe = RECIPES["imagenette"]
    model.eval()
    with torch.no_grad():
        logits, maps = attention_maps(model, normalize(val.images, recipe.mean, recipe.std))
    accuracy = (logits.argmax(1) == val.labels).float().mean().item()
    out = {"variant": variant, "step": step, "val_acc": round(accuracy, 3)}
    state = model.state_dict()
    for name, m in maps.items():
        g = m.gather.flatten(2)
        size = g.shape[-1]
        entropy = -(g * g.clamp_min(1e-12).log()).sum(-1)
        unit, n = nn.functional.normalize(g, dim=-1), g.shape[1]
        cos = (unit @ unit.transpose(1, 2))[:, ~torch.eye(n, dtype=torch.bool)].mean().item()
        theta, start = state[name + ".theta.weight"], init[name + ".theta.weight"]
        out[name.removesuffix(".attn")] = {
            "H-logL": round(entropy.mean().item() - math.log(size), 3),
            "sharpest": round(entropy.mean(0).min().item() / math.log(size), 3), "cos": round(cos, 3),
            "theta_moved": round(((theta - start).norm() / start.norm()).item(), 3),
            "gamma": round(model.get_submodule(name).proj[1].weight.abs().mean().item(), 3),
        }
    model.train()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variant", choices=sorted(VARIANTS))
    parser.add_argument("steps", type=int)
    parser.add_argument("--data", default="../shared/data/imagenette", help="Imagenette with train/ and val/")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    recipe = RECIPES["imagenette"]
    train = ImageFolderTensors(f"{args.data}/train", recipe.stored_size, train_augmentation(160, "resized"), limit=300,
                               progress=False)
    val = ImageFolderTensors(f"{args.data}/val", 160, classes=train.classes, limit=30, progress=False)
    model = build(args.variant)
    init = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD(param_groups(model, recipe.weight_decay), lr=recipe.lr, momentum=0.9, nesterov=True)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: one_cycle(s, args.steps, recipe.warmup_fraction))
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    loader = torch.utils.data.DataLoader(train, 64, shuffle=True, drop_last=True,
                                         generator=torch.Generator().manual_seed(0))
    print(json.dumps(report(model, init, val, args.variant, 0)), flush=True)
    step, start = 0, time.time()
    while step < args.steps:
        for images, labels in loader:
            x = normalize(random_resized_crops(images, 128, (0.35, 1.0)), recipe.mean, recipe.std)
            loss = criterion(model(x.contiguous(memory_format=torch.channels_last)), labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 100 == 0 or step == args.steps:
                print(f"step {step} loss {loss.item():.3f} {time.time() - start:.0f}s", flush=True)
                print(json.dumps(report(model, init, val, args.variant, step)), flush=True)
            if step >= args.steps:
                break
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
