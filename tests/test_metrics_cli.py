"""``python -m a2core.metrics`` end to end on random photo-zoo weights and a few generated photos with boxes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from a2core.metrics.__main__ import main
from a2core.metrics.tables import SECTION, attention_section, update_card
from a2core.metrics.zoo import summarise
from bench.zoo_weights import write_photo_weights

pytestmark = pytest.mark.slow  # the metrics command over photo-zoo models

CLASSES = ("tench", "church")
#: (class, file, orig_width, orig_height, x0, y0, x1, y1): one box a photo, two on the last; photo 2 has none.
BOXES = [
    ("tench", "0.png", 500, 375, 50, 75, 250, 300),
    ("tench", "1.png", 400, 400, 0, 0, 200, 400),
    ("church", "0.png", 333, 500, 33.3, 0, 333, 250),
    ("church", "0.png", 333, 500, 0, 400, 100, 500),
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("metrics")
    weights = write_photo_weights(root / "w", archs=("a2_resnet", "gc_resnet")) / "imagenette"
    rng = np.random.default_rng(0)
    for name in CLASSES:
        (root / "val" / name).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(root / "val" / name / f"{i}.png")
    lines = ["split,class,file,orig_width,orig_height,x0,y0,x1,y1"]
    lines += [",".join(["val", *map(str, b)]) for b in BOXES]
    (root / "boxes.csv").write_text("\n".join(lines) + "\n")
    return root, weights


def _run(root, weights, *extra) -> dict:
    out = root / f"out{len(extra)}.json"
    argv = ["--zoo", "imagenette", "--data", str(root / "val"), "--boxes", str(root / "boxes.csv"),
            "--json", str(out), "--weights", str(weights), "--auc-steps", "2", "--bootstrap", "50",
            "--no-progress", *extra]
    assert main(argv) == 0
    return json.loads(out.read_text())


def _row(result, arch, block, name):
    (row,) = [r for r in result["results"] if (r["arch"], r["block"], r["map"]) == (arch, block, name)]
    return row


def test_command_scores_the_boxed_photos(setup):
    root, weights = setup
    result = _run(root, weights)
    assert result["n_images"] == result["n_boxed"] == 3  # church/1.png has no box row
    assert result["archs"] == ["a2_resnet", "gc_resnet"]
    # A uniform map scores the boxes' area fraction; the view is the whole (square) file.
    areas = [0.4 * 0.6, 0.5 * 1.0, 0.9 * 0.5 + 100 / 333 * 0.2]  # church's two boxes do not overlap
    uniform = _row(result, "a2_resnet", "view", "uniform")
    assert uniform["box_energy"] == pytest.approx(np.mean(areas))
    assert uniform["box_energy_n"] == 3
    gather = _row(result, "a2_resnet", "layer3.1.attn", "gather")
    for score in ("box_energy", "pointing", "deletion_auc", "insertion_auc"):
        lo, hi = gather[f"{score}_ci"]
        assert lo <= gather[score] <= hi
    assert gather["grid"] == "10×10"  # the zoo's 160 px view, stride 16
    # Deletion is measured on the Grad-CAM's grid only (layer3), not on layer2's 20×20 maps.
    assert "deletion_auc" not in _row(result, "a2_resnet", "layer2.1.attn", "gather")
    rows = _row(result, "a2_resnet", "layer2.1.attn", "rows")
    assert 0 < rows["query_dependence"] < 1 and rows["query_dependence_n"] == 3
    assert _row(result, "gc_resnet", "layer3.1.attn", "context")["query_dependence"] == pytest.approx(0, abs=1e-9)
    assert _row(result, "gc_resnet", "layer3", "gradcam")["kind"] == "GradCAM"
    assert len([r for r in result["results"] if r["map"].startswith("gather_")]) == 16 + 32


def test_all_photos_skips_the_unboxed_one_for_box_scores(setup):
    root, weights = setup
    result = _run(root, weights, "--photos", "all", "--archs", "a2_resnet")
    assert (result["n_images"], result["n_boxed"]) == (4, 3)
    rows = _row(result, "a2_resnet", "layer2.1.attn", "rows")
    assert rows["box_energy_n"] == 3 and rows["query_dependence_n"] == 4
    assert _row(result, "a2_resnet", "layer3", "gradcam")["deletion_auc_n"] == 4


def test_bad_input_gets_a_clear_message(setup, tmp_path, capsys):
    root, weights = setup
    bad = tmp_path / "bad.csv"
    bad.write_text("class,file\n")
    assert main(["--data", str(root / "val"), "--boxes", str(bad), "--json", str(tmp_path / "o.json"),
                 "--weights", str(weights), "--no-progress"]) == 2
    assert "missing column" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--data", str(root / "val"), "--json", str(tmp_path / "o.json"), "--archs", "vgg"])
    with pytest.raises(SystemExit):
        main(["--data", str(tmp_path / "nowhere"), "--json", str(tmp_path / "o.json"), "--weights", str(weights)])


def test_card_section_is_generated_from_the_json(setup, tmp_path):
    root, weights = setup
    result = _run(root, weights)
    (tmp_path / "attention_val.json").write_text(json.dumps(result))
    card = tmp_path / "MODEL_CARD.md"
    card.write_text("# Card\n\n## Seeds\n\ntext\n\n## Reproduce\n\nsteps\n")
    update_card(card)
    text = card.read_text()
    assert text.index("## Seeds") < text.index(SECTION) < text.index("## Reproduce")
    assert attention_section(tmp_path) in text
    update_card(card)  # a second run replaces the section, it does not add one
    assert card.read_text() == text
    gather = _row(result, "a2_resnet", "layer3.1.attn", "gather")
    lo, hi = gather["box_energy_ci"]
    cell = f"{gather['box_energy']:.2f} [{lo:.2f}, {hi:.2f}]"
    assert f"| `a2_resnet` `layer3.1.attn` `gather` | 10×10 | {cell} |" in text


def test_summarise_bootstrap_and_missing_values():
    from a2core.metrics.zoo import Record

    values = [0.2, 0.4, np.nan, 0.6]
    records = [Record("a", "b", "K", "m", (2, 2), p, "box_energy", v) for p, v in enumerate(values)]
    records += [Record("a", "b", "K", "m", (2, 2), p, "pointing", 1.0) for p in range(4)]
    (row,) = summarise(records, resamples=2000)
    assert row["box_energy"] == pytest.approx(0.4) and row["box_energy_n"] == 3  # NaN left out
    lo, hi = row["box_energy_ci"]
    assert 0.2 <= lo < 0.4 < hi <= 0.6
    assert row["pointing_ci"] == [1.0, 1.0]


def test_table_cells_name_the_photos_when_a_score_covers_fewer():
    from a2core.metrics.tables import _ci

    row = {"box_energy": 0.5, "box_energy_ci": [0.4, 0.61], "box_energy_n": 36}
    assert _ci(row, "box_energy", photos=69) == "0.50 [0.40, 0.61] (36 photos)"
    assert _ci(row, "box_energy", photos=36) == "0.50 [0.40, 0.61]"
    assert _ci(row, "pointing") == "—"
