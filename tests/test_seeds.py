"""Runs that differ only in the seed: found on disk, summarised, the median rule, and the card's section."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
from tiny_folder import make_image_folder

from a2core import ModelMeta, build, load_pretrained, save_weights
from a2core.training.data import class_names
from a2core.training.card import seeds_markdown
from a2core.training.evaluate import main
from a2core.training.measure import evaluate_accuracy
from a2core.training.seeds import SeedRun, median_index, seed_runs, spread
from a2core.training.train import Recipe


def test_median_index_picks_the_middle_run_not_the_best():
    assert median_index([0.875, 0.880, 0.871]) == 0
    assert median_index([0.9]) == 0
    assert median_index([0.4, 0.1, 0.3, 0.2]) == 3  # even count: the lower of the two middle ones
    with pytest.raises(ValueError):
        median_index([])


def test_spread_is_mean_and_sample_sd():
    assert spread([0.5]) == (0.5, 0.0)
    mean, sd = spread([0.1, 0.3])
    assert mean == pytest.approx(0.2) and sd == pytest.approx(0.02 ** 0.5)


def _save(path: Path, arch: str, seed: int, accuracy: float, classes=tuple(f"class{k}" for k in range(10))):
    torch.manual_seed(seed)
    recipe = asdict(Recipe(epochs=3, early_fraction=0.0, seed=seed))
    meta = ModelMeta(arch=arch, classes=classes, recipe=recipe, val_accuracy=accuracy)
    save_weights(build(arch, len(classes)), path, meta)


def test_seed_runs_finds_the_shipped_run_and_the_others_in_seed_order(tmp_path):
    _save(tmp_path / "resnet.safetensors", "resnet", 1, 0.7)
    _save(tmp_path / "seeds" / "seed2" / "resnet.safetensors", "resnet", 2, 0.6)
    _save(tmp_path / "seeds" / "seed0" / "resnet.safetensors", "resnet", 0, 0.8)
    _save(tmp_path / "seeds" / "seed0" / "a2_resnet.safetensors", "a2_resnet", 0, 0.5)

    runs = seed_runs("resnet", tmp_path)
    assert [(r.seed, r.shipped, r.val_accuracy) for r in runs] == [(0, False, 0.8), (1, True, 0.7), (2, False, 0.6)]
    assert runs[median_index([r.val_accuracy for r in runs])].shipped
    # An arch with no shipped file still lists its other runs; one with none at all lists nothing.
    assert [(r.seed, r.shipped) for r in seed_runs("a2_resnet", tmp_path)] == [(0, False)]
    assert seed_runs("se_resnet", tmp_path) == []


def _run(arch, seed, shipped):
    return SeedRun(arch, seed, Path(f"{arch}-{seed}"), 0.0, shipped)


def test_seeds_markdown_marks_the_shipped_run_and_flags_a_best_of_n():
    seeds = {
        "resnet": [(_run("resnet", 0, True), 0.880), (_run("resnet", 1, False), 0.876),
                   (_run("resnet", 2, False), 0.884)],
        "a2_resnet": [(_run("a2_resnet", 0, False), 0.875), (_run("a2_resnet", 1, False), 0.878),
                      (_run("a2_resnet", 2, True), 0.886)],
    }
    text = seeds_markdown(seeds)
    rows = [[c.strip() for c in line.strip("|").split("|")]
            for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[1:4] == [["resnet", "0", "88.00", "yes"], ["resnet", "1", "87.60", ""], ["resnet", "2", "88.40", ""]]
    assert rows[4] == ["resnet", "mean ± sd of 3", "88.00 ± 0.40", ""]
    # a2_resnet ships its best run, not its median: the card says so.
    assert rows[7] == ["a2_resnet", "2", "88.60", "yes, **not the median run**"]
    assert rows[8][2].startswith("87.97 ±")
    # Difference of the means with its standard error: sqrt(sd_a²/3 + sd_b²/3).
    sd_a = spread([0.875, 0.878, 0.886])[1]
    se = 100 * ((sd_a ** 2 + 0.004 ** 2) / 3) ** 0.5
    assert f"`a2_resnet` − `resnet`, means over seeds: -0.03 points (standard error {se:.2f})" in text
    assert seeds_markdown({}) == "Every arch was trained with one seed only."


@pytest.mark.slow
def test_card_measures_every_seed_run(tmp_path):
    """End to end: the CLI evaluates the extra runs itself and counts their training time apart."""
    data = make_image_folder(tmp_path / "data")
    classes = class_names(data / "train")
    weights = tmp_path / "weights"
    for arch in ("resnet", "a2_resnet"):
        _save(weights / f"{arch}.safetensors", arch, 0, 0.1, classes)
    for seed in (1, 2):
        _save(weights / "seeds" / f"seed{seed}" / "a2_resnet.safetensors", "a2_resnet", seed, 0.1, classes)
        log = weights / "seeds" / f"seed{seed}" / "logs" / "a2_resnet.jsonl"
        log.parent.mkdir(parents=True)
        log.write_text(json.dumps({"arch": "a2_resnet", "seed": seed, "epoch": 1, "seconds": 1800.0,
                                   "images_per_s": 500.0, "val_acc": 0.1}) + "\n")
    card = tmp_path / "MODEL_CARD.md"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            main(["--data", str(data), "--weights", str(weights), "--warmup", "1", "--repeats", "3",
                  "--no-progress", "--card", str(card), "--hardware", "a test machine"])
    finally:
        torch.set_num_threads(threads)
    text = card.read_text()
    seeds = text.split("## Seeds")[1].split("##")[0]
    for seed in (0, 1, 2):
        name = "a2_resnet.safetensors" if seed == 0 else f"seeds/seed{seed}/a2_resnet.safetensors"
        accuracy = evaluate_accuracy(load_pretrained("a2_resnet", weights / name), data / "val", progress=False)
        assert f"| a2_resnet | {seed} | {100 * accuracy:.2f} |" in seeds
    assert "| resnet |" not in seeds  # one run only: not part of the seed table
    assert "| seed | 0 |" in text  # both shipped runs are seed 0: the recipe table needs no exceptions
    assert "The 2 further runs of *Seeds* took 1.00 more hours" in text
    assert ("--data DIR --epochs 3 --seed K --out assets/weights/seeds/seedK` for K = 0, 1, 2; then, per arch, "
            "the median run's weight file and log go to `assets/weights/` and the others stay in "
            "`assets/weights/seeds/seed<k>/`.") in text
