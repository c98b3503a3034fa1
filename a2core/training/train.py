"""Train a zoo: one recipe per zoo for every arch, resumable, on CPU, GPU or several processes.

    python -m a2core.training.train --arch a2_resnet --data ../shared/data/cifar10 --out assets/weights/
    python -m a2core.training.train --arch all --data ../shared/data/imagenette --out assets/weights/imagenette/
    torchrun --nproc_per_node=2 -m a2core.training.train --arch resnet --data DIR --out runs/

Every epoch writes a checkpoint (``OUT/checkpoints/<arch>.pt``) and a line of
``OUT/logs/<arch>.jsonl``; a rerun with the same recipe resumes from the
checkpoint and ends with the same weights as a run that was never interrupted
(with ``--workers 0``; worker processes keep augmentation random state that no
checkpoint holds). ``--stop-after K`` ends a run after epoch K. ``--early-fraction F``
trains the first F of the epochs on smaller ``--early-size`` inputs (progressive
sizing: cheaper early epochs, full-size ones to finish). The zoo, and so the
backbone and the recipe (:data:`RECIPES`), follows from the data set's classes
(``--zoo`` to choose). The finished model is evaluated on the val split in
float32 and written as ``OUT/<arch>.safetensors`` with its metadata (the photo
zoo in float16 where that keeps the accuracy).

Kept whole past our ~350-line mark: a resumed run ends with the weights of an uninterrupted one only
through the recipe, the runtime, the loop and its checkpoint together, and they are checked together.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from ..images import normalize
from ..models import ALL_ARCHS, ARCHS, ZOOS, build
from ..models import load_pretrained
from ..weights import ModelMeta, save_weights
from .data import IMAGENETTE_CLASSES, ImageFolderTensors, class_names, random_resized_crops, random_windows, train_augmentation

#: What each zoo is trained on, as its model card and metadata say it.
DATASETS = {
    "cifar10": "CIFAR-10 (train 50,000 / val 5,000: every other image of the official test set)",
    "imagenette": ("Imagenette v2 (fast.ai; ten ImageNet classes, ImageNet terms of access: non-commercial "
                   "research and education): train 9,469 / val 1,966, every other image of fast.ai's val split"),
}
#: Backwards-compatible name of the CIFAR-10 data set.
DATASET_NAME = DATASETS["cifar10"]
#: A float16 copy is shipped when it loses at most this much val top-1 against float32.
FP16_TOLERANCE = 0.002


@dataclass
class Recipe:
    """The one training recipe every arch of a zoo shares (defaults: the CIFAR-10 zoo; see :data:`RECIPES`)."""

    zoo: str = "cifar10"
    epochs: int = 40
    batch_size: int = 128
    lr: float = 0.2
    momentum: float = 0.9
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    warmup_fraction: float = 0.15
    seed: int = 0
    input_size: int = 32
    early_size: int = 24
    early_fraction: float = 0.5
    #: "window": padded random crops of the stored images (early epochs: random early_size windows);
    #: "resized": RandomResizedCrop of the stored images to the epoch's input size.
    crop: str = "window"
    #: smallest crop area of "resized", as a fraction of the image
    crop_scale: float = 0.35
    #: side at which the images are decoded and held in memory
    stored_size: int = 32
    mean: tuple[float, float, float] = (0.4914, 0.4822, 0.4465)
    std: tuple[float, float, float] = (0.2470, 0.2435, 0.2616)
    optimizer: str = ("SGD (Nesterov), one-cycle cosine schedule, no weight decay on BN, biases and the "
                      "convolutions that make attention logits")
    augmentation: str = ("RandomCrop(32, padding=4, reflect) + RandomHorizontalFlip (transforms.v2); in the "
                         "first early_fraction of the epochs, a random early_size window of each image")

    @property
    def early_epochs(self) -> int:
        """How many epochs, from the first, train on ``early_size`` windows (progressive sizing)."""
        return int(self.early_fraction * self.epochs)


def same_recipe(saved: dict, recipe: Recipe) -> bool:
    """Whether a checkpoint written under ``saved`` (a recipe as a dict) may resume under ``recipe``.

    A field added to :class:`Recipe` after the checkpoint was written is absent from ``saved``; it
    matches when ``recipe`` keeps the field's default, because the default is what older code did.
    """
    current, defaults = asdict(recipe), asdict(Recipe())
    return set(saved) <= set(current) and all(
        saved.get(name, defaults[name]) == value for name, value in current.items())


#: One recipe per zoo. The photo zoo holds the train photos at 192 px, crops Inception-style
#: (RandomResizedCrop, area 35–100 %) and flips, and trains the first half of its epochs at
#: 128 px, the rest at 160 px (progressive resizing); val photos are seen as the app shows them:
#: centre square, resized to 160 px.
RECIPES: dict[str, Recipe] = {
    "cifar10": Recipe(),
    "imagenette": Recipe(
        zoo="imagenette", epochs=40, batch_size=64, lr=0.1, weight_decay=5e-4, input_size=160,
        early_size=128, early_fraction=0.5, crop="resized", crop_scale=0.35, stored_size=192,
        mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
        augmentation=("RandomResizedCrop(area 0.35-1, aspect 3/4-4/3, antialiased) of the 192-px image + "
                      "RandomHorizontalFlip; the first early_fraction of the epochs at early_size, the rest at "
                      "input_size"),
    ),
}


def zoo_of(classes: tuple[str, ...]) -> str:
    """The zoo whose recipe fits a data set with these classes: Imagenette's ten, else CIFAR-10's."""
    return "imagenette" if set(classes) <= set(IMAGENETTE_CLASSES.values()) else "cifar10"


@dataclass
class Runtime:
    """Where and how a run executes; changes speed, not the recipe."""

    device: torch.device
    amp_dtype: torch.dtype | None
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_runtime(device: str = "auto", amp: str = "auto") -> Runtime:
    """Pick the device (CUDA when present), mixed precision, and the DDP process group."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if world_size > 1:
        backend = "nccl" if dev.type == "cuda" else "gloo"
        if not dist.is_initialized():
            dist.init_process_group(backend)
        if dev.type == "cuda":
            dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(dev)
    amp_dtype = None
    if amp == "bf16" or (amp == "auto" and _bf16_is_fast(dev)):
        amp_dtype = torch.bfloat16
    elif amp == "fp16":
        amp_dtype = torch.float16
    return Runtime(dev, amp_dtype, rank, world_size)


