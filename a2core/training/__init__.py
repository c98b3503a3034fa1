"""Making and measuring the zoos: data, the training loop, evaluation and the model card, seeds.

``data``: image folders as tensors and the augmentations; ``train``: the recipes and the loop
(``python -m a2core.training.train``); ``measure``: accuracy, size, compute and speed of each model;
``card``: the table and the model card written from those measurements; ``evaluate``: the command
that runs both (``python -m a2core.training.evaluate``); ``seeds``: runs of several seeds; ``zoo``:
the zoo's cost table for the Compare page.
May import every a2core package but figures; nothing in a2core imports training. All names below are
imported on first use (see ``a2core._lazy``): ``measure`` and ``card`` import ``train``, a command module.
"""

from .._lazy import lazy_exports

_EXPORTS = {
    "data": ("IMAGENETTE_CLASSES", "ImageFolderTensors", "class_names", "list_images"),
    "train": ("RECIPES", "Recipe", "train_arch", "zoo_of"),
    "measure": ("ZooRow", "count_flops", "count_params", "evaluate_accuracy", "measure_latency", "shipped_archs",
                "zoo_table", "gathering_statistics"),
    "card": ("markdown_table", "render_card"),
    "seeds": ("SeedRun", "seed_runs"),
    "zoo": ("zoo_rows",),
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
