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


#: The most boxes one view holds (a drawn list, a link's, a photo's own): enough for any photo of the data sets
#: here (boxes.csv's most is 8), few enough that a tampered link cannot make the browser score thousands.
MAX_VIEW_BOXES = 16


def check_view_boxes(boxes, max_boxes: int = MAX_VIEW_BOXES) -> np.ndarray:
    """(K, 4) float64 boxes (x0, y0, x1, y1), fractions of the view, from anything array-like, or ValueError.

    The boxes a user draws, a link names or a page sends back are untrusted: each must be four finite numbers
    in [0, 1] with x0 < x1 and y0 < y1 (a box with area), and there are at most ``max_boxes`` of them.
    An empty list gives (0, 4).
    """
    try:
        b = np.asarray(boxes, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("boxes must be numbers") from None
    if b.size == 0:
        return np.zeros((0, 4))
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"boxes must be rows of four numbers (x0, y0, x1, y1), got shape {b.shape}")
    if len(b) > max_boxes:
        raise ValueError(f"at most {max_boxes} boxes, got {len(b)}")
    if not np.all(np.isfinite(b)) or np.any(b < 0) or np.any(b > 1):
        raise ValueError("a box's corners are fractions of the view, between 0 and 1")
    if np.any(b[:, 2] <= b[:, 0]) or np.any(b[:, 3] <= b[:, 1]):
        raise ValueError("a box needs x0 < x1 and y0 < y1")
    return b


def sample_rows(boxes_csv: str | Path, samples: str | Path) -> list[dict[str, str]]:
    """The rows of ``boxes_csv`` (``boxes.csv``'s columns) for the photos under ``samples`` (``<class>/<file>``),
    in the CSV's order, unchanged: the boxes shipped beside the app's samples (``boxes.csv`` there)."""
    root = Path(samples)
    shipped = {(p.parent.name, p.name) for p in root.glob("*/*") if p.is_file()}
    with open(boxes_csv, newline="") as f:
        return [row for row in csv.DictReader(f) if (row["class"], row["file"]) in shipped]


def write_sample_boxes(boxes_csv: str | Path, samples: str | Path, out: str | Path | None = None) -> Path:
    """Write :func:`sample_rows` to ``out`` (default ``<samples>/boxes.csv``) with the source's columns → the path.

    ``python -m a2core.metrics.boxes BOXES_CSV SAMPLES_DIR`` runs it (how ``assets/samples/imagenette/boxes.csv``
    was made from ``../shared/data/imagenette/boxes.csv``).
    """
    out = Path(out) if out is not None else Path(samples) / "boxes.csv"
    with open(boxes_csv, newline="") as f:
        fields = csv.DictReader(f).fieldnames
    rows = sample_rows(boxes_csv, samples)
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 3:
        sys.exit("usage: python -m a2core.metrics.boxes BOXES_CSV SAMPLES_DIR   (writes SAMPLES_DIR/boxes.csv)")
    print(write_sample_boxes(sys.argv[1], sys.argv[2]))