def _bf16_is_fast(device: torch.device) -> bool:
    # bf16 autocast pays off on GPUs that support it and on CPUs with native
    # bf16 instructions (AVX512-BF16 / AMX): ~2× faster training measured here.
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def no_weight_decay(model: nn.Module) -> set[str]:
    """Names of the parameters that modules exempt through a timm-style ``no_weight_decay()``."""
    names = set()
    for prefix, module in model.named_modules():
        if hasattr(module, "no_weight_decay"):
            names |= {f"{prefix}.{n}" if prefix else n for n in module.no_weight_decay()}
    return names


def param_groups(model: nn.Module, weight_decay: float):
    """Weight decay on conv and linear weights, except the ones the blocks exempt.

    The convolutions that produce softmax logits (A²'s θ and ρ, Non-local's θ
    and φ, GC's context map) set the attention's temperature: decaying them
    pulls every attention map towards uniform, which the first zoo showed
    (A² gathering maps at 95% of the uniform entropy).
    """
    exempt = no_weight_decay(model)
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() > 1 and name not in exempt else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def one_cycle(step: int, total: int, warmup_fraction: float) -> float:
    """LR multiplier: linear warm-up, then cosine decay to zero."""
    warmup = max(1, int(total * warmup_fraction))
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * progress))


def _autocast(rt: Runtime):
    return torch.autocast(rt.device.type, dtype=rt.amp_dtype or torch.float32, enabled=rt.amp_dtype is not None)


