"""All attention maps of one image, as numpy arrays, and the command line that saves them.

    python -m a2core.probe.maps photo.jpg --arch a2_resnet --out maps/
    python -m a2core.probe.maps photo.jpg --timm ecaresnet26t --weights my.safetensors [--classes classes.txt] --out maps/
    python -m a2core.probe.maps photo.jpg --torchvision mobilenet_v3_large --weights my.safetensors --out maps/

writes ``maps.npz`` (every attention module's tensors, the model's view of the
image, the class probabilities and the Grad-CAM of the predicted class at the
layer holding the last attention module), for each double attention block its
gathering and distribution maps as PNG grids for slides, and ``gradcam.png``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..images import ImageError, load_image, model_view, to_tensor
from .taps import probing, tapped_blocks

#: Block hyper-parameters worth showing next to the maps, where a block has them.
_PARAMS = ("in_channels", "m", "n", "reduced_channels", "kernel_size", "order")
#: A picture "fits none" of a model's classes well when the most probable class gets less than this.
#: A classifier must spread all its probability over the classes it knows, so a coffee cup shown to a
#: model of ten classes still gets a "best" class; less than half the probability marks a guess.
FIT_THRESHOLD = 0.5


@dataclass(frozen=True)
class BlockMaps:
    """One attention block's maps for one image (batch dimension dropped).

    kind:         the A²Lens block its maps are those of, e.g. "DoubleAttention", "SqueezeExcitation"
    feature_size: (h, w) of the feature map the block attends over
    params:       hyper-parameters such as m and n
    arrays:       {field of the block's maps: array}, e.g. gather (n, h, w)
    module:       the module's own class, e.g. "timm.layers.eca.EcaModule" (A²Lens's blocks: kind's class)
    """

    name: str
    kind: str
    feature_size: tuple[int, ...]
    params: dict
    arrays: dict[str, np.ndarray]
    module: str = ""


@dataclass(frozen=True)
class ImageMaps:
    """A model's prediction and every attention map for one image.

    image: (S, S, 3) uint8, the view the model saw (maps are laid over it)
    probs: (num_classes,) softmax probabilities, in the order of ``classes``
    """

    arch: str
    size: int
    image: np.ndarray
    classes: tuple[str, ...]
    probs: np.ndarray
    blocks: dict[str, BlockMaps]

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        """The k most probable (class, probability), most probable first."""
        order = np.argsort(-self.probs, kind="stable")[:k]
        return [(self.classes[i], float(self.probs[i])) for i in order]

    def fits_none(self, threshold: float = FIT_THRESHOLD) -> bool:
        """Whether no class fits the image well: the top-1 probability is below ``threshold``.

        Only the model's output decides, so a confident answer on something outside the
        classes is still possible; a low one says the model found no class that fits.
        """
        return float(self.probs.max()) < threshold

    def block_like(self, name: str) -> BlockMaps | None:
        """The block ``name``, else this model's last block in the same stage (``layerK``), else None.

        The designs sit in different modules of a stage (``layer2.1.attn``, SK's ``layer2.1.conv1``, BAM's
        ``layer2.attn`` after the stage): a page that shows one stage of every model takes each model's last
        block of that stage, the one nearest ``name``'s place (the stage's last block).
        """
        if name in self.blocks:
            return self.blocks[name]
        stage = name.split(".")[0]
        alike = [b for key, b in self.blocks.items() if key.split(".")[0] == stage]
        return alike[-1] if alike else None

    def double_attention_blocks(self) -> dict[str, BlockMaps]:
        return {name: b for name, b in self.blocks.items() if b.kind == "DoubleAttention"}


def _numpy_fields(maps) -> dict[str, np.ndarray]:
    # Every tensor field of a block's maps dataclass, first image of the batch.
    arrays = {}
    for field in dataclasses.fields(maps):
        value = getattr(maps, field.name)
        if isinstance(value, torch.Tensor):
            arrays[field.name] = value[0].detach().float().cpu().numpy()
    return arrays


def compute_maps(model: torch.nn.Module, image: Image.Image, size: int | None = None) -> ImageMaps:
    """One forward pass of ``model`` (with ``model.meta``) on ``image`` at ``size`` → :class:`ImageMaps`."""
    meta = model.meta
    size = size or meta.input_size
    view = model_view(image, size)
    blocks = tapped_blocks(model)
    with torch.no_grad(), probing(model, maps=blocks) as probe:
        logits = model(to_tensor(view, meta.mean, meta.std).unsqueeze(0))
    # The maps of channel attention have no spatial size, so read it off the block's input.
    feature_sizes = {name: shape[2:] for name, shape in probe.shapes.items()}
    maps = probe.maps
    result = {
        name: BlockMaps(
            name=name,
            # The maps' dataclass names the design, also for another library's module read by an adapter.
            kind=type(block_maps).__name__.removesuffix("Maps"),
            feature_size=feature_sizes[name],
            params={p: getattr(blocks[name], p) for p in _PARAMS if hasattr(blocks[name], p)},
            arrays=_numpy_fields(block_maps),
            module=f"{type(blocks[name]).__module__}.{type(blocks[name]).__qualname__}",
        )
        for name, block_maps in maps.items()
    }
    probs = logits[0].float().softmax(-1).numpy()
    return ImageMaps(meta.arch, size, np.asarray(view, dtype=np.uint8), tuple(meta.classes), probs, result)


def npz_arrays(result: ImageMaps, extra: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Flat {key: array} for ``np.savez``: ``image``, ``probs``, ``classes``, ``<block>/<field>`` and ``extra``.

    Class names are a unicode array, so ``np.load(..., allow_pickle=False)`` reads everything.
    """
    arrays = {"image": result.image, "probs": result.probs, "classes": np.array(result.classes, dtype=str)}
    for name, block in result.blocks.items():
        for field, array in block.arrays.items():
            arrays[f"{name}/{field}"] = array
    return {**arrays, **(extra or {})}


