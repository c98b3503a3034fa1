"""Scoring a zoo: every scored map of every model on every photo, then means with bootstrap intervals.

:func:`score_photo` scores one model on one photo (a list of :class:`Record`, one per map and score);
:func:`summarise` turns the records of many photos into the JSON rows of ``python -m a2core.metrics``: one row
per (arch, block, map) with the mean over the photos and a 95 % percentile bootstrap interval (photos
resampled with replacement, the same resamples for every row).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from ..images import model_view, to_tensor
from ..probe.gradcam import grad_cam
from ..probe.maps import compute_maps
from .scored import BlockScores, Scored, baselines, block_scores
from .scores import box_energy, cover_fractions, deletion_insertion, pointing_hit, query_dependence

#: The scores a row may hold, in the JSON's order.
SCORES = ("box_energy", "pointing", "deletion_auc", "insertion_auc", "query_dependence")
#: The layer whose Grad-CAM (of the true class) is scored: the third stage's output, in both zoos the grid of the
#: last A² and Non-local block (10×10 at 160 px, 8×8 at 32 px), so it compares with them.
GRADCAM_LAYER = "layer3"
#: RISE's curve is sampled at this many steps + 1 points (cells taken evenly), so a map costs 2 (steps + 1) passes.
#: Those passes are most of the command's time, so deletion and insertion are measured only for the summary maps
#: on the Grad-CAM's grid (A²'s ``gather`` and Non-local's ``row_mean`` of ``layer3.1``, GC's ``context`` of
#: ``layer3.*``, the Grad-CAM and the ``center`` prior): the maps that compare on one grid.
AUC_STEPS = 8
BOOTSTRAP = 1000


@dataclass(frozen=True)
class Record:
    """One score of one map on one photo."""

    arch: str
    block: str
    kind: str
    map: str
    grid: tuple[int, int]
    photo: int
    score: str
    value: float


def _true_class_probability(model: torch.nn.Module, label: int):
    @torch.no_grad()
    def prob(images: np.ndarray) -> np.ndarray:
        return model(torch.from_numpy(images)).float().softmax(-1)[:, label].numpy()

    return prob


def _scored_maps(model: torch.nn.Module, image: Image.Image, label: int, size: int
                 ) -> list[tuple[str, str, BlockScores]]:
    """[(block, design, what it offers)]: the attention blocks, the Grad-CAM of ``label`` and the baselines."""
    result = compute_maps(model, image, size)
    out = [(name, block.kind, block_scores(block)) for name, block in result.blocks.items()]
    x = to_tensor(model_view(image, size), model.meta.mean, model.meta.std).unsqueeze(0)
    cams, _ = grad_cam(model, x, GRADCAM_LAYER, label)
    out.append((GRADCAM_LAYER, "GradCAM", BlockScores((Scored("gradcam", cams[0].astype(np.float64), auc=True),))))
    out.append(("view", "baseline", BlockScores(baselines(cams[0].shape))))
    return out


def score_photo(model: torch.nn.Module, image: Image.Image, label: int, photo: int, boxes: np.ndarray | None,
                auc_steps: int = AUC_STEPS, size: int | None = None) -> list[Record]:
    """Every score of every map ``model`` offers on ``image`` (class index ``label``), as :class:`Record` s.

    boxes: (B, 4) fractions of the view (:func:`~a2core.metrics.boxes.view_boxes`), or None: no box scores.
    auc_steps: 0 skips deletion/insertion, measured for the summary maps on the Grad-CAM's grid only.
    """
    meta = model.meta
    size = size or meta.input_size
    records = []
    pixels = None
    offers = _scored_maps(model, image, label, size)
    auc_grid = next(o.maps[0].values.shape for b, _, o in offers if b == GRADCAM_LAYER)
    for block, kind, offered in offers:
        for scored in offered.maps:
            grid = tuple(int(s) for s in scored.values.shape[-2:])

            def add(score: str, value: float, block=block, kind=kind, scored=scored, grid=grid):
                records.append(Record(meta.arch, block, kind, scored.name, grid, photo, score, float(value)))

            if boxes is not None and len(boxes):
                cover = cover_fractions(boxes, grid)
                maps = scored.values if scored.stack else scored.values[None]
                # A map with no mass (an all-zero Grad-CAM) has no box energy: NaN, left out of the means.
                energies = [box_energy(m, cover) for m in maps]
                add("box_energy", np.nanmean(energies) if not np.all(np.isnan(energies)) else np.nan)
                add("pointing", np.mean([pointing_hit(m, cover) for m in maps]))
                if scored.stack:
                    # Does a query on the object attend to the object more than one off it? Rows of the queries
                    # whose cell is at least half inside the boxes, and of those wholly outside.
                    query_cover = cover.reshape(-1)
                    for part, chosen in (("object", query_cover >= 0.5), ("background", query_cover == 0)):
                        if chosen.any():
                            records.append(Record(meta.arch, block, kind, f"{scored.name}_{part}", grid, photo,
                                                  "box_energy", float(np.mean(np.array(energies)[chosen]))))
            if scored.auc and auc_steps and scored.values.shape == auc_grid:
                if pixels is None:
                    pixels = to_tensor(model_view(image, size), meta.mean, meta.std).numpy()
                # Removed cells take the data mean: 0 once normalised by the training mean and std.
                deletion, insertion = deletion_insertion(pixels, scored.values, _true_class_probability(model, label),
                                                         np.zeros(3, np.float32), steps=auc_steps)
                add("deletion_auc", deletion)
                add("insertion_auc", insertion)
        if offered.queries is not None:
            h, w = (int(s) for s in offered.maps[0].values.shape[-2:])
            records.append(Record(meta.arch, block, kind, offered.queries_map, (h, w), photo, "query_dependence",
                                  query_dependence(offered.queries)))
    return records


def _bootstrap(values: np.ndarray, resamples: np.ndarray, level: float) -> list[float]:
    # Percentile interval of the mean; ``resamples`` (B, N) indexes the N photos.
    means = values[resamples].mean(1)
    tail = (1 - level) / 2 * 100
    return [float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))]


def summarise(records: Sequence[Record], resamples: int = BOOTSTRAP, level: float = 0.95, seed: int = 0
              ) -> list[dict]:
    """One row per (arch, block, map), in the records' order: means over photos with bootstrap intervals.

    A row holds ``arch``, ``block``, ``kind`` (the design, ``GradCAM`` or ``baseline``), ``map``, ``grid``
    ("h×w"), and for each score it has: its mean, ``<score>_ci`` [low, high] and ``<score>_n`` (photos).
    """
    grouped: dict[tuple, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    info = {}
    for r in records:
        key = (r.arch, r.block, r.map)
        grouped[key][r.score][r.photo] = r.value
        info.setdefault(key, r)
    rng = np.random.default_rng(seed)
    draws: dict[int, np.ndarray] = {}
    rows = []
    for key, scores in grouped.items():
        first = info[key]
        row = {"arch": first.arch, "block": first.block, "kind": first.kind, "map": first.map,
               "grid": f"{first.grid[0]}×{first.grid[1]}"}
        for score in SCORES:
            if score not in scores:
                continue
            values = np.array([scores[score][p] for p in sorted(scores[score])])
            values = values[~np.isnan(values)]
            n = len(values)
            if not n:
                continue
            if n not in draws:
                draws[n] = rng.integers(0, n, (resamples, n))
            row[score] = float(values.mean())
            row[f"{score}_ci"] = _bootstrap(values, draws[n], level)
            row[f"{score}_n"] = n
        rows.append(row)
    return rows