@torch.no_grad()
def evaluate_tensors(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, mean, std,
                     rt: Runtime | None = None, batch_size: int = 500,
                     progress: bool = False) -> tuple[float, float]:
    """(top-1 accuracy, mean loss) of ``model`` on uint8 ``images`` (N, 3, S, S), in eval mode."""
    device = rt.device if rt else torch.device("cpu")
    was_training = model.training
    model.eval()
    correct, loss = 0, 0.0
    for i in tqdm(range(0, len(labels), batch_size), desc="evaluate", unit="batch", disable=not progress,
                  leave=False, dynamic_ncols=True):
        x = normalize(images[i:i + batch_size], mean, std).to(device, memory_format=torch.channels_last)
        y = labels[i:i + batch_size].to(device)
        with _autocast(rt) if rt else torch.autocast("cpu", enabled=False):
            logits = model(x).float()
        loss += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
    model.train(was_training)
    return correct / len(labels), loss / len(labels)


def skip_epochs(loader: DataLoader, epochs: int) -> None:
    """Advance ``loader``'s random state past ``epochs`` epochs without loading any data.

    Every epoch draws the workers' base seed (on ``iter``) and then the shuffle
    from ``loader.generator``; replaying both puts a resumed run on the data
    order of an uninterrupted one when the checkpoint lacks the loader state.
    """
    for _ in range(epochs):
        iter(loader)
        for _ in loader.batch_sampler:
            pass


