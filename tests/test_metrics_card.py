"""The shipped measured-attention tables say what the shipped JSON says: the model card's and the docs page's.

The JSON files beside the weights are written by ``python -m a2core.metrics``; the card's section and the
block of docs/measured-attention.md are generated from them (``python -m a2core.metrics.tables``). Here each
number of the card's tables is read back from the markdown and compared with the JSON row it names, so a hand
edit of either fails.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from a2core.metrics.tables import PAGE_BEGIN, SECTION, attention_section, page_tables
from a2core.weights import WEIGHTS_DIR

ROOT = Path(__file__).resolve().parents[1]
PHOTO = WEIGHTS_DIR / "imagenette"
CELL = re.compile(r"^(-?\d+\.\d+) \[(-?\d+\.\d+), (-?\d+\.\d+)\]")


def _json(folder: Path, split: str) -> dict:
    return json.loads((folder / f"attention_{split}.json").read_text())


def _section(card: str) -> str:
    start = card.index(SECTION)
    end = card.index("\n## ", start + 1)
    return card[start:end]


def _table_rows(text: str, first_header: str) -> list[list[str]]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def _check(cell: str, row: dict, score: str, digits: int) -> None:
    if score not in row:
        assert cell == "—", (cell, score)
        return
    mean, lo, hi = (float(v) for v in CELL.match(cell).groups())
    assert mean == pytest.approx(row[score], abs=0.5 * 10**-digits + 1e-12), (cell, row[score])
    assert (lo, hi) == (pytest.approx(row[f"{score}_ci"][0], abs=0.5 * 10**-digits + 1e-12),
                        pytest.approx(row[f"{score}_ci"][1], abs=0.5 * 10**-digits + 1e-12))


def test_cards_sections_are_generated_from_the_shipped_json():
    for folder in (PHOTO, WEIGHTS_DIR):  # the photo zoo's card, and the CIFAR-10 zoo's (query dependence only)
        section = attention_section(folder)
        assert section and section in (folder / "MODEL_CARD.md").read_text()


def test_photo_card_numbers_equal_the_json():
    card = _section((PHOTO / "MODEL_CARD.md").read_text())
    val, train = _json(PHOTO, "val"), _json(PHOTO, "train")
    by_key = {split: {(r["arch"], r["block"], r["map"]): r for r in data["results"]}
              for split, data in (("val", val), ("train", train))}
    rows = _table_rows(card, "map")
    assert len(rows) >= 7 * 1 + 2  # every model's Grad-CAM and the two priors at least
    checked = 0
    for cells in rows:
        label = re.findall(r"`([^`]+)`", cells[0])
        if cells[0].startswith("prior"):
            key = (val["archs"][0], "view", label[0])
        else:
            key = tuple(label)
        for split, (energy, pointing) in (("val", cells[2:4]), ("train", cells[4:6])):
            row = by_key[split][key]
            _check(energy, row, "box_energy", 2)
            _check(pointing, row, "pointing", 2)
            checked += 2
        _check(cells[6], by_key["val"][key], "deletion_auc", 2)
        _check(cells[7], by_key["val"][key], "insertion_auc", 2)
    assert checked == 4 * len(rows)
    # The query-dependence table: every row of the JSON that has one, with its interval.
    qd_rows = _table_rows(card, "zoo")
    expected = [r for r in val["results"] if "query_dependence" in r]
    assert len(qd_rows) == len(expected)
    for cells in qd_rows:
        arch, block = re.findall(r"`([^`]+)`", cells[1] + cells[2])[:2]
        (row,) = [r for r in expected if (r["arch"], r["block"]) == (arch, block)]
        _check(cells[4], row, "query_dependence", 3)


def test_docs_block_is_generated_from_the_shipped_json():
    page = (ROOT / "docs" / "measured-attention.md").read_text()
    assert PAGE_BEGIN in page
    assert page_tables(PHOTO, WEIGHTS_DIR) in page
    # Both zoos' query dependence are in it.
    assert "| imagenette | `nl_resnet` |" in page and "| cifar10 | `nl_resnet` |" in page
    cifar = _json(WEIGHTS_DIR, "val")
    assert cifar["zoo"] == "cifar10" and cifar["n_boxed"] == 0
