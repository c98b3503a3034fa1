"""Your own model: a timm or torchvision architecture with your weights, ready for A²Lens.

    from a2core.models.own import ModelSpec, load_own_model
    model = load_own_model(ModelSpec("timm", "ecaresnet26t", weights="my.safetensors", classes="classes.txt"))
    logits, maps = a2core.attention_maps(model, a2core.preprocess(image, model.meta))

The architecture comes from the library by name, freshly initialised; the
weights come from a safetensors file (never a pickle) whose tensors must fit it
exactly. The file's header is checked against its length, and its tensors'
shapes against the architecture built on the meta device, before any tensor or
the model is allocated (:func:`a2core.weights.read_header`), so a hostile file costs no more
memory than itself. The number of classes is read off the file's classifier; their names
come from ``classes`` (a text file, one name a line), else from A²Lens metadata
in the file (``a2core.save_weights``), else ImageNet's names for a 1000-class
head, else ``class 0`` … ``class k-1``. The input size, mean and std are the
library's for that architecture. ``pretrained=True`` lets the library fetch its
own weights instead, which needs the internet (never used in tests).

``python -m a2core.probe.maps`` takes the spec from its command line, :meth:`ModelSpec.from_env` from
the environment (the app's server reads the same variables, confined to its model folder:
``app.sources.own``)::

    A2LENS_MODEL=timm:ecaresnet26t  A2LENS_MODEL_WEIGHTS=my.safetensors  A2LENS_MODEL_CLASSES=classes.txt

timm is an optional extra (``pip install -r requirements-timm.txt`` or
``pip install 'a2lens[timm]'``); torchvision is always there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .._compat import import_torchvision
from ..weights import ModelMeta, WeightsError, load_fitting, read_header, read_state

LIBRARIES = ("timm", "torchvision")
#: The environment variables of :meth:`ModelSpec.from_env`.
ENV_MODEL, ENV_WEIGHTS, ENV_CLASSES = "A2LENS_MODEL", "A2LENS_MODEL_WEIGHTS", "A2LENS_MODEL_CLASSES"
TIMM_MISSING = "timm is not installed: pip install -r requirements-timm.txt (or pip install 'a2lens[timm]')"
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelSpec:
    """Which model: ``library`` ("timm" or "torchvision"), its ``arch`` name, and where its weights are.

    weights: a safetensors file (path) or its bytes (an upload); None only with ``pretrained``.
    classes: a text file of class names, one a line, or the names themselves.
    """

    library: str
    arch: str
    weights: str | Path | bytes | None = None
    classes: str | Path | tuple[str, ...] | None = None
    pretrained: bool = False

    @property
    def name(self) -> str:
        """``library:arch``, e.g. ``timm:ecaresnet26t``: what :meth:`parse` reads back."""
        return f"{self.library}:{self.arch}"

    @staticmethod
    def parse(name: str) -> tuple[str, str]:
        """``"timm:ecaresnet26t"`` → ("timm", "ecaresnet26t"); raises ValueError for another form."""
        library, sep, arch = name.strip().partition(":")
        if not sep or library not in LIBRARIES or not arch:
            raise ValueError(f"a model is named library:arch with library one of {', '.join(LIBRARIES)}, "
                             f"e.g. timm:ecaresnet26t; got {name[:60]!r}{'…' if len(name) > 60 else ''}")
        return library, arch

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ModelSpec | None:
        """The spec in ``A2LENS_MODEL`` (library:arch), ``A2LENS_MODEL_WEIGHTS`` and ``A2LENS_MODEL_CLASSES``;
        None when ``A2LENS_MODEL`` is not set."""
        if not environ.get(ENV_MODEL):
            return None
        library, arch = cls.parse(environ[ENV_MODEL])
        return cls(library, arch, weights=environ.get(ENV_WEIGHTS) or None, classes=environ.get(ENV_CLASSES) or None)


def _timm():
    try:
        import timm
    except ImportError as error:
        raise ImportError(TIMM_MISSING) from error
    return timm


def _build(library: str, arch: str, num_classes: int | None = None, pretrained: bool = False) -> nn.Module:
    """A freshly initialised (or, with ``pretrained``, the library's own) ``arch``."""
    kwargs = {} if num_classes is None else {"num_classes": num_classes}
    if library == "timm":
        timm = _timm()
        if not timm.is_model(arch):
            close = timm.list_models(f"*{arch}*")[:8]
            raise ValueError(f"timm has no model {arch!r}" + (f"; close: {', '.join(close)}" if close else ""))
        return timm.create_model(arch, pretrained=pretrained, **kwargs)
    if library == "torchvision":
        models = import_torchvision().models
        if arch not in models.list_models(module=models):
            raise ValueError(f"torchvision has no classification model {arch!r}")
        return models.get_model(arch, weights="DEFAULT" if pretrained else None, **kwargs)
    raise ValueError(f"library must be one of {', '.join(LIBRARIES)}, got {library!r}")


def classifier_name(model: nn.Module) -> str:
    """The name of the module that outputs the logits: timm's ``pretrained_cfg``, else the last nn.Linear."""
    name = getattr(model, "pretrained_cfg", {}).get("classifier")
    if isinstance(name, str):
        return name
    linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no nn.Linear classifier")
    return linears[-1]


def _class_names(spec: ModelSpec, metadata: dict[str, str], count: int) -> tuple[str, ...]:
    if isinstance(spec.classes, tuple):
        names = spec.classes
    elif spec.classes is not None:
        names = tuple(line.strip() for line in Path(spec.classes).read_text().splitlines() if line.strip())
    elif "a2lens" in metadata:
        names = ModelMeta.from_dict(json.loads(metadata["a2lens"])).classes
    elif count == 1000:
        names = _imagenet_names(spec)
    else:
        names = tuple(f"class {i}" for i in range(count))
    if len(names) != count:
        raise WeightsError(f"{len(names)} class names for a classifier of {count} outputs")
    return names


def _imagenet_names(spec: ModelSpec) -> tuple[str, ...]:
    # Both libraries ship ImageNet-1k's names with the package: nothing is downloaded.
    if spec.library == "timm":
        from timm.data import ImageNetInfo

        return tuple(d.split(",")[0] for d in ImageNetInfo().label_descriptions())
    return tuple(import_torchvision().models.ResNet50_Weights.DEFAULT.meta["categories"])


def _input_config(spec: ModelSpec, model: nn.Module) -> tuple[int, tuple, tuple]:
    """(input size, mean, std) the library uses for this architecture."""
    if spec.library == "timm":
        from timm.data import resolve_data_config

        config = resolve_data_config({}, model=model)
        return int(config["input_size"][-1]), tuple(config["mean"]), tuple(config["std"])
    try:
        transforms = import_torchvision().models.get_model_weights(spec.arch).DEFAULT.transforms()
    except (ValueError, AttributeError):  # an architecture without published weights: ImageNet's defaults
        return 224, IMAGENET_MEAN, IMAGENET_STD
    return int(transforms.crop_size[0]), tuple(transforms.mean), tuple(transforms.std)


def _sized(spec: ModelSpec, shapes: dict[str, tuple[int, ...]], problem: str) -> nn.Module:
    """``spec``'s model with as many classes as the file's classifier has rows (its other sizes must fit)."""
    model = _build(spec.library, spec.arch)
    head = classifier_name(model)
    rows, ours = shapes.get(f"{head}.weight"), tuple(model.get_submodule(head).weight.shape)
    if rows is None or rows == ours:
        return model
    if len(rows) != len(ours) or rows[1:] != ours[1:]:  # else a "classifier" of any size could be asked for
        raise WeightsError(f"{problem}: {head}.weight: file {rows} vs model {ours}")
    return _build(spec.library, spec.arch, num_classes=rows[0])


def _fitting_model(spec: ModelSpec, shapes: dict[str, tuple[int, ...]], problem: str) -> nn.Module:
    """``spec``'s model, freshly initialised, once the file's tensors are known to fit it exactly; else
    WeightsError. Checked on a model built on the meta device first: no memory is spent on a model the
    file does not fit (a 1-GB arch named beside a small file)."""
    try:
        with torch.device("meta"):
            skeleton = _sized(spec, shapes, problem)
    except (RuntimeError, NotImplementedError):  # an arch that cannot be built without memory: checked when loaded
        return _sized(spec, shapes, problem)
    load_fitting(skeleton, {k: torch.empty(shape, device="meta") for k, shape in shapes.items()}, problem)
    classes = skeleton.get_submodule(classifier_name(skeleton)).weight.shape[0]
    return _build(spec.library, spec.arch, num_classes=classes)


def load_own_model(spec: ModelSpec) -> nn.Module:
    """``spec``'s model in eval mode, with ``model.meta`` (a :class:`~a2core.weights.ModelMeta`).

    Raises ImportError (timm missing), ValueError (unknown library or arch) and
    :class:`~a2core.weights.WeightsError` (not safetensors, tensors that do not fit, wrong class count).
    """
    if spec.library not in LIBRARIES:
        raise ValueError(f"library must be one of {', '.join(LIBRARIES)}, got {spec.library!r}")
    if spec.pretrained:
        model, metadata = _build(spec.library, spec.arch, pretrained=True), {}
    else:
        if spec.weights is None:
            raise WeightsError(f"{spec.name}: give a safetensors file of its weights (or pretrained=True, online)")
        shapes, metadata = read_header(spec.weights)
        problem = f"these weights do not fit {spec.name}"
        model = _fitting_model(spec, shapes, problem)  # before any tensor is read
        state, _ = read_state(spec.weights)
        load_fitting(model, state, problem)
    head_out = model.get_submodule(classifier_name(model)).weight.shape[0]
    size, mean, std = _input_config(spec, model)
    model.meta = ModelMeta(arch=spec.name, classes=_class_names(spec, metadata, head_out), input_size=size,
                           mean=mean, std=std, zoo="own")
    return model.eval()
