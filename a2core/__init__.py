"""a2core: attention blocks, the A²Lens model zoo, and the tools to look inside them.

    import a2core
    model = a2core.load_pretrained("a2_resnet")
    logits, maps = a2core.attention_maps(model, a2core.preprocess(image, model.meta))
"""

from .images import preprocess, to_rgb
from .models import ARCHS, attention_blocks, build
from .probe import attention_maps
from .weights import ModelMeta, WeightsError, load_pretrained, read_meta, save_weights

__all__ = [
    "ARCHS",
    "ModelMeta",
    "WeightsError",
    "attention_blocks",
    "attention_maps",
    "build",
    "load_pretrained",
    "preprocess",
    "read_meta",
    "save_weights",
    "to_rgb",
]
