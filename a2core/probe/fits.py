"""Whether a photo fits none of a zoo's classes: the zoo's models' summed energy, calibrated on in-class photos.

    import a2core
    a2core.fits_none(image, zoo="imagenette")      # True: flag it

A classifier shares all its probability among the classes it knows, so its top-1 probability is a weak
sign of a foreign photo. The flag reads every model of the zoo instead, each on the photo at the size it
was trained at, and sums their energies, -logsumexp(logits) (Liu et al., NeurIPS 2020): the models were
trained apart, so a photo that none of them finds a class for stands out more than in any one of them.
The threshold is set on in-class validation photos so that at most a chosen share of them (5 %) is
flagged. The view size a page shows does not enter: the flag is about the photo, so a photo is flagged,
or not, at every resolution alike. The rule (the models, the size, the threshold and the calibration's
report) is ``fits_none.json`` beside the zoo's weights, written by ``python -m a2core.probe.fit_flag``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..images import model_view, to_tensor
from ..models import zoo_dir

#: the rule's file, beside the zoo's weights
RULE_FILE = "fits_none.json"


@dataclass(frozen=True)
class FitRule:
    """A zoo's flag: flagged when the summed energy of ``archs`` at ``size`` px is above ``threshold``.

    target: the share of in-class photos the threshold was set to flag; report: the calibration's figures.
    """

    zoo: str
    archs: tuple[str, ...]
    size: int
    threshold: float
    target: float = 0.05
    report: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "archs": list(self.archs)}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> FitRule:
        data = json.loads(text)
        return cls(data["zoo"], tuple(data["archs"]), int(data["size"]), float(data["threshold"]),
                   float(data.get("target", 0.05)), data.get("report", {}))


def energy(logits: np.ndarray | torch.Tensor) -> np.ndarray:
    """(N, K) logits → (N,) energy -logsumexp: large when no class gets a large logit."""
    return -torch.as_tensor(logits, dtype=torch.float64).logsumexp(-1).numpy()


def summed_energy(logits: dict[str, np.ndarray]) -> np.ndarray:
    """{arch: (N, K) logits} → (N,) the sum of the models' energies (larger = more foreign)."""
    return sum(energy(lg) for lg in logits.values())


def rule_path(zoo: str = "imagenette", root: str | Path | None = None) -> Path:
    return zoo_dir(zoo, root) / RULE_FILE


def read_rule(zoo: str = "imagenette", root: str | Path | None = None) -> FitRule | None:
    """The zoo's rule, or None when its weights folder has none."""
    path = rule_path(zoo, root)
    return FitRule.from_json(path.read_text()) if path.is_file() else None


@functools.lru_cache(maxsize=4)
def _models(folder: str, archs: tuple[str, ...], stamp: tuple[float, ...]) -> dict[str, torch.nn.Module]:
    from ..models import load_pretrained

    return {arch: load_pretrained(arch, Path(folder) / f"{arch}.safetensors") for arch in archs}


def fit_score(image: Image.Image, zoo: str = "imagenette", root: str | Path | None = None) -> tuple[float, FitRule]:
    """(summed energy of ``image``, the rule): flagged when the score is above ``rule.threshold``.

    Raises FileNotFoundError when the zoo has no rule or lacks one of its models' weights.
    """
    rule = read_rule(zoo, root)
    if rule is None:
        raise FileNotFoundError(f"no fits-none rule for the {zoo} zoo at {rule_path(zoo, root)}; "
                                "write it with python -m a2core.probe.fit_flag calibrate")
    folder = rule_path(zoo, root).parent
    files = [folder / f"{arch}.safetensors" for arch in rule.archs]
    if missing := [f.name for f in files if not f.is_file()]:
        raise FileNotFoundError(f"the fits-none rule of the {zoo} zoo needs {', '.join(missing)} in {folder}")
    models = _models(str(folder), rule.archs, tuple(f.stat().st_mtime for f in files))
    meta = next(iter(models.values())).meta
    batch = to_tensor(model_view(image, rule.size), meta.mean, meta.std).unsqueeze(0)
    with torch.no_grad():
        logits = {arch: model(batch).float().numpy() for arch, model in models.items()}
    return float(summed_energy(logits)[0]), rule


def fits_none(image: Image.Image, zoo: str = "imagenette", size: int | None = None,
              root: str | Path | None = None) -> bool:
    """Whether ``image`` (any PIL image) fits none of ``zoo``'s classes.

    ``size``, the view a page shows, is accepted for every size the app offers and changes nothing: the
    models read the photo at the size they were trained at, so the answer is the photo's, the same at
    every view size. Calibrated so that at most 5 % of in-class validation photos are flagged (the rule's
    report gives the share of foreign photos caught). Raises FileNotFoundError without the zoo's rule.
    """
    if size is not None and size < 1:
        raise ValueError(f"size must be a positive number of pixels, not {size}")
    score, rule = fit_score(image, zoo, root)
    return score > rule.threshold
