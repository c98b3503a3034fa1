"""Measuring the zoo: accuracy, size, compute and CPU speed of each model, the machine, the seeds.

For every ``WEIGHTS/<arch>.safetensors`` :func:`zoo_table` measures top-1 on ``DATA/val`` (float32),
parameters, FLOPs per image at the model's input size, CPU latency at batch 1 and throughput at
batch 32. FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode``: 2 × multiply-adds of
convolutions and matrix products; elementwise work (BatchNorm, ReLU, softmax, pooling) is not counted.
Also here: the training logs read back, the runs of several seeds, and how sharp the A² gathering maps
are on the validation split. Writing it all down is :mod:`a2core.training.card`.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..images import normalize
from ..models import ALL_ARCHS, archs_with_weights, load_pretrained
from ..probe import attention_maps
from ..probe.analysis import gathering_entropy
from ..weights import WEIGHTS_DIR, ModelMeta
from .data import ImageFolderTensors, class_names
from .seeds import SeedRun, seed_runs
from .train import _bf16_is_fast, evaluate_tensors

BASELINE = "resnet"
THROUGHPUT_BATCH = 32


@dataclass(frozen=True)
class ZooRow:
    """One model's line of the evaluation table.

    flops: per image at ``input_size`` (2 × multiply-adds); latency_ms: median
    time of one image (batch 1); throughput: images/s at batch ``throughput_batch``.
    """

    arch: str
    val_accuracy: float
    val_images: int
    params: int
    flops: int
    latency_ms: float
    throughput: float
    throughput_batch: int
    input_size: int

    @property
    def mflops(self) -> float:
        return self.flops / 1e6


# ---------------------------------------------------------------------------
# measurements on one model


def count_params(model: nn.Module) -> int:
    """Number of parameters (buffers such as BatchNorm statistics are not counted)."""
    return sum(p.numel() for p in model.parameters())


def _input(model: nn.Module, input_size: int, batch_size: int) -> torch.Tensor:
    p = next(model.parameters())
    gen = torch.Generator().manual_seed(0)
    return torch.randn(batch_size, 3, input_size, input_size, generator=gen).to(p.device, p.dtype)


def count_flops(model: nn.Module, input_size: int = 32) -> int:
    """FLOPs of one forward pass of one (1, 3, S, S) image, as FlopCounterMode counts them (2 × MACs)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(_input(model, input_size, 1))
    finally:
        model.train(was_training)
    return counter.get_total_flops()


def measure_latency(model: nn.Module, input_size: int = 32, batch_size: int = 1, warmup: int = 10,
                    repeats: int = 50) -> float:
    """Median wall-clock milliseconds of one forward pass of a (batch_size, 3, S, S) batch.

    The ``warmup`` calls let oneDNN pick and cache its kernels first; the median
    ignores the odd slow call caused by the rest of the machine.
    """
    x = _input(model, input_size, batch_size)
    was_training = model.training
    model.eval()
    times = []
    try:
        with torch.inference_mode():
            for _ in range(warmup):
                model(x)
            for _ in range(repeats):
                t0 = time.perf_counter()
                model(x)
                times.append(time.perf_counter() - t0)
    finally:
        model.train(was_training)
    return statistics.median(times) * 1e3


def load_split(folder: str | Path, meta: ModelMeta, progress: bool = True) -> ImageFolderTensors:
    """A split folder decoded at the model's input size, labels in the model's class order."""
    found = set(class_names(folder))
    if found != set(meta.classes):
        raise ValueError(f"{folder} has classes {sorted(found)}, the model was trained on {list(meta.classes)}")
    return ImageFolderTensors(folder, meta.input_size, classes=tuple(meta.classes), progress=progress)


def decoded_split(splits: dict, folder: str | Path, meta: ModelMeta, progress: bool = True) -> ImageFolderTensors:
    """``folder`` decoded for ``meta``; ``splits`` keeps each decoding so that models sharing a folder,
    input size and class list decode it once."""
    key = (str(folder), meta.input_size, tuple(meta.classes))
    if key not in splits:
        splits[key] = load_split(folder, meta, progress)
    return splits[key]


def evaluate_accuracy(model: nn.Module, data: str | Path | ImageFolderTensors, meta: ModelMeta | None = None,
                      batch_size: int = 500, progress: bool = True) -> float:
    """Top-1 accuracy of ``model`` in float32 on a split folder (``<class>/*``) or a decoded split.

    ``meta`` (default ``model.meta``) gives the input size, class order and normalisation.
    """
    meta = meta or model.meta
    split = data if isinstance(data, ImageFolderTensors) else load_split(data, meta, progress)
    accuracy, _ = evaluate_tensors(model, split.images, split.labels, meta.mean, meta.std, batch_size=batch_size,
                                   progress=progress)
    return accuracy


