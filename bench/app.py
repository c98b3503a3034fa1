"""How fast the Explore page answers: image bytes → all A² maps, and a click → the new distribution view.

    python -m bench.app                    # CIFAR-10 zoo, writes bench/results/app.json (~1 min)
    python -m bench.app --zoo imagenette   # photo zoo, writes bench/results/app_imagenette.json
    python -m bench.app --quick            # the sample image at the trained size only, few repeats (seconds)

The stages are the calls app/views/explore.py makes, for the page's model
(a2_resnet) of the zoo with its shipped weights (random weights when none are
shipped; the time does not depend on the values), on the page's default block
(the finest maps):

upload (a cache miss of ``run_probe``):
    decode    a2core.images.load_image(bytes)
    maps      a2core.probe.maps.compute_maps: centre crop, tensor, one forward pass, numpy arrays
    analysis  a2core.probe.analysis for every A² block: usage, entropy, order, the clicked
              cell's weights, top descriptors and implied attention
    figures   every plotly figure of the page for the selected (last) block, built with
              a2core.figures and serialised with plotly.io.to_json as st.plotly_chart does
click (the cached arrays re-sliced):
    view      position → cell, that cell's weights, top descriptors, implied attention,
              the distribution bars and the "receives" heatmap, serialised
    rerun     what a Streamlit rerun recomputes besides: the st.cache_data hit (unpickling
              the cached ImageMaps), the analysis and all the page's figures

"upload → maps" = decode + maps + analysis: the prediction and every map (target < 150 ms for a
12-megapixel JPEG at the trained size); "click → view" (target < 50 ms). Streamlit's own overhead and
the browser's rendering are not included. Images: the zoo's bundled sample the page opens with, and
(full mode) synthetic photos encoded as JPEG, as a phone upload would be.
"""

from __future__ import annotations

import io
import json
import pickle
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import plotly.io
import torch
from PIL import Image

import a2core
from a2core import figures
from a2core.figures import lens
from a2core.probe import analysis
from a2core.images import load_image
from a2core.models import ZOOS
from a2core.probe.maps import compute_maps
from a2core.training import RECIPES
from a2core.models import default_path
from a2core.weights import ModelMeta
from bench._util import median_time, parser, table, write_json

ARCH = "a2_resnet"
SAMPLES = Path(__file__).resolve().parents[1] / "assets" / "samples"
#: per zoo: the sample the page opens with, and the page's resolutions (the trained size first)
SAMPLE = {"cifar10": SAMPLES / "cat" / "val_0000.jpg",
          "imagenette": SAMPLES / "imagenette" / "English_springer" / "ILSVRC2012_val_00008162.jpg"}
SIZES = {"cifar10": (32, 64, 128), "imagenette": (160, 224, 320)}
FULL = {"photos": ((1280, 960), (4032, 3024)), "budget_s": 1.0, "min_repeats": 5, "warmup": 1}
QUICK = {"photos": (), "budget_s": 0.0, "min_repeats": 1, "warmup": 0}
TARGETS_MS = {"upload_to_maps": 150.0, "click_to_view": 50.0}
#: The page's defaults (app/views/explore.py).
OPACITY, COLORSCALE, SORT, POSITION = 0.6, "Viridis", "usage", (0.5, 0.5)


def load_model(zoo: str = "cifar10") -> tuple[torch.nn.Module, str]:
    if default_path(ARCH, zoo).is_file():
        return a2core.load_pretrained(ARCH, zoo=zoo), "shipped"
    recipe = RECIPES[zoo]
    model = a2core.build(ARCH, zoo=zoo).eval()
    model.meta = ModelMeta(arch=ARCH, classes=tuple(f"class {i}" for i in range(10)), input_size=recipe.input_size,
                           mean=recipe.mean, std=recipe.std, zoo=zoo)
    return model, "random (no shipped weights)"


