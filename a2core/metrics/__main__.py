"""Measure where every model of a zoo attends: ``python -m a2core.metrics``.

    python -m a2core.metrics --zoo imagenette --data DIR --boxes CSV --json OUT
    python -m a2core.metrics --zoo cifar10 --data DIR --limit 50 --auc-steps 0 --json OUT

DIR holds one folder per class (as ``imagenette/val``); CSV has ``boxes.csv``'s columns, rows matched by class
and file. With a box list only the photos that have a box row are scored (``--photos all`` scores every photo,
and the box scores skip those without one). OUT gets ``{"n_images": N, "results": [...]}``, one row per
(arch, block, map): box energy, pointing game, deletion and insertion AUC and query dependence, each a mean
over the photos with its 95 % bootstrap interval. ``--card`` then rewrites the *Measured attention* section of
that model card from the JSON files beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from ..images import ImageError, load_image
from ..models import ALL_ARCHS, ZOOS, archs_with_weights, load_pretrained, zoo_dir
from ..training.data import list_images
from .boxes import BoxesError, read_boxes, view_boxes
from .zoo import AUC_STEPS, BOOTSTRAP, score_photo, summarise


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m a2core.metrics", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--zoo", choices=ZOOS, default="imagenette")
    parser.add_argument("--data", type=Path, required=True, help="one folder per class, e.g. imagenette/val")
    parser.add_argument("--boxes", type=Path, help="a CSV with boxes.csv's columns (omit: no box scores)")
    parser.add_argument("--json", type=Path, required=True, help="write the results here")
    parser.add_argument("--weights", type=Path, help="folder with <arch>.safetensors (default: the zoo's shipped)")
    parser.add_argument("--archs", default="all", help="comma list, or 'all' (every arch with a weight file)")
    parser.add_argument("--photos", choices=("boxed", "all"), help="photos scored (default: boxed with --boxes)")
    parser.add_argument("--limit", type=int, help="at most this many photos of each class (in file-name order)")
    parser.add_argument("--auc-steps", type=int, default=AUC_STEPS,
                        help=f"deletion/insertion curve steps (default {AUC_STEPS}; 0 skips them)")
    parser.add_argument("--bootstrap", type=int, default=BOOTSTRAP, help="bootstrap resamples for the intervals")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--card", type=Path, help="rewrite this model card's Measured attention section")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    weights = args.weights or zoo_dir(args.zoo)
    archs = list(archs_with_weights(weights)) if args.archs == "all" else [
        a.strip() for a in args.archs.split(",")]
    unknown = [a for a in archs if a not in ALL_ARCHS]
    if unknown:
        parser.error(f"unknown arch {', '.join(unknown)}; choose from {', '.join(ALL_ARCHS)}")
    if not archs:
        parser.error(f"no weight files in {weights}")
    if not args.data.is_dir():
        parser.error(f"no folder {args.data}")
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        boxes = read_boxes(args.boxes) if args.boxes else None
        models = [load_pretrained(a, weights / f"{a}.safetensors") for a in archs]
    except (OSError, BoxesError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    classes = models[0].meta.classes
    items = []
    for label, name in enumerate(classes):  # a folder may hold some of the classes only
        with contextlib.suppress(FileNotFoundError):
            items += [(path, label) for path, _ in list_images(args.data, (name,), args.limit)]
    photos_mode = args.photos or ("boxed" if boxes is not None else "all")
    photos = []  # (image, label, boxes as fractions of the view or None, name)
    for path, label in items:
        rows = boxes.get((classes[label], path.name)) if boxes is not None else None
        if photos_mode == "boxed" and not rows:
            continue
        try:
            image = load_image(path.read_bytes())
        except (OSError, ImageError) as error:
            print(f"skipped {path}: {error}", file=sys.stderr)
            continue
        photos.append((image, label, view_boxes(rows, image.size) if rows else None, f"{classes[label]}/{path.name}"))
    if not photos:
        print(f"error: no photos to score in {args.data}" + (" with a box row" if photos_mode == "boxed" else ""),
              file=sys.stderr)
        return 2

    records = []
    bar = tqdm(total=len(models) * len(photos), unit="photo", disable=args.no_progress)
    for model in models:
        bar.set_description(model.meta.arch)
        for i, (image, label, view, _) in enumerate(photos):
            records += score_photo(model, image, label, i, view, args.auc_steps)
            bar.update()
    bar.close()
    out = {
        "zoo": args.zoo,
        "data": args.data.name if args.data.name else str(args.data),
        "n_images": len(photos),
        "n_boxed": sum(p[2] is not None for p in photos),
        "archs": archs,
        "photos_scored": photos_mode,
        "limit": args.limit,
        "auc_steps": args.auc_steps,
        "bootstrap": {"resamples": args.bootstrap, "level": 0.95, "seed": 0},
        "photos": [p[3] for p in photos],
        "results": summarise(records, args.bootstrap),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(out['results'])} rows, {len(photos)} photos ({out['n_boxed']} with boxes) → {args.json}")
    if args.card:
        from .tables import update_card

        update_card(args.card)
        print(f"model card section → {args.card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
