"""All attention maps of one image, as numpy arrays, and the command line that saves them.

    python -m a2core.probe.maps photo.jpg --arch a2_resnet --out maps/

writes ``maps.npz`` (every block's tensors, the model's view of the image and
the class probabilities) and, for each double attention block, its gathering
and distribution maps as PNG grids for slides.
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

    kind:         the block's class name, e.g. "DoubleAttention"
    feature_size: (h, w) of the feature map the block attends over
    params:       hyper-parameters such as m and n
    arrays:       {field of the block's maps: array}, e.g. gather (n, h, w)
    """

    name: str
    kind: str
    feature_size: tuple[int, ...]
    params: dict
    arrays: dict[str, np.ndarray]


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
            kind=type(blocks[name]).__name__,
            feature_size=feature_sizes[name],
            params={p: getattr(blocks[name], p) for p in _PARAMS if hasattr(blocks[name], p)},
            arrays=_numpy_fields(block_maps),
        )
        for name, block_maps in maps.items()
    }
    probs = logits[0].float().softmax(-1).numpy()
    return ImageMaps(meta.arch, size, np.asarray(view, dtype=np.uint8), tuple(meta.classes), probs, result)


def npz_arrays(result: ImageMaps) -> dict[str, np.ndarray]:
    """Flat {key: array} for ``np.savez``: ``image``, ``probs``, ``classes`` and ``<block>/<field>``.

    Class names are a unicode array, so ``np.load(..., allow_pickle=False)`` reads everything.
    """
    arrays = {"image": result.image, "probs": result.probs, "classes": np.array(result.classes, dtype=str)}
    for name, block in result.blocks.items():
        for field, array in block.arrays.items():
            arrays[f"{name}/{field}"] = array
    return arrays


def save_npz(result: ImageMaps, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **npz_arrays(result))
    return path


def save_figures(result: ImageMaps, out: str | Path, colormap: str = "viridis", alpha: float = 0.6) -> list[Path]:
    """PNG grids of gathering and distribution maps for every double attention block."""
    from ..figures import explore as figures  # matplotlib is only needed here
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m a2core.probe.maps", description=__doc__.split("\n\n")[0])
    parser.add_argument("image", type=Path, help="a JPEG, PNG, WebP, BMP or GIF file")
    parser.add_argument("--arch", default="a2_resnet")
    parser.add_argument("--weights", type=Path, default=None, help="a safetensors file (default: the shipped one)")
    parser.add_argument("--size", type=int, default=None, help="input size (default: the trained size)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNG files and maps.npz")
    parser.add_argument("--colormap", default="viridis")
    args = parser.parse_args(argv)

    from ..weights import load_pretrained

    try:
        image = load_image(args.image.read_bytes())
    except (OSError, ImageError) as error:
        print(f"error: {args.image}: {error}", file=sys.stderr)
        return 2
    model = load_pretrained(args.arch, args.weights)
    result = compute_maps(model, image, args.size)
    written = [save_npz(result, args.out / "maps.npz")]
    written += save_figures(result, args.out, colormap=args.colormap)
    print(", ".join(f"{c} {p:.1%}" for c, p in result.top(3)))
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