def sample_bytes(zoo: str = "cifar10") -> tuple[str, bytes]:
    sample = SAMPLE[zoo]
    return f"sample {sample.parent.name}/{sample.name}", sample.read_bytes()


def photo_bytes(width: int, height: int) -> bytes:
    """A smooth, noisy RGB picture as a quality-90 JPEG: decodes like a photo, not like a flat image."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x / width, y / height, (x + y) / (width + height)], axis=-1) * 200
    pixels = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def analyse(block, position=POSITION) -> dict:
    """The numbers the page reads off one block's maps (explore.py, top of the page)."""
    gather, distribute = block.arrays["gather"], block.arrays["distribute"]
    cell = analysis.position_index(position, block.feature_size)
    return {
        "gather": gather, "distribute": distribute, "cell": cell,
        "usage": analysis.descriptor_usage(distribute),
        "entropy": analysis.gathering_entropy(gather),
        "order": analysis.descriptor_order(gather, distribute, SORT),
        "v_j": distribute[:, cell[0], cell[1]],
        "top": analysis.top_descriptors(distribute, cell, k=3),
        "receives": analysis.implied_attention(gather, distribute, cell),
    }


def analyse_all(probe) -> dict:
    return {name: analyse(block) for name, block in probe.double_attention_blocks().items()}


def serialised(fig) -> str:
    # st.plotly_chart sends the figure as plotly.io.to_json(fig, validate=False).
    return plotly.io.to_json(fig, validate=False)


def view_figures(image, a: dict) -> list[str]:
    """The lens a pin sends again (what a hover redraws in the browser): the block's maps, as JSON."""
    card = lens.a2_card(a["gather"], a["distribute"])
    return [json.dumps(lens.lens_data(image, [card], colorscale=COLORSCALE, opacity=OPACITY, layout="explore"))]


def page_figures(probe, a: dict) -> list[str]:
    """Every plotly figure of the Explore page for one block."""
    image, i = probe.image, int(a["top"][0])
    common = dict(opacity=OPACITY, colorscale=COLORSCALE, cols=4, tile=175)
    return view_figures(image, a) + [
        serialised(figures.topk_bars(probe.top(5))),
        serialised(figures.gathering_grid(image, a["gather"], a["order"], usage=a["usage"], entropy=a["entropy"],
                                          highlight=list(a["top"]), clickable=True, **common)),
        serialised(figures.heatmap_over_image(image, a["gather"][i], opacity=OPACITY, colorscale=COLORSCALE,
                                              label="gathering weight", size=260)),
        serialised(figures.heatmap_over_image(image, a["distribute"][i], opacity=OPACITY, colorscale=COLORSCALE,
                                              label="distribution weight", size=260)),
        serialised(figures.distribution_grid(image, a["distribute"], a["order"], usage=a["usage"],
                                             highlight=list(a["top"]), hover=False, **common)),
    ]


def click_view(probe, block_name: str, position=(0.3, 0.7)) -> list[str]:
    """A pin (a click on the lens): the new cell's weights and implied attention, and the lens sent again."""
    block = probe.double_attention_blocks()[block_name]
    gather, distribute = block.arrays["gather"], block.arrays["distribute"]
    cell = analysis.position_index(position, block.feature_size)
    a = {"cell": cell, "v_j": distribute[:, cell[0], cell[1]], "top": analysis.top_descriptors(distribute, cell, k=3),
         "receives": analysis.implied_attention(gather, distribute, cell), "gather": gather, "distribute": distribute}
    return view_figures(probe.image, a)


