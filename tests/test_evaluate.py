"""The zoo evaluation: table, counts checked by hand, accuracy checked image by image, the model card."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import asdict

import pytest
import torch
from PIL import Image
from tiny_folder import make_image_folder
from torch import nn

import a2core
from a2core import ModelMeta, build, load_pretrained, preprocess, save_weights
from a2core.training.data import class_names, list_images
from a2core.training.card import ZOO_CARD, targets_markdown
from a2core.training.evaluate import main
from a2core.training.measure import (TrainingLog, ZooRow, count_flops, count_params, evaluate_accuracy,
                                    measure_latency, read_training_log)
from a2core.training.train import DATASET_NAME, Recipe

ARCHS = ("resnet", "a2_resnet")
COLUMNS = ("model", "top-1 (%)", "params", "MFLOPs", "CPU latency (ms)", "img/s (batch 32)", "extra params",
           "extra MFLOPs", "extra latency (ms)")


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """A tiny data folder and freshly initialised weight files for two archs."""
    root = tmp_path_factory.mktemp("zoo")
    data = make_image_folder(root / "data")
    classes = class_names(data / "train")
    weights = root / "weights"
    torch.manual_seed(0)
    for arch in ARCHS:
        recipe = asdict(Recipe(epochs=3, early_fraction=0.5))
        meta = ModelMeta(arch=arch, classes=classes, dataset=DATASET_NAME, recipe=recipe)
        save_weights(build(arch, len(classes)), weights / f"{arch}.safetensors", meta)
    return data, weights


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def evaluated(zoo, tmp_path_factory):
    """One run of the CLI with every output: (stdout, its output folder, the training logs it read)."""
    data, weights = zoo
    out = tmp_path_factory.mktemp("evaluated")
    logs = out / "logs"
    logs.mkdir()
    for arch in ARCHS:
        # The recipe's first epoch trains on 24-pixel windows, twice as fast as a full one in wall time;
        # in CPU time 0.44× for resnet, 0.22× for a2_resnet (its full-size epochs cost twice as much).
        full_cpu = 540.0 if arch == "resnet" else 1080.0
        records = [{"arch": arch, "epoch": e, "input_size": 24 if e == 1 else 32, "seconds": 300.0 if e == 1 else 600.0,
                    "images_per_s": 1000.0 if e == 1 else 500.0, "val_acc": 0.5 + e / 10,
                    # resumed after epoch 1 on a machine with fast bf16
                    "cpu_seconds": 240.0 if e == 1 else full_cpu, "amp": "off" if e == 1 else "bfloat16"} for e in (1, 2, 3)]
        # Epoch 1 logged twice (a crash between the log line and the checkpoint): the rerun's record counts.
        records.insert(0, {**records[0], "seconds": 999.0, "val_acc": 0.0})
        (logs / f"{arch}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        main(["--data", str(data), "--weights", str(weights), "--warmup", "1", "--repeats", "3", "--no-progress",
              "--markdown", str(out / "table.md"), "--json", str(out / "zoo.json"),
              "--card", str(out / "MODEL_CARD.md"), "--logs", str(logs), "--hardware", "a test machine"])
    return stdout.getvalue(), out, logs


def table_rows(text):
    return [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in text.splitlines() if line.startswith("|")]


@pytest.mark.slow
def test_cli_prints_the_table_and_writes_markdown_and_json(zoo, evaluated):
    _, weights = zoo
    out, tmp_path, _ = evaluated

    header, rule, *rows = table_rows(out)
    assert tuple(header) == COLUMNS and len(rule) == len(COLUMNS)
    assert [r[0] for r in rows] == list(ARCHS) and all(len(r) == len(COLUMNS) for r in rows)
    assert rows[0][-3:] == ["—"] * 3, "the baseline has no extra cost"
    assert all(cell.startswith(("+", "-")) for cell in rows[1][-3:])
    assert table_rows((tmp_path / "table.md").read_text()) == [header, rule, *rows]

    report = json.loads((tmp_path / "zoo.json").read_text())
    models = {m["arch"]: m for m in report["models"]}
    assert set(models) == set(ARCHS) and report["environment"]["torch_threads"] >= 1
    for arch in ARCHS:
        model = load_pretrained(arch, weights / f"{arch}.safetensors")
        m = models[arch]
        assert m["params"] == count_params(model) and m["flops"] == count_flops(model, 32)
        assert m["val_images"] == 40 and m["latency_ms"] > 0 and m["throughput"] > 0
        assert f"{100 * m['val_accuracy']:.2f}" == rows[ARCHS.index(arch)][1]
    extra = models["a2_resnet"]["extra_over_resnet"]
    assert extra["params"] == models["a2_resnet"]["params"] - models["resnet"]["params"] > 0
    assert extra["flops"] == models["a2_resnet"]["flops"] - models["resnet"]["flops"] > 0


def test_accuracy_matches_a_prediction_per_image(zoo):
    data, weights = zoo
    model = load_pretrained("a2_resnet", weights / "a2_resnet.safetensors")
    classes = model.meta.classes
    correct = 0
    with torch.no_grad():
        for path, label in list_images(data / "val", classes):
            with Image.open(path) as image:
                correct += int(model(preprocess(image, model.meta)).argmax(1).item() == label)
    assert evaluate_accuracy(model, data / "val", progress=False) == correct / 40


def test_accuracy_refuses_a_folder_of_other_classes(zoo, tmp_path):
    _, weights = zoo
    other = make_image_folder(tmp_path, classes=3, per_class=1, splits=("val",))
    model = load_pretrained("resnet", weights / "resnet.safetensors")
    with pytest.raises(ValueError, match="trained on"):
        evaluate_accuracy(model, other / "val", progress=False)


def test_params_and_flops_of_a_tiny_net_match_a_hand_count():
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 1, stride=2, bias=False),
                        nn.Flatten(), nn.Linear(6 * 4 * 4, 5))
    assert count_params(net) == (4 * 3 * 9 + 4) + 6 * 4 + (96 * 5 + 5)
    # 2 FLOPs per multiply-add; bias additions are not counted.
    assert count_flops(net, input_size=8) == 2 * (4 * 8 * 8 * 3 * 9 + 6 * 4 * 4 * 4 + 96 * 5)


def test_flops_of_the_zoo_match_the_layer_shapes():
    resnet, a2 = build("resnet"), build("a2_resnet")
    counted = 0

    def add(module, inputs, output):
        nonlocal counted
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            counted += 2 * output.numel() * per_output
        else:
            counted += 2 * module.in_features * module.out_features

    hooks = [m.register_forward_hook(add) for m in resnet.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    with torch.no_grad():
        resnet.eval()(torch.zeros(1, 3, 32, 32))
    for hook in hooks:
        hook.remove()
    assert count_flops(resnet, 32) == counted

    # A² (gather first, eval) adds, per block of c channels on L positions with m = c/2, n = c/4:
    # the 1×1 conv φ, θ, ρ (c → m + 2n), G = A Bᵀ (m·n·L), W_p G (c·m·n, BN folded in) and
    # Y = X + (W_p G) V (c·n·L): the block never builds Z, so proj's m → c conv over L positions is not there.
    def a2_block(c, side):
        m, n, L = c // 2, c // 4, side * side
        return 2 * L * c * (m + 2 * n) + 2 * m * n * L + 2 * c * m * n + 2 * c * n * L

    assert count_flops(a2, 32) - count_flops(resnet, 32) == a2_block(32, 16) + a2_block(64, 8)
    assert count_params(resnet) == sum(p.numel() for p in resnet.parameters())


def test_latency_is_a_positive_median_and_leaves_the_mode_alone():
    net = build("resnet").train()
    ms = measure_latency(net, 32, batch_size=2, warmup=1, repeats=3)
    assert ms > 0 and net.training


@pytest.mark.slow
def test_card_has_every_section_and_reads_the_logs(evaluated):
    _, out, logs = evaluated
    log = read_training_log(logs / "resnet.jsonl")
    assert (log.epochs, log.seconds, log.final_val_accuracy) == (3, 300.0 + 2 * 600.0, pytest.approx(0.8))
    assert log.seconds_by_size == {24: [240.0], 32: [540.0, 540.0]}  # CPU time, which the log records
    assert log.images_per_s == pytest.approx(3 * 300_000 / 1500)  # every epoch saw 300,000 images
    assert log.cpu_seconds == 240.0 + 2 * 540.0 and log.precisions == ("off", "bfloat16")

    card = (out / "MODEL_CARD.md").read_text()
    for section in ("## Data", "## Training recipe", "## Compute budget", "## Evaluation", "## Reproduce",
                    "## Files", "## Limitations"):
        assert section in card
    assert "Krizhevsky" in card and "40 images" in card  # the data note, counted from the folder
    assert "| epochs | 3 |" in card and "| label smoothing | 0.1 |" in card  # from meta.recipe
    assert "a test machine" in card and "0.83 hours of training for 2 archs" in card  # 2 archs × 1,500 s
    assert "The first 1 of the 3 epochs train on random 24×24 windows of the 32×32 images" in card
    # the mean of the archs' ratios (0.44 and 0.22), not the ratio of all epochs pooled (0.30)
    assert "a 24-pixel epoch took 0.33× the time of a 32-pixel one (CPU time where logged)" in card
    # per arch: its precision(s), wall and one-core time, throughput, last epoch's val top-1
    assert "| resnet | 3 | off (float32) then bfloat16 | 25.0 | 0.37 | 600 | 80.00 |" in card
    assert ("python -m a2core.training.train --arch all --data DIR --out assets/weights/ --epochs 3 --early-fraction 0.5 "
            "--early-size 24\n") in card  # the recipe's schedule, progressive sizing included
    assert "python -m a2core.training.evaluate --data DIR --weights assets/weights/ --card assets/weights/MODEL_CARD.md" in card
    header, *_ = table_rows(card.split("## Evaluation")[1])
    assert tuple(header) == COLUMNS
    assert "`a2_resnet.safetensors`" in card and "DoubleAttention" in card
    assert "| model | attention block | where | why there |" in card  # the placement table says why
    assert f"| `layer2.2.attn`, `layer3.2.attn` | {a2core.models.PLACEMENT_REASONS['cifar10']['a2_resnet']} |" in card
    # Two of the thirteen archs: the card names the eleven it does not cover, the series' six last.
    series = ", ".join(f"`{a}`" for a in a2core.models.SERIES_ARCHS)
    assert ("Not in this card yet (no weight file in `assets/weights/`): `se_resnet`, `nl_resnet`, `gc_resnet`, "
            f"`eca_resnet`, `gsop_resnet`, {series}.") in " ".join(card.split())


def test_gathering_statistics_tell_uniform_from_sharp_maps(tmp_path):
    from a2core.training.data import ImageFolderTensors
    from a2core.training.measure import gathering_statistics

    split = ImageFolderTensors(make_image_folder(tmp_path, per_class=1, splits=("val",)) / "val", progress=False)
    model = build("a2_resnet").eval()
    model.meta = ModelMeta(arch="a2_resnet", classes=split.classes)
    blocks = [m for m in model.modules() if hasattr(m, "theta")]
    with torch.no_grad():
        for block in blocks:  # θ = 0: every gathering map is uniform
            block.theta.weight.zero_()
            block.theta.bias.zero_()
    uniform = gathering_statistics(model, split, batch_size=3)
    assert set(uniform) == {"layer2.2.attn", "layer3.2.attn"}
    for stats in uniform.values():
        assert stats["mean_entropy"] == pytest.approx(stats["uniform_entropy"], abs=1e-4)
        assert stats["peak_over_uniform"] == pytest.approx(1.0, abs=1e-4)
    with torch.no_grad():
        for block in blocks:  # large logits: maps concentrate on few positions
            block.theta.weight.normal_(0, 5.0)
    sharp = gathering_statistics(model, split)
    for name, stats in sharp.items():
        assert stats["mean_entropy"] < stats["uniform_entropy"] - 1
        assert stats["sharpest_descriptor"] <= stats["mean_entropy"]
        assert stats["peak_over_uniform"] > 3


def test_a_recipe_from_before_a_field_existed_is_the_same_recipe():
    # The shipped CIFAR-10 files predate Recipe's zoo/crop/mean/std fields; the GSoP retrain's has them,
    # at their defaults. One recipe, as the checkpoint's resume rule (train.same_recipe) also says.
    from a2core.training.card import _recipe_section

    full = asdict(Recipe())
    old = {k: v for k, v in full.items() if k not in ("zoo", "crop", "crop_scale", "stored_size", "mean", "std")}
    metas = {"resnet": ModelMeta(arch="resnet", classes=("a", "b"), recipe=old), "gsop_resnet": ModelMeta(arch="gsop_resnet", classes=("a", "b"), recipe=full)}
    section = _recipe_section(metas)
    assert section.startswith("Every arch was trained with the same recipe") and "| crop | window |" in section
    metas["gsop_resnet"] = ModelMeta(arch="gsop_resnet", classes=("a", "b"), recipe={**full, "crop": "resize"})
    assert _recipe_section(metas).startswith("The archs were trained with different recipes")


def _row(arch: str, top1: float) -> ZooRow:
    return ZooRow(arch, top1 / 100, 1966, 1, 1, 1.0, 1.0, 32, 160)


def _log(arch: str, core_hours: float) -> TrainingLog:
    return TrainingLog(arch, 40, 3600.0, 100.0, 0.9, 0.9, cpu_seconds=3600 * core_hours)


def test_the_photo_cards_targets_are_checked_against_its_measurements():
    targets = ZOO_CARD["imagenette"].targets
    sharp = {"positions": 400, "mean_entropy": 2.9, "uniform_entropy": 5.99}
    flat = {"positions": 100, "mean_entropy": 4.5, "uniform_entropy": 4.61}
    rows = [_row("resnet", 87.95), _row("a2_resnet", 87.54), _row("eca_resnet", 86.83)]
    text = targets_markdown(rows, targets, {"layer2.1.attn": sharp, "layer3.1.attn": flat},
                            {r.arch: _log(r.arch, 2.5) for r in rows})
    rows = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| ")}
    assert rows["| `a2_resnet` ≥ 88 % top-1"].endswith("87.54 % | **missed** by 0.46 points |")
    assert rows["| `a2_resnet` at most 0.5 points below `resnet`"].endswith("-0.41 points | **met** |")
    assert rows["| every arch of the first 7 ≥ 85 % top-1"].endswith("`eca_resnet`, 86.83 % | **met** |")
    entropy = "mean gathering entropy ≥ 0.3 nats below log L"
    assert rows[f"| `layer2.1.attn`: {entropy}"].endswith("3.09 nats below | **met** |")
    assert "**missed** by 0.19 nats" in rows[f"| `layer3.1.attn`: {entropy}"]
    budget = rows["| the 7 runs together ≤ 12 one-core hours"]
    assert budget.endswith("7.50 one-core hours for 3 of 7 archs | **met** so far |")
    series = ", ".join(f"`{a}`" for a in a2core.models.SERIES_ARCHS)
    assert f"Not measured yet (no weight file): `se_resnet`, `nl_resnet`, `gc_resnet`, `gsop_resnet`, {series}." in text
    assert targets.tried in text  # a missed target says what was tried


def test_a_card_whose_targets_all_hold_says_nothing_of_what_was_tried():
    targets = ZOO_CARD["imagenette"].targets
    text = targets_markdown([_row(a, 90.0) for a in ("resnet", "a2_resnet")], targets, {}, {})
    assert "**missed**" not in text and targets.tried not in text
    assert "**missed**" not in targets_markdown([_row("resnet", 90.0)], ZOO_CARD["cifar10"].targets, {}, {})


@pytest.mark.parametrize("zoo", ["cifar10", "imagenette"])
def test_each_series_arch_is_checked_against_84_percent_and_the_plain_resnet(zoo):
    targets = ZOO_CARD[zoo].targets
    rows = [_row("resnet", 88.0), _row("cc_resnet", 88.18), _row("cbam_resnet", 85.5), _row("bam_resnet", 83.9)]
    text = targets_markdown(rows, targets, {}, {})
    lines = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| `")}
    rule = "≥ 84 % top-1 and at most 2 points below `resnet`"
    assert lines[f"| `cc_resnet` {rule}"].endswith("| 88.18 %, +0.18 points against `resnet` | **met** |")
    # 85.5 % clears 84 % but is 2.5 points under the plain ResNet; 83.9 % misses both, by 0.1 and 2.1 points:
    # the verdict is the larger shortfall, what the arch lacks to meet both
    assert lines[f"| `cbam_resnet` {rule}"].endswith("| **missed** by 0.50 points |")
    assert lines[f"| `bam_resnet` {rule}"].endswith("| **missed** by 2.10 points |")
    assert targets.tried not in text or not targets.tried  # the first seven's story is not told for these
    assert "`sk_resnet`" in text.split("Not measured yet")[1]
    # a card with no series weights and no other target yet says that nothing can be checked
    if zoo == "cifar10":
        assert "No target can be checked yet." in targets_markdown([_row("resnet", 88.0)], targets, {}, {})


def test_the_budget_target_counts_every_runs_cpu_time():
    targets = ZOO_CARD["imagenette"].targets
    logs = {a: _log(a, 1.75) for a in a2core.ARCHS}  # 12.25 one-core hours
    text = targets_markdown([_row(a, 88.0) for a in a2core.ARCHS], targets, {}, logs)
    assert "| 12.25 one-core hours for 7 of 7 archs | **missed** by 0.25 hours |" in text
    logs["gsop_resnet"] = _log("gsop_resnet", 1.5)
    assert "| 12.00 one-core hours for 7 of 7 archs | **met** |" in targets_markdown(
        [_row(a, 88.0) for a in a2core.ARCHS], targets, {}, logs)
    # the series' runs are counted on their own line, outside the seven's budget
    logs |= {a: _log(a, 2.0) for a in a2core.models.SERIES_ARCHS[:2]}
    text = targets_markdown([_row(a, 88.0) for a in a2core.models.ALL_ARCHS], targets, {}, logs)
    assert "| the 7 runs together ≤ 12 one-core hours | 12.00 one-core hours for 7 of 7 archs | **met** |" in text
    assert "| the series' 6 runs together: no budget set | 4.00 one-core hours for 2 of 6 archs | |" in text
