"""Pilot: do the photo A² block's maps sharpen within a short run? (README, *The photo zoo*.)

    python staging/photo/pilot.py VARIANT STEPS [DATA]     # from the repository root; log lines are JSON

V0: the block as the CIFAR zoo starts it (PyTorch's init, output BN γ = 0); V1: He init (fan_out) of θ
and ρ; V3: γ = 1; V4: both. 3,000 train photos at 128 px, one-cycle over STEPS, the photo recipe's
other settings; every 100 steps: val top-1 on 300 photos, each A² block's mean gathering entropy minus
log(hw), sharpest descriptor (its entropy / log(hw)), mean pairwise cosine, θ's relative move, BN γ.
Written against the default-init block: for V1/V4 it re-initialises θ, ρ after building.
"""
import sys, json, time, math, torch, torch.nn as nn
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from a2core.models import PHOTO_PLACEMENT, PhotoResNet
from a2core.blocks import DoubleAttention
from a2core.images import normalize
from a2core.training.train import RECIPES, param_groups, one_cycle
from a2core.training.data import ImageFolderTensors, random_resized_crops, train_augmentation
from a2core.probe import attention_maps
torch.set_num_threads(1)
variant, steps = sys.argv[1], int(sys.argv[2])
r = RECIPES["imagenette"]; D = sys.argv[3] if len(sys.argv) > 3 else "../shared/data/imagenette"
train = ImageFolderTensors(f"{D}/train", r.stored_size, train_augmentation(160, "resized"), limit=300, progress=False)
val = ImageFolderTensors(f"{D}/val", 160, classes=train.classes, limit=30, progress=False)
torch.manual_seed(0)
model = PhotoResNet(10, attention=lambda c: DoubleAttention(c, m=c // 2, n=c // 4), placement=PHOTO_PLACEMENT["a2_resnet"])
blocks = [m for m in model.modules() if hasattr(m, "theta")]
if variant in ("V3", "V4"):
    for b in blocks:
        nn.init.ones_(b.proj[1].weight)  # the block adds its output at full scale from the start
if variant in ("V1", "V4"):
    for b in blocks:
        for conv in (b.theta, b.rho):
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
model = model.to(memory_format=torch.channels_last)
init = {k: v.clone() for k, v in model.state_dict().items()}
opt = torch.optim.SGD(param_groups(model, r.weight_decay), lr=r.lr, momentum=0.9, nesterov=True)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: one_cycle(s, steps, r.warmup_fraction))
crit = nn.CrossEntropyLoss(label_smoothing=0.1)
loader = torch.utils.data.DataLoader(train, 64, shuffle=True, drop_last=True, generator=torch.Generator().manual_seed(0))

def report(step):
    model.eval()
    with torch.no_grad():
        x = normalize(val.images, r.mean, r.std)
        logits, maps = attention_maps(model, x)
    acc = (logits.argmax(1) == val.labels).float().mean().item()
    out = {"variant": variant, "step": step, "val_acc": round(acc, 3)}
    for name, m in maps.items():
        g = m.gather.flatten(2); L = g.shape[-1]
        ent = -(g * g.clamp_min(1e-12).log()).sum(-1)
        unit = nn.functional.normalize(g, dim=-1); n = g.shape[1]
        cos = (unit @ unit.transpose(1, 2))[:, ~torch.eye(n, dtype=torch.bool)].mean().item()
        k = name.removesuffix(".attn")
        out[k] = {"H-logL": round(ent.mean().item() - math.log(L), 3), "sharpest": round(ent.mean(0).min().item() / math.log(L), 3), "cos": round(cos, 3),
                  "theta_moved": round(((model.state_dict()[name + ".theta.weight"] - init[name + ".theta.weight"]).norm() / init[name + ".theta.weight"].norm()).item(), 3),
                  "gamma": round(model.get_submodule(name).proj[1].weight.abs().mean().item(), 3)}
    print(json.dumps(out), flush=True)
    model.train()

report(0)
step, t0 = 0, time.time()
while step < steps:
    for images, labels in loader:
        x = normalize(random_resized_crops(images, 128, (0.35, 1.0)), r.mean, r.std).contiguous(memory_format=torch.channels_last)
        loss = crit(model(x), labels)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step(); sched.step(); step += 1
        if step % 100 == 0 or step == steps:
            print(f"step {step} loss {loss.item():.3f} {time.time()-t0:.0f}s", flush=True); report(step)
        if step >= steps: break
