"""Wall time of ``python -m a2core.metrics`` over a photo folder through every model of the photo zoo.

    python -m bench.metrics --data ../shared/data/imagenette       # the val photos with boxes, all seven models
    python -m bench.metrics --quick                                # two generated photos, random weights (CI)

Target: the 69 ``val/`` photos that have a box row, through all seven shipped models, in under 5 minutes on a
2-core machine, with the command's defaults (deletion/insertion included) and 2 torch threads. Run it on a
quiet machine: the time is the command's whole wall time (loading the models, decoding, scoring, bootstrap),
one run, in this process. Writes ``bench/results/metrics.json``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
from PIL import Image

from a2core.metrics.__main__ import main as metrics_main
from a2core.metrics.zoo import AUC_STEPS
from a2core.models import zoo_dir
from bench._util import parser, table, write_json

TARGET_S = 300.0


def _quick_data(root: Path) -> tuple[Path, Path, Path]:
    """Two random photos with a box each and random float16 weights of two archs: (data, boxes.csv, weights)."""
    from a2core import build, save_weights
    from a2core.training.data import IMAGENETTE_CLASSES
    from a2core.training.train import RECIPES

    classes = tuple(sorted(IMAGENETTE_CLASSES.values()))
    recipe = RECIPES["imagenette"]
    weights = root / "weights"
    for arch in ("a2_resnet", "nl_resnet"):
        torch.manual_seed(0)
        meta = {"arch": arch, "classes": classes, "input_size": recipe.input_size, "mean": recipe.mean,
                "std": recipe.std, "zoo": "imagenette"}
        save_weights(build(arch, len(classes), zoo="imagenette").eval(), weights / f"{arch}.safetensors", meta,
                     dtype=torch.float16)
    rng = np.random.default_rng(0)
    lines = ["split,class,file,orig_width,orig_height,x0,y0,x1,y1"]
    for name in classes[:2]:
        (root / "val" / name).mkdir(parents=True)
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(root / "val" / name / "0.png")
        lines.append(f"val,{name},0.png,64,64,8,8,40,48")
    (root / "boxes.csv").write_text("\n".join(lines) + "\n")
    return root / "val", root / "boxes.csv", weights


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data/imagenette"),
                   help="the photo data: DATA/val/<class>/*.jpg and DATA/boxes.csv")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.quick:
            data, boxes, weights = _quick_data(tmp)
        else:
            data, boxes, weights = args.data / "val", args.data / "boxes.csv", zoo_dir("imagenette")
        out = tmp / "attention.json"
        argv = ["--zoo", "imagenette", "--data", str(data), "--boxes", str(boxes), "--json", str(out),
                "--weights", str(weights), "--threads", str(args.threads)]
        argv += ["--auc-steps", "2", "--bootstrap", "50"] if args.quick else []
        start = time.perf_counter()
        status = metrics_main(argv)
        wall = time.perf_counter() - start
        if status:
            return status
        result = json.loads(out.read_text())
    row = {"photos": result["n_images"], "models": len(result["archs"]), "threads": args.threads,
           "auc_steps": result["auc_steps"] if not args.quick else 2, "wall_s": round(wall, 2),
           "per_photo_model_s": round(wall / (result["n_images"] * len(result["archs"])), 3),
           "target_s": TARGET_S, "met": wall < TARGET_S}
    print(table([row], [(k, k) for k in row]))
    path = write_json("metrics", {"rows": [row], "default_auc_steps": AUC_STEPS}, args.out, args.quick)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