def save_npz(result: ImageMaps, path: str | Path, extra: dict[str, np.ndarray] | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **npz_arrays(result, extra))
    return path


def save_figures(result: ImageMaps, out: str | Path, colormap: str = "viridis", alpha: float = 0.6) -> list[Path]:
    """PNG grids of gathering and distribution maps for every double attention block."""
    from .. import figures  # matplotlib is only needed here
    from . import analysis

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, block in result.double_attention_blocks().items():
        gather, distribute = block.arrays["gather"], block.arrays["distribute"]
        usage = analysis.descriptor_usage(distribute)
        entropy = analysis.gathering_entropy(gather)
        order = analysis.descriptor_order(gather, distribute, "usage")
        for kind, maps in (("gathering", gather), ("distribution", distribute)):
            titles = [f"d{i}  use {usage[i]:.1f}  H {entropy[i]:.2f}" for i in order]
            fig = figures.grid_matplotlib(
                result.image, maps[order], titles, colormap=colormap, alpha=alpha,
                suptitle=f"{result.arch} {name}: {kind} maps ({block.feature_size[0]}×{block.feature_size[1]})",
            )
            path = out / f"{name.replace('.', '_')}_{kind}.png"
            path.write_bytes(figures.to_png(fig))
            written.append(path)
    return written


def _load(args) -> torch.nn.Module:
    if args.timm or args.torchvision:
        from ..models.own import ModelSpec, load_own_model

        library, arch = ("timm", args.timm) if args.timm else ("torchvision", args.torchvision)
        return load_own_model(ModelSpec(library, arch, args.weights, args.classes, pretrained=args.pretrained))
    from ..models import load_pretrained

    return load_pretrained(args.arch, args.weights)


def gradcam_of_last_block(model: torch.nn.Module, result: ImageMaps, image: Image.Image,
                          target: int | None = None) -> dict[str, np.ndarray]:
    """Grad-CAM of ``target`` (default: the predicted class) at the layer holding the model's last attention
    module, as ``.npz`` entries: ``gradcam`` (h, w), ``gradcam_layer`` and ``gradcam_class``; {} without one."""
    from ..images import preprocess
    from .gradcam import grad_cam, holder_of

    if not result.blocks:
        return {}
    layer = holder_of(model, list(result.blocks)[-1])
    cams, classes = grad_cam(model, preprocess(image, model.meta, result.size), layer, target)
    return {"gradcam": cams[0], "gradcam_layer": np.array(layer), "gradcam_class": classes[:1]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m a2core.probe.maps", description=__doc__.split("\n\n")[0])
    parser.add_argument("image", type=Path, help="a JPEG, PNG, WebP, BMP or GIF file")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--arch", default="a2_resnet", help="a model of A²Lens's zoo (default: a2_resnet)")
    source.add_argument("--timm", metavar="NAME", help="your model: a timm architecture, e.g. ecaresnet26t")
    source.add_argument("--torchvision", metavar="NAME", help="your model: a torchvision one, e.g. mobilenet_v3_large")
    parser.add_argument("--weights", type=Path, default=None,
                        help="a safetensors file (default for --arch: the shipped one); never a pickle")
    parser.add_argument("--classes", type=Path, default=None, help="class names, one a line (--timm, --torchvision)")
    parser.add_argument("--pretrained", action="store_true",
                        help="with --timm or --torchvision and no --weights: the library's own weights (downloads)")
    parser.add_argument("--gradcam-class", type=int, default=None, help="class index Grad-CAM explains (default: "
                        "the predicted one)")
    parser.add_argument("--size", type=int, default=None, help="input size (default: the trained size)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNG files and maps.npz")
    parser.add_argument("--colormap", default="viridis")
    args = parser.parse_args(argv)

    try:
        image = load_image(args.image.read_bytes())
    except (OSError, ImageError) as error:
        print(f"error: {args.image}: {error}", file=sys.stderr)
        return 2
    try:
        model = _load(args)
    except (ImportError, ValueError, OSError) as error:  # WeightsError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.gradcam_class is not None and not 0 <= args.gradcam_class < len(model.meta.classes):
        print(f"error: --gradcam-class must be a class index from 0 to {len(model.meta.classes) - 1}", file=sys.stderr)
        return 2
    result = compute_maps(model, image, args.size)
    cam = gradcam_of_last_block(model, result, image, args.gradcam_class)
    written = [save_npz(result, args.out / "maps.npz", cam)]
    written += save_figures(result, args.out, colormap=args.colormap)
    if cam:
        from ..figures.gradcam import gradcam_matplotlib
        from ..figures.overlay import to_png

        name = result.classes[int(cam["gradcam_class"][0])]
        fig = gradcam_matplotlib(result.image, cam["gradcam"], colormap=args.colormap,
                                 title=f"{result.arch}: Grad-CAM of {name!r} at {cam['gradcam_layer']}")
        written.append(args.out / "gradcam.png")
        written[-1].write_bytes(to_png(fig))
    kinds = sorted({b.kind for b in result.blocks.values()})
    print(f"{result.arch}: {len(result.blocks)} attention modules ({', '.join(kinds) or 'none'})")
    print(", ".join(f"{c} {p:.1%}" for c, p in result.top(3)))
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