def bench_case(model, label: str, data: bytes, size: int, config: dict) -> dict:
    def timed(fn):
        return median_time(fn, budget_s=config["budget_s"], min_repeats=config["min_repeats"],
                           warmup=config["warmup"])["median_s"]

    image = load_image(data)
    probe = compute_maps(model, image, size)
    blocks = probe.double_attention_blocks()
    block_name = max(blocks, key=lambda name: blocks[name].feature_size)  # the page's default: the finest maps
    results = analyse_all(probe)
    cached = pickle.dumps(probe)

    def upload_to_maps():
        p = compute_maps(model, load_image(data), size)
        return p, analyse_all(p)

    def upload_to_page():
        p, a = upload_to_maps()
        return page_figures(p, a[block_name])

    def click_rerun():
        p = pickle.loads(cached)
        return page_figures(p, analyse(p.double_attention_blocks()[block_name]))

    stages = {
        "decode": timed(lambda: load_image(data)),
        "maps": timed(lambda: compute_maps(model, image, size)),
        "analysis": timed(lambda: analyse_all(probe)),
        "figures": timed(lambda: page_figures(probe, results[block_name])),
        "click_view": timed(lambda: click_view(probe, block_name)),
    }
    block = probe.double_attention_blocks()[block_name]
    return {
        "image": label, "bytes": len(data), "image_size": list(Image.open(io.BytesIO(data)).size), "size": size,
        "block": block_name, "feature_size": list(block.feature_size), "n": int(block.params["n"]),
        "stages_s": stages,
        "upload_to_maps_s": timed(upload_to_maps),
        "upload_to_page_s": timed(upload_to_page),
        "click_to_view_s": stages["click_view"],
        "click_rerun_s": timed(click_rerun),
    }


def run(config: dict) -> tuple[list[dict], str]:
    model, weights = load_model(config["zoo"])
    images = [sample_bytes(config["zoo"])] + [(f"synthetic {w}×{h} JPEG", photo_bytes(w, h)) for w, h in config["photos"]]
    rows = []
    with torch.no_grad():
        for label, data in images:
            for size in config["sizes"]:
                if label.startswith("synthetic") and size != config["sizes"][0]:
                    continue  # photos only at the default size: the crop does not depend on the photo
                rows.append(bench_case(model, label, data, size, config))
    for row in rows:
        row["targets_met"] = {
            "upload_to_maps": row["upload_to_maps_s"] * 1e3 < TARGETS_MS["upload_to_maps"],
            "click_to_view": row["click_to_view_s"] * 1e3 < TARGETS_MS["click_to_view"],
        }
    return rows, weights


def show(rows: list[dict]) -> None:
    ms = lambda s: f"{s * 1e3:.1f}"  # noqa: E731
    shown = [{**r, "px": r["size"], "decode": ms(r["stages_s"]["decode"]), "maps": ms(r["stages_s"]["maps"]),
              "analysis": ms(r["stages_s"]["analysis"]), "figures": ms(r["stages_s"]["figures"]),
              "up_maps": ms(r["upload_to_maps_s"]), "up_page": ms(r["upload_to_page_s"]),
              "click": ms(r["click_to_view_s"]), "rerun": ms(r["click_rerun_s"])} for r in rows]
    print(table(shown, [("image", "image"), ("px", "px"), ("decode", "decode"), ("maps", "maps"),
                        ("analysis", "analysis"), ("figures", "figures"), ("upload → maps", "up_maps"),
                        ("upload → page", "up_page"), ("click → view", "click"), ("click rerun", "rerun")]))
    print("(milliseconds, medians; targets: upload → maps < 150 ms for a 12-MP JPEG at the trained size, "
          "click → view < 50 ms)")


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--zoo", choices=ZOOS, default="cifar10")
    args = p.parse_args(argv)
    sizes = SIZES[args.zoo]
    config = {**(QUICK if args.quick else FULL), "zoo": args.zoo, "sizes": sizes[:1] if args.quick else sizes}
    rows, weights = run(config)
    payload = {"arch": ARCH, "zoo": args.zoo, "weights": weights, "config": config, "targets_ms": TARGETS_MS,
               "rows": rows}
    path = write_json("app" if args.zoo == "cifar10" else f"app_{args.zoo}", payload, args.out, args.quick)
    show(rows)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