def train_arch(arch: str, train_set: ImageFolderTensors, val_set: ImageFolderTensors, out: Path,
               recipe: Recipe, rt: Runtime, workers: int = 1, progress: bool = True,
               stop_after: int | None = None) -> dict:
    """Train ``arch`` with ``recipe``, resuming from its checkpoint; return its summary.

    ``stop_after`` ends this run after that epoch (the checkpoint lets a later run go on);
    weights are written only once all ``recipe.epochs`` are done.
    """
    mean, std = recipe.mean, recipe.std
    torch.manual_seed(recipe.seed)
    model = build(arch, num_classes=len(train_set.classes), zoo=recipe.zoo).to(rt.device,
                                                                              memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(param_groups(model, recipe.weight_decay), lr=recipe.lr,
                                momentum=recipe.momentum, nesterov=True)
    sampler = DistributedSampler(train_set, rt.world_size, rt.rank, seed=recipe.seed) if rt.world_size > 1 else None
    loader = DataLoader(train_set, recipe.batch_size // rt.world_size, shuffle=sampler is None, sampler=sampler,
                        num_workers=workers, persistent_workers=workers > 0, drop_last=True,
                        generator=torch.Generator().manual_seed(recipe.seed))
    steps_per_epoch = len(loader)
    total_steps = recipe.epochs * steps_per_epoch
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: one_cycle(step, total_steps, recipe.warmup_fraction))

    ckpt_path = out / "checkpoints" / f"{arch}.pt"
    log_path = out / "logs" / f"{arch}.jsonl"
    start_epoch = 0
    if ckpt_path.is_file():
        # On the CPU: the RNG states must stay CPU tensors; load_state_dict moves the rest to the device.
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        if same_recipe(ckpt["recipe"], recipe):
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            scheduler.load_state_dict(ckpt["scheduler"])
            start_epoch = ckpt["epoch"]
            torch.set_rng_state(ckpt["rng"])
            if "loader_rng" in ckpt:
                loader.generator.set_state(ckpt["loader_rng"])
            else:  # checkpoints written before the loader state was saved
                skip_epochs(loader, start_epoch)
            if rt.is_main:
                print(f"{arch}: resuming after epoch {start_epoch} from {ckpt_path}", flush=True)
        elif rt.is_main:
            print(f"{arch}: checkpoint {ckpt_path} is for another recipe; starting afresh", flush=True)

    ddp_model = model
    if rt.world_size > 1:
        ddp_model = nn.parallel.DistributedDataParallel(model, device_ids=[rt.device] if rt.device.type == "cuda" else None)
    criterion = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)

    end_epoch = recipe.epochs if stop_after is None else min(recipe.epochs, stop_after)
    for epoch in range(start_epoch, end_epoch):
        if sampler is not None:
            sampler.set_epoch(epoch)
        ddp_model.train()
        seen, correct, loss_sum, t0, cpu0 = 0, 0, 0.0, time.perf_counter(), time.process_time()
        size = recipe.early_size if epoch < recipe.early_epochs else recipe.input_size
        bar = tqdm(loader, desc=f"{arch} {epoch + 1}/{recipe.epochs}", disable=not (progress and rt.is_main),
                   leave=False, dynamic_ncols=True)
        for images, labels in bar:
            if recipe.crop == "resized":
                images = random_resized_crops(images, size, (recipe.crop_scale, 1.0))
            elif size != images.shape[-1]:
                images = random_windows(images, size)
            x = normalize(images, mean, std).to(rt.device, memory_format=torch.channels_last, non_blocking=True)
            y = labels.to(rt.device, non_blocking=True)
            with _autocast(rt):
                logits = ddp_model(x)
                loss = criterion(logits.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            seen += len(y)
            loss_sum += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}",
                            img_s=f"{seen * rt.world_size / (time.perf_counter() - t0):.0f}")
        # Wall time, and the CPU time of all this process's threads (one-core seconds), which other
        # work on the machine inflates far less than the wall time.
        seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - cpu0
        if rt.world_size > 1:  # the log reports the whole epoch, not rank 0's share
            totals = torch.tensor([seen, correct, loss_sum], dtype=torch.float64, device=rt.device)
            dist.all_reduce(totals)
            seen, correct, loss_sum = totals.tolist()
            seen, correct = int(seen), int(correct)
        if rt.is_main:
            val_acc, val_loss = evaluate_tensors(model, val_set.images, val_set.labels, mean, std, rt)
            record = {"arch": arch, "seed": recipe.seed, "epoch": epoch + 1, "input_size": size,
                      "train_loss": loss_sum / seen, "train_acc": correct / seen, "val_loss": val_loss,
                      "val_acc": val_acc, "lr": scheduler.get_last_lr()[0], "images_per_s": seen / seconds,
                      "seconds": seconds, "cpu_seconds": cpu_seconds, "threads": torch.get_num_threads(),
                      "amp": str(rt.amp_dtype).removeprefix("torch.") if rt.amp_dtype else "off"}
            print(json.dumps(record), flush=True)
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with log_path.open("a") as f:
                f.write(json.dumps(record) + "\n")
            ckpt_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = ckpt_path.with_suffix(".tmp")
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "epoch": epoch + 1, "recipe": asdict(recipe),
                        "rng": torch.get_rng_state(), "loader_rng": loader.generator.get_state()}, tmp)
            tmp.replace(ckpt_path)  # a crash mid-write must not lose the last good checkpoint
        if rt.world_size > 1:
            dist.barrier()

    summary = {"arch": arch, "epochs_done": max(start_epoch, end_epoch)}
    if end_epoch < recipe.epochs:
        if rt.is_main:
            print(f"{arch}: stopped after epoch {end_epoch} of {recipe.epochs}; rerun to resume", flush=True)
        return summary
    if rt.is_main:
        model = model.float().to(memory_format=torch.contiguous_format).cpu()
        val_acc, _ = evaluate_tensors(model, val_set.images, val_set.labels, mean, std)
        meta = ModelMeta(arch=arch, classes=train_set.classes, input_size=recipe.input_size, mean=mean, std=std,
                         dataset=DATASETS[recipe.zoo], recipe=asdict(recipe), val_accuracy=round(val_acc, 4),
                         zoo=recipe.zoo)
        path = out / f"{arch}.safetensors"
        stored = "float32"
        if recipe.zoo != "cifar10":  # photo models are 10× larger: ship float16 where it keeps the accuracy
            save_weights(model, path, meta, dtype=torch.float16)
            half_acc, _ = evaluate_tensors(load_pretrained(arch, path), val_set.images, val_set.labels, mean, std)
            if val_acc - half_acc <= FP16_TOLERANCE:
                stored, val_acc = "float16", half_acc
                meta = ModelMeta(**{**meta.to_dict(), "val_accuracy": round(half_acc, 4)})
        save_weights(model, path, meta, dtype=torch.float16 if stored == "float16" else None)
        summary.update(val_accuracy=val_acc, weights=str(path), stored=stored)
        print(f"{arch}: val top-1 {val_acc:.4f} (float32 compute, {stored} weights) → {path}", flush=True)
    return summary


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="a2_resnet",
                        help=f"one of {', '.join(ALL_ARCHS)}, a comma list, or 'all' (the app's zoo: "
                             f"{', '.join(ARCHS)})")
    parser.add_argument("--data", required=True, help="folder with train/<class>/* and val/<class>/*")
    parser.add_argument("--out", default="assets/weights", help="where weights, checkpoints and logs go")
    parser.add_argument("--zoo", default="auto", choices=("auto", *ZOOS),
                        help="whose backbone and recipe; auto: imagenette for Imagenette's classes, else cifar10")
    # Recipe overrides: None keeps the zoo's recipe (RECIPES).
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--early-size", type=int, default=None,
                        help="input size of the early epochs (progressive sizing)")
    parser.add_argument("--early-fraction", type=float, default=None,
                        help="fraction of the epochs, from the first, that train at --early-size")
    parser.add_argument("--limit", type=int, default=None, help="images per class (a quick subset for tests)")
    parser.add_argument("--workers", type=int, default=1, help="data loader processes")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, …")
    parser.add_argument("--amp", default="auto", choices=["auto", "bf16", "fp16", "off"])
    parser.add_argument("--threads", type=int, default=None, help="CPU threads per process")
    parser.add_argument("--stop-after", type=int, default=None, metavar="EPOCH",
                        help="end the run after this epoch; a rerun resumes from the checkpoint")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    archs = ARCHS if args.arch == "all" else tuple(a.strip() for a in args.arch.split(","))
    for arch in archs:
        if arch not in ALL_ARCHS:
            parser.error(f"unknown arch {arch!r}; choose from {', '.join(ALL_ARCHS)} or 'all'")
    if args.threads:
        torch.set_num_threads(args.threads)
    rt = setup_runtime(args.device, args.amp)
    data = Path(args.data)
    zoo = zoo_of(class_names(data / "train")) if args.zoo == "auto" else args.zoo
    overrides = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
                 "early_size": args.early_size, "early_fraction": args.early_fraction}
    recipe = replace(RECIPES[zoo], **{k: v for k, v in overrides.items() if v is not None})
    if recipe.early_epochs and not 0 < recipe.early_size <= recipe.input_size:
        parser.error(f"--early-size {recipe.early_size} must lie in 1..{recipe.input_size}")
    if recipe.batch_size % rt.world_size:
        parser.error(f"--batch-size {recipe.batch_size} must be a multiple of the {rt.world_size} processes")
    train_set = ImageFolderTensors(data / "train", recipe.stored_size,
                                   train_augmentation(recipe.input_size, recipe.crop),
                                   limit=args.limit, progress=rt.is_main and not args.no_progress)
    val_set = ImageFolderTensors(data / "val", recipe.input_size, classes=train_set.classes, limit=args.limit,
                                 progress=rt.is_main and not args.no_progress)
    if len(train_set) < recipe.batch_size:  # drop_last would leave no step at all
        parser.error(f"{len(train_set)} training images make no full batch of {recipe.batch_size}; "
                     "lower --batch-size")
    if rt.is_main:
        print(f"zoo {zoo}, device {rt.device}, amp {rt.amp_dtype}, processes {rt.world_size}, threads {torch.get_num_threads()}, "
              f"train {len(train_set)}, val {len(val_set)}", flush=True)
    out = Path(args.out)
    for arch in archs:
        train_arch(arch, train_set, val_set, out, recipe, rt, args.workers, not args.no_progress, args.stop_after)
    if rt.world_size > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
