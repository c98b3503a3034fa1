"""The boxes shipped beside the photo samples (``assets/samples/imagenette/boxes.csv``) and the check of a box list
that comes from a user, a link or the browser (``a2core.metrics.boxes``)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from a2core.metrics import boxes as box_list

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "assets" / "samples" / "imagenette"
#: The project's box list (BOXES.md beside it), where this machine has the shared data.
SOURCE = Path(os.environ.get("A2LENS_IMAGENETTE", ROOT.parent / "shared" / "data" / "imagenette")) / "boxes.csv"


def test_check_view_boxes_accepts_boxes_and_refuses_the_rest():
    good = box_list.check_view_boxes([[0.1, 0.2, 0.5, 0.9], [0, 0, 1, 1]])
    assert good.shape == (2, 4) and good.dtype == np.float64
    assert box_list.check_view_boxes([]).shape == (0, 4)
    bad = {
        "numbers": [["a", 0, 1, 1]],
        "four": [[0.1, 0.2, 0.5]],
        "between 0 and 1": [[0.1, 0.2, 1.5, 0.9]],
        "x0 < x1": [[0.5, 0.2, 0.5, 0.9]],
        "y0 < y1": [[0.1, 0.9, 0.5, 0.2]],
        "at most": [[0.1, 0.1, 0.2, 0.2]] * (box_list.MAX_VIEW_BOXES + 1),
    }
    for why, boxes in bad.items():
        with pytest.raises(ValueError, match=why):
            box_list.check_view_boxes(boxes)
    for nan in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="between 0 and 1"):
            box_list.check_view_boxes([[0.1, 0.1, nan, 0.5]])
    with pytest.raises(ValueError):
        box_list.check_view_boxes({"x0": 1})


def test_sample_rows_keep_the_rows_of_the_shipped_files_in_order(tmp_path):
    (tmp_path / "samples" / "tench").mkdir(parents=True)
    (tmp_path / "samples" / "tench" / "a.jpg").write_bytes(b"")
    (tmp_path / "samples" / "church").mkdir()
    (tmp_path / "samples" / "church" / "b.jpg").write_bytes(b"")
    source = tmp_path / "boxes.csv"
    source.write_text("split,class,file,orig_width,orig_height,x0,y0,x1,y1\n"
                      "val,tench,a.jpg,500,375,1,2,3,4\n"
                      "train,tench,c.jpg,500,375,1,2,3,4\n"  # not a sample
                      "val,church,a.jpg,500,375,1,2,3,4\n"  # a sample's name in another class
                      "val,church,b.jpg,400,300,5,6,7,8\n"
                      "val,tench,a.jpg,500,375,9,9,10,10\n")
    out = box_list.write_sample_boxes(source, tmp_path / "samples")
    assert out == tmp_path / "samples" / "boxes.csv"
    assert out.read_text().splitlines() == ["split,class,file,orig_width,orig_height,x0,y0,x1,y1",
                                            "val,tench,a.jpg,500,375,1,2,3,4", "val,church,b.jpg,400,300,5,6,7,8",
                                            "val,tench,a.jpg,500,375,9,9,10,10"]


def test_every_photo_sample_has_its_boxes_on_its_view():
    shipped = box_list.read_boxes(SAMPLES / "boxes.csv")
    photos = sorted(SAMPLES.glob("*/*.jpg"))
    assert len(photos) == 20
    assert set(shipped) == {(p.parent.name, p.name) for p in photos}  # all 20 come from ImageNet's val set
    for rows in shipped.values():
        for w, h, x0, y0, x1, y1 in rows:
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
        view = box_list.view_boxes(rows, (224, 224))  # the samples are 224×224 squeezed copies: the whole view
        assert len(view) == len(rows) and box_list.check_view_boxes(view).shape == (len(rows), 4)


def test_shipped_boxes_are_the_projects_rows_unchanged():
    # Read with the csv module on its own, not with sample_rows: the shipped file holds exactly the source's rows of
    # the sample files, in its order. The source is the project's shared data (not part of a clone).
    with open(SAMPLES / "boxes.csv", newline="") as f:
        shipped = list(csv.reader(f))
    assert shipped[0] == ["split", "class", "file", "orig_width", "orig_height", "x0", "y0", "x1", "y1"]
    assert all(row[0] == "val" for row in shipped[1:])
    if SOURCE.is_file():
        files = {f"{p.parent.name}/{p.name}" for p in SAMPLES.glob("*/*.jpg")}
        with open(SOURCE, newline="") as f:
            source = list(csv.reader(f))
        assert shipped == [source[0]] + [row for row in source[1:] if f"{row[1]}/{row[2]}" in files]
