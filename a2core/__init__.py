"""a2core: attention blocks, the A²Lens model zoo, and the tools to look inside them.

    import a2core
    model = a2core.load_pretrained("a2_resnet")
    logits, maps = a2core.attention_maps(model, a2core.preprocess(image, model.meta))

Your own model (timm or torchvision, weights in safetensors) works the same way:
``model = a2core.load_own_model(a2core.ModelSpec("timm", "ecaresnet26t", "my.safetensors"))``.
Whether a photo fits none of a zoo's classes: ``a2core.fits_none(image, zoo="imagenette")``.
"""

from .images import preprocess, to_rgb
from .models import ARCHS, ModelSpec, attention_blocks, build, load_own_model, load_pretrained
from .probe import attention_maps, grad_cam
from .probe.fits import fits_none
from .weights import ModelMeta, WeightsError, read_meta, save_weights

__all__ = [
    "ARCHS",
    "ModelMeta",
    "ModelSpec",
    "WeightsError",
    "attention_blocks",
    "attention_maps",
    "build",
    "fits_none",
    "grad_cam",
    "load_own_model",
    "load_pretrained",
    "preprocess",
    "read_meta",
    "save_weights",
    "to_rgb",
]