def evaluate_model(model: nn.Module, split: ImageFolderTensors, warmup: int = 10, repeats: int = 50,
                   throughput_batch: int = THROUGHPUT_BATCH, progress: bool = True) -> ZooRow:
    """Every column of the table for one loaded model (``model.meta`` set) on a decoded split."""
    meta = model.meta
    size = meta.input_size
    batch_ms = measure_latency(model, size, throughput_batch, warmup=max(1, warmup // 3),
                               repeats=max(3, repeats // 5))
    return ZooRow(
        arch=meta.arch,
        val_accuracy=evaluate_accuracy(model, split, progress=progress),
        val_images=len(split),
        params=count_params(model),
        flops=count_flops(model, size),
        latency_ms=measure_latency(model, size, 1, warmup, repeats),
        throughput=throughput_batch / batch_ms * 1e3,
        throughput_batch=throughput_batch,
        input_size=size,
    )


# ---------------------------------------------------------------------------
# the whole zoo


def shipped_archs(weights_dir: str | Path = WEIGHTS_DIR) -> tuple[str, ...]:
    """The archs of :data:`ALL_ARCHS` that have ``weights_dir/<arch>.safetensors``, in zoo order."""
    return archs_with_weights(weights_dir)


def zoo_table(data_dir: str | Path, weights_dir: str | Path = WEIGHTS_DIR, archs: Sequence[str] | None = None,
              split: str = "val", warmup: int = 10, repeats: int = 50,
              throughput_batch: int = THROUGHPUT_BATCH, progress: bool = True,
              splits: dict | None = None) -> list[ZooRow]:
    """Evaluate every shipped model (or ``archs``) on ``data_dir/split``; one row per arch, in zoo order.

    The split is decoded once for all models that share an input size and class list; pass ``splits``
    (see :func:`decoded_split`) to share the decodings with later work.
    """
    archs = tuple(archs) if archs else shipped_archs(weights_dir)
    if not archs:
        raise FileNotFoundError(f"no <arch>.safetensors for any of {', '.join(ALL_ARCHS)} in {weights_dir}")
    splits = {} if splits is None else splits
    rows = []
    for arch in archs:
        model = load_pretrained(arch, Path(weights_dir) / f"{arch}.safetensors")
        data = decoded_split(splits, Path(data_dir) / split, model.meta, progress)
        rows.append(evaluate_model(model, data, warmup, repeats, throughput_batch, progress))
    return rows


def environment() -> dict:
    """Where the timings were taken: CPU, threads, library versions and how busy the machine was."""
    return {
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def measure_seeds(rows: Sequence[ZooRow], weights_dir: str | Path, split_dir: str | Path, progress: bool = True,
                  splits: dict | None = None) -> tuple[dict[str, list[tuple[SeedRun, float]]], list[TrainingLog]]:
    """Float32 top-1 of every run of the archs in ``rows`` that were trained with several seeds.

    The shipped runs keep their row's figure; the others are evaluated on ``split_dir``. Also returns
    the training logs of those other runs (``seeds/seed<k>/logs/<arch>.jsonl``), for the budget.
    """
    shipped = {r.arch: r.val_accuracy for r in rows}
    seeds, logs = {}, []
    splits = {} if splits is None else splits
    for arch in shipped:
        runs = seed_runs(arch, weights_dir)
        if len(runs) < 2:
            continue
        measured = []
        for run in runs:
            if run.shipped:
                measured.append((run, shipped[arch]))
                continue
            model = load_pretrained(arch, run.path)
            data = decoded_split(splits, split_dir, model.meta, progress)
            measured.append((run, evaluate_accuracy(model, data, progress=progress)))
            log = run.path.parent / "logs" / f"{arch}.jsonl"
            if log.is_file():
                logs.append(read_training_log(log))
        seeds[arch] = measured
    return seeds, logs


# ---------------------------------------------------------------------------
# the training logs, and the machine they ran on


@dataclass(frozen=True)
class TrainingLog:
    """Summary of one arch's ``logs/<arch>.jsonl`` (the last record of each epoch counts)."""

    arch: str
    epochs: int
    seconds: float
    images_per_s: float
    final_val_accuracy: float
    best_val_accuracy: float
    #: input size → its epochs' one-core seconds (wall seconds in logs that do not record CPU time)
    seconds_by_size: dict[int, list[float]] = field(default_factory=dict)
    #: one-core seconds (CPU time of all the run's threads); None for logs written before it was recorded
    cpu_seconds: float | None = None
    #: the autocast dtypes its epochs ran under ("off": float32), in order of first use; a run resumed
    #: on another machine may mix them. Empty for logs written before it was recorded.
    precisions: tuple[str, ...] = ()


def read_training_log(path: str | Path) -> TrainingLog:
    """Summarise a training log; an epoch logged twice (a rerun after a crash) counts once, its last record."""
    by_epoch: dict[int, dict] = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            by_epoch[record["epoch"]] = record
    if not by_epoch:
        raise ValueError(f"{path} holds no epoch records")
    records = [by_epoch[e] for e in sorted(by_epoch)]
    seconds = sum(r["seconds"] for r in records)
    return TrainingLog(
        arch=records[-1]["arch"],
        epochs=len(records),
        seconds=seconds,
        # Over the whole run, not a mean of epochs: progressive sizing makes early epochs faster.
        images_per_s=sum(r["images_per_s"] * r["seconds"] for r in records) / seconds,
        final_val_accuracy=records[-1]["val_acc"],
        best_val_accuracy=max(r["val_acc"] for r in records),
        seconds_by_size=_seconds_by_size(records),
        cpu_seconds=sum(r["cpu_seconds"] for r in records) if all("cpu_seconds" in r for r in records) else None,
        precisions=tuple(dict.fromkeys(r["amp"] for r in records if "amp" in r)),
    )


def _seconds_by_size(records: Sequence[dict]) -> dict[int, list[float]]:
    # CPU time where every epoch has it: wall time also counts the other runs beside this one
    key = "cpu_seconds" if all("cpu_seconds" in r for r in records) else "seconds"
    by_size: dict[int, list[float]] = {}
    for r in records:
        if "input_size" in r:  # logs written before progressive sizing do not say
            by_size.setdefault(r["input_size"], []).append(r[key])
    return by_size


def read_training_logs(logs_dir: str | Path, archs: Iterable[str]) -> dict[str, TrainingLog]:
    """The logs of ``archs`` found in ``logs_dir`` (archs without a log are left out)."""
    found = {}
    for arch in archs:
        path = Path(logs_dir) / f"{arch}.jsonl"
        if path.is_file():
            found[arch] = read_training_log(path)
    return found


def describe_hardware() -> str:
    """This machine in a few words, with the precision training picks on it (``--amp auto``)."""
    precision = "float32"
    if _bf16_is_fast(torch.device("cpu")):
        precision = "bf16 autocast" + (" (the CPU has AMX)" if "amx_bf16" in _cpu_flags() else "")
    return f"{_cpu_name()}, {os.cpu_count()} cores, no GPU, {precision}"


def _cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


# ---------------------------------------------------------------------------
# the A² gathering maps over a split


@torch.no_grad()
def gathering_statistics(model: nn.Module, split: ImageFolderTensors, batch_size: int = 500) -> dict[str, dict]:
    """How sharp each A² block's gathering maps are on ``split``, per block name.

    mean_entropy: mean over images and descriptors of the entropy (nats) of softmax(b̄ᵢ);
    uniform_entropy: log(L), the entropy of a map that gathers evenly from all L positions;
    sharpest_descriptor: the lowest per-descriptor mean entropy; peak_over_uniform: the
    mean of each map's largest weight divided by the uniform weight 1/L.
    """
    meta = model.meta
    entropies: dict[str, list[np.ndarray]] = {}  # block → per batch (N, n) entropies
    peaks: dict[str, list[np.ndarray]] = {}  # block → per batch (N, n) largest weight × L
    for i in range(0, len(split), batch_size):
        x = normalize(split.images[i:i + batch_size], meta.mean, meta.std)
        _, maps = attention_maps(model, x)
        for name, m in maps.items():
            if hasattr(m, "gather"):
                g = m.gather.flatten(2)  # (N, n, L)
                entropies.setdefault(name, []).append(gathering_entropy(g.flatten(0, 1)).reshape(g.shape[:2]))
                peaks.setdefault(name, []).append((g.amax(-1) * g.shape[-1]).numpy())
    stats = {}
    for name, parts in entropies.items():
        positions = maps[name].gather[0, 0].numel()
        per_descriptor = np.concatenate(parts).mean(0)  # (n,)
        stats[name] = {"positions": positions, "mean_entropy": float(per_descriptor.mean()),
                       "uniform_entropy": math.log(positions), "sharpest_descriptor": float(per_descriptor.min()),
                       "peak_over_uniform": float(np.concatenate(peaks[name]).mean())}
    return stats
