"""Where a page's models come from: the one small interface every model source implements.

A source is a :class:`ModelSource`: the archs it has, each with a cache key (``path``) that
``app.common.load_model`` turns into a model, their classes and input size, and how the app shows
them (a :class:`ZooView`). Two sources sit side by side and never import each other:

- :mod:`app.sources.zoo`: a zoo's weight files (``assets/weights`` or ``$A2LENS_WEIGHTS``);
- :mod:`app.sources.own`: "your model", a timm or torchvision arch with uploaded weights (or the
  operator's files in ``$A2LENS_MODEL_DIR``).

``app.common`` offers them in the sidebar's picker (``model_source``) and caches what they name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "samples"


@dataclass(frozen=True)
class ZooView:
    """How the app shows one source: its name, its samples and its resolution choices.

    sizes: the input sizes offered, the trained size first; Compare offers the first three.
    """

    zoo: str
    label: str
    #: the plain ResNet's name, and how the zoo's models are built and placed (for the zoo table)
    backbone: str
    about: str
    sizes: tuple[int, ...]
    samples: Path
    sample_label: str
    default_sample: str
    #: said of the zoo while its weights are missing, e.g. "in training"
    pending: str = ""


@dataclass(frozen=True)
class ModelSource:
    """The models a page shows, as the sidebar's picker chose them.

    ``weights`` maps each arch to what ``app.common.load_model`` loads it from (a zoo's weight file, or
    "your model"'s spec serialised: :func:`app.sources.own.spec_key`); ``classes`` and ``input_size``
    are the models'.
    """

    key: str
    label: str
    zoo: str
    weights: dict[str, Path | str]
    classes: tuple[str, ...]
    input_size: int
    view: ZooView
    #: the folder whose <arch>.safetensors make the zoo table, None for a source without one
    folder: Path | None = None
    samples: dict[str, Path] = field(default_factory=dict)

    @property
    def archs(self) -> tuple[str, ...]:
        return tuple(self.weights)

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.view.sizes

    def path(self, arch: str) -> str:
        """What ``arch`` is loaded from, as a string (a cache key); KeyError when this source has none."""
        return str(self.weights[arch])


def _sample_name(path: Path) -> str:
    # "cat · val_0000"; Imagenette's "ILSVRC2012_val_00008162" loses the data set's prefix.
    return f"{path.parent.name} · {path.stem.removeprefix('ILSVRC2012_')}"


def samples(folder: Path) -> dict[str, Path]:
    """The sample photos in ``folder``'s class folders, by the name the picker shows."""
    return {_sample_name(p): p for p in sorted(folder.glob("*/*.jpg"))}
