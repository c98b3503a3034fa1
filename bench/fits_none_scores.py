"""Scores tried for the "fits none" flag at the photo zoo's trained size, beside the one shipped (exploratory).

    python -m bench.fits_none_scores --data ../shared/data/imagenette --foreign ../shared/data/foreign

Reads the seven photo-zoo models at 160 px on every fifth training photo (class means, covariances,
neighbours), the val photos and the foreign photos (as they are, and stored as the val files), cached
under runs/fits_none/explore (about 25 CPU-minutes on one core the first time). Each score's threshold
flags 5 % of the calibration half of val (every other file of each class; no margin), and the table gives
the share flagged of the held-apart half and of the foreign photos. Scores, larger = more foreign: top-1
probability, energy, Mahalanobis distance of each stage's pooled features to the nearest class mean
(shared covariance), k-NN cosine distance on the last stage, ViM, ReAct, and over the seven models:
summed energy (at temperatures), mean-probability top-1, vote disagreement, mean KL, entropy, GEN and
the norm of the mean logits. The foreign photos pick nothing here: the shipped rule is the summed
energy, fixed before (a2core.probe.fit_flag).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from a2core.models import ARCHS
from a2core.probe.fit_features import squeezed
from a2core.probe.fit_flag import cached_features, halves, photos_in, readable
from a2core.models import load_pretrained


def logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    return torch.from_numpy(np.asarray(x, np.float64)).logsumexp(axis).numpy()


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    return torch.from_numpy(np.asarray(x, np.float64)).softmax(axis).numpy()


def gaussians(x: np.ndarray, y: np.ndarray | None, classes: int):
    """Class means (or one mean when y is None) and the precision of the shared covariance (ridge 1e-3)."""
    means = np.stack([x[y == k].mean(0) for k in range(classes)]) if y is not None else x.mean(0, keepdims=True)
    centred = x - (means[y] if y is not None else means[0])
    cov = centred.T @ centred / len(centred)
    cov += 1e-3 * np.trace(cov) / len(cov) * np.eye(len(cov))
    return means, np.linalg.inv(cov)


def distances(z: np.ndarray, means: np.ndarray, precision: np.ndarray) -> np.ndarray:
    diff = z[:, None] - means[None]
    return np.einsum("nkc,cd,nkd->nk", diff, precision, diff)


def scores_of(models, feats, ytr) -> dict[str, dict[str, np.ndarray]]:
    """{score: {set: (N,)}} for sets val, foreign, foreign_squeezed."""
    sets = ["val", "foreign", "foreign_squeezed"]
    out: dict[str, dict[str, np.ndarray]] = {}

    def add(name, fn):
        out[name] = {s: fn(s) for s in sets}

    for arch in ARCHS:
        f = feats[arch]
        w, b = (t.detach().double().numpy() for t in (models[arch].fc.weight, models[arch].fc.bias))
        add(f"top-1 probability {arch}", lambda s, f=f: -softmax(f[s]["logits"], 1).max(1))
        add(f"energy {arch}", lambda s, f=f: -logsumexp(f[s]["logits"], 1))
        add(f"max logit {arch}", lambda s, f=f: -f[s]["logits"].max(1))
        h_tr = f["train"]["layer4"].astype(np.float64)
        for pct in (90, 95, 99):  # ReAct: clip the last features at a percentile of the training ones
            c = np.percentile(h_tr, pct)
            add(f"ReAct {pct} energy {arch}", lambda s, f=f, c=c, w=w, b=b: -logsumexp(
                np.minimum(f[s]["layer4"], c) @ w.T + b, 1))
        unit = h_tr / np.linalg.norm(h_tr, axis=1, keepdims=True)
        add(f"k-NN 10 {arch}", lambda s, f=f, unit=unit: -np.sort(
            (f[s]["layer4"] / np.linalg.norm(f[s]["layer4"], axis=1, keepdims=True)) @ unit.T, 1)[:, -10])
        origin = -np.linalg.pinv(w) @ b  # ViM (Wang et al., CVPR 2022)
        values, vectors = np.linalg.eigh(np.cov((h_tr - origin).T))
        null = vectors[:, np.argsort(values)[::-1][64 if w.shape[1] > 128 else w.shape[1] // 2:]]
        alpha = (h_tr @ w.T + b).max(1).mean() / np.linalg.norm((h_tr - origin) @ null, axis=1).mean()
        add(f"ViM {arch}", lambda s, f=f, w=w, b=b, o=origin, n=null, a=alpha: -(logsumexp(
            f[s]["layer4"] @ w.T + b, 1) - a * np.linalg.norm((f[s]["layer4"] - o) @ n, axis=1)))
        if arch in ("a2_resnet", "resnet"):
            for stage in ("layer1", "layer2", "layer3", "layer4"):
                means, precision = gaussians(f["train"][stage].astype(np.float64), ytr, 10)
                add(f"Mahalanobis {stage} {arch}", lambda s, f=f, st=stage, m=means, p=precision: distances(
                    f[s][st].astype(np.float64), m, p).min(1))
    logits = {s: np.stack([feats[a][s]["logits"].astype(np.float64) for a in ARCHS]) for s in sets}  # (7, N, K)
    for t in (0.5, 1, 2, 4):
        add(f"7 models: summed energy, T = {t}", lambda s, t=t: -(t * logsumexp(logits[s] / t, 2)).sum(0))
    add("7 models: top-1 of the mean probability", lambda s: -softmax(logits[s], 2).mean(0).max(1))
    add("7 models: entropy of the mean probability", lambda s: (lambda p: -(p * np.log(p + 1e-12)).sum(1))(
        softmax(logits[s], 2).mean(0)))
    add("7 models: mean KL to their mean", lambda s: (lambda p: (p * (np.log(p + 1e-12) - np.log(
        p.mean(0) + 1e-12))).sum(2).mean(0))(softmax(logits[s], 2)))
    add("7 models: votes for the top class (fewer = more foreign)", lambda s: -np.array(
        [np.bincount(v, minlength=10).max() for v in logits[s].argmax(2).T]) - 1e-3 * logsumexp(logits[s], 2).sum(0))
    add("7 models: GEN", lambda s: (lambda p: (p**0.1 * (1 - p)**0.1).sum(2).sum(0))(softmax(logits[s], 2)))
    add("7 models: norm of the mean logits", lambda s: -np.linalg.norm(logits[s].mean(0), axis=1))
    return out


def standardised_sums(scores, first, parts_of: dict[str, list[str]]) -> None:
    """Add sums of scores standardised on the calibration half of val."""
    def z(name, s):
        v = scores[name]["val"][first]
        return (scores[name][s] - v.mean()) / v.std()
    for name, parts in parts_of.items():
        scores[name] = {s: sum(z(p, s) for p in parts) for s in scores[parts[0]]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--foreign", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path("runs/fits_none/explore"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    models = {a: load_pretrained(a, zoo="imagenette") for a in ARCHS}
    classes = list(models["a2_resnet"].meta.classes)
    train = [p for c in classes for p in photos_in(args.data / "train" / c)][::5]
    val = [p for c in classes for p in photos_in(args.data / "val" / c)]
    foreign = readable(photos_in(args.foreign))
    feats = {a: {} for a in ARCHS}
    for name, photos, transform in (("train", train, None), ("val", val, None), ("foreign", foreign, None),
                                    ("foreign_squeezed", foreign, squeezed)):
        for arch, table in cached_features(models, photos, 160, args.cache, name, transform).items():
            feats[arch][name] = table
    ytr = np.array([classes.index(p.parent.name) for p in train])
    first = halves(np.array([p.parent.name for p in val]))
    scores = scores_of(models, feats, ytr)
    a2 = "a2_resnet"
    standardised_sums(scores, first, {
        "energy + Mahalanobis layer1–4 (A²-ResNet)": [f"energy {a2}"] + [f"Mahalanobis layer{k} {a2}" for k in range(1, 5)],
        "energy + Mahalanobis layer2–4 (A²-ResNet)": [f"energy {a2}"] + [f"Mahalanobis layer{k} {a2}" for k in range(2, 5)],
        "7 models: summed standardised ViM": [f"ViM {a}" for a in ARCHS],
        "7 models: summed standardised ReAct 95": [f"ReAct 95 energy {a}" for a in ARCHS],
        "7 models: summed standardised k-NN": [f"k-NN 10 {a}" for a in ARCHS],
    })
    print(f"| score | in-class, held-apart half | foreign | foreign, stored as the val files |\n| --- |{' ---: |' * 3}")
    for name, sets in scores.items():
        threshold = np.quantile(sets["val"][first], 0.95)
        cells = [(sets["val"][~first] > threshold).mean()] + [(sets[s] > threshold).mean()
                                                              for s in ("foreign", "foreign_squeezed")]
        print(f"| {name} | " + " | ".join(f"{100 * c:.1f} %" for c in cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
