"""Object boxes: read a box list and place its boxes on the model's square view of a photo.

The list has ``boxes.csv``'s columns, ``split,class,file,orig_width,orig_height,x0,y0,x1,y1``: one row a box,
corners in pixels of the original photo (``orig_width`` × ``orig_height``), x to the right, y down. A file of
another size W × H (a squeezed copy, or one resized keeping the aspect ratio) holds the box at
``x * W / orig_width``, ``y * H / orig_height``; the model sees the file's centred square crop
(:func:`a2core.images.model_view`), so a box becomes fractions of that square, clipped to it.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

COLUMNS = ("class", "file", "orig_width", "orig_height", "x0", "y0", "x1", "y1")


class BoxesError(ValueError):
    """A box list that cannot be read; the message says which row and why."""


def read_boxes(path: str | Path) -> dict[tuple[str, str], list[tuple[int, int, float, float, float, float]]]:
    """{(class, file): [(orig_width, orig_height, x0, y0, x1, y1), …]} from a CSV with ``boxes.csv``'s columns."""
    boxes: dict[tuple[str, str], list] = defaultdict(list)
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise BoxesError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
        for line, row in enumerate(reader, start=2):
            try:
                w, h = int(row["orig_width"]), int(row["orig_height"])
                x0, y0, x1, y1 = (float(row[k]) for k in ("x0", "y0", "x1", "y1"))
            except (TypeError, ValueError) as error:
                raise BoxesError(f"{path}, line {line}: {error}") from None
            if w <= 0 or h <= 0 or x1 < x0 or y1 < y0:
                raise BoxesError(f"{path}, line {line}: need positive sizes and x0 ≤ x1, y0 ≤ y1")
            boxes[(row["class"], row["file"])].append((w, h, x0, y0, x1, y1))
    return dict(boxes)


def view_boxes(rows, file_size: tuple[int, int]) -> np.ndarray:
    """(B, 4) boxes (x0, y0, x1, y1) as fractions of the centred square view of a file of ``file_size`` (W, H).

    rows: (orig_width, orig_height, x0, y0, x1, y1) as read by :func:`read_boxes`. Boxes are clipped to the
    view; a box wholly outside it is dropped.
    """
    width, height = file_size
    side = min(width, height)
    left, top = (width - side) / 2, (height - side) / 2
    out = []
    for ow, oh, x0, y0, x1, y1 in rows:
        sx, sy = width / ow, height / oh
        box = np.array([(x0 * sx - left) / side, (y0 * sy - top) / side,
                        (x1 * sx - left) / side, (y1 * sy - top) / side]).clip(0, 1)
        if box[2] > box[0] and box[3] > box[1]:
            out.append(box)
    return np.array(out).reshape(-1, 4)
