"""The "fits none" flag's command line: calibrate a zoo's rule, or flag a folder of photos.

    python -m a2core.probe.fit_flag check photos/ [--zoo imagenette]
    python -m a2core.probe.fit_flag calibrate --zoo imagenette --data ../shared/data/imagenette \\
        --foreign ../shared/data/foreign --page docs/fits-none.md

``calibrate`` reads every model of the zoo on the validation photos (and, only to evaluate, on the
foreign ones) at the trained size, and the A²-ResNet at every view size the app offers; features are
cached under ``--cache``. Each score's threshold is set on one half of the validation photos (every
other file of each class, in name order) so that at most ``--target`` of them are flagged, and each is
reported on the other half. It writes ``<zoo weights>/fits_none.json`` (:class:`~a2core.probe.fits.FitRule`)
and, with ``--page``, the table between the docs page's ``fits-none table <zoo>`` markers.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from ..images import ImageError, load_image
from .fit_features import features_of_photos, squeezed
from .fits import FitRule, energy, fit_score, rule_path, summed_energy

PHOTO_TYPES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif")
#: the view sizes the app offers for each zoo (app.sources.zoo)
ZOO_SIZES = {"imagenette": (160, 192, 224, 256, 320), "cifar10": (32, 64, 96, 128)}
#: the model read at every view size for the table (the app's own)
MAIN_ARCH = "a2_resnet"
def table_markers(zoo: str) -> tuple[str, str]:
    """The docs page lines (docs/fits-none.md) the zoo's table is written between."""
    return (f"<!-- fits-none table {zoo}: start (python -m a2core.probe.fit_flag calibrate --zoo {zoo}) -->",
            f"<!-- fits-none table {zoo}: end -->")
#: the old rule: the top-1 probability under one half
OLD_THRESHOLD = 0.5


def photos_in(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in PHOTO_TYPES)


def readable(photos: Sequence[Path]) -> list[Path]:
    """The photos :func:`~a2core.images.load_image` accepts (a calibration skips the others)."""
    kept = []
    for path in photos:
        try:
            load_image(path.read_bytes())
        except (ImageError, OSError):
            continue
        kept.append(path)
    return kept


def flag_folder(folder: str | Path, zoo: str = "imagenette",
                root: str | Path | None = None) -> list[tuple[Path, bool | None, float]]:
    """Every photo under ``folder`` → (path, flagged, score); flagged is None (score NaN) for a file that is
    not a usable image."""
    rows = []
    for path in photos_in(Path(folder)):
        try:
            score, rule = fit_score(load_image(path.read_bytes()), zoo, root)
        except ImageError:
            rows.append((path, None, float("nan")))
            continue
        rows.append((path, score > rule.threshold, score))
    return rows


# ------------------------------------------------------------------ calibration


def halves(labels: np.ndarray) -> np.ndarray:
    """(N,) class labels in name order → (N,) True for the calibration half: every other photo of each class,
    the first included; the others are held apart for the report."""
    first = np.zeros(len(labels), bool)
    for label in np.unique(labels):
        first[np.flatnonzero(labels == label)[::2]] = True
    return first


def margin_target(target: float, n: int) -> float:
    """The share to calibrate at on ``n`` photos so that new photos stay under ``target``: one binomial standard
    error below it (a threshold set at exactly 5 % of 986 photos flags 5 ± 0.7 % of the next 980)."""
    return target - float(np.sqrt(target * (1 - target) / n))


def threshold_for(scores: np.ndarray, target: float) -> float:
    """The smallest threshold that flags (score > threshold) at most ``target`` of ``scores``."""
    ordered = np.sort(np.asarray(scores, dtype=np.float64))
    keep = int(np.ceil((1 - target) * len(ordered)))  # photos at or under the threshold
    return float(ordered[max(keep, 1) - 1])


def cached_features(models: dict, photos: Sequence[Path], size: int, cache: Path, name: str,
                    transform: Callable | None = None) -> dict[str, dict[str, np.ndarray]]:
    """{arch: features} of ``photos`` at ``size`` (:func:`~a2core.probe.fit_features.features_of_photos`),
    read from ``cache`` for each arch that read the same photos before."""
    names = np.array([str(p) for p in photos])
    found, missing = {}, {}
    for arch, model in models.items():
        file = cache / f"{arch}_{size}_{name}.npz"
        if file.is_file():
            with np.load(file) as stored:
                if stored["names"].shape == names.shape and (stored["names"] == names).all():
                    found[arch] = {k: stored[k] for k in stored.files if k != "names"}
                    continue
        missing[arch] = model
    if missing:
        cache.mkdir(parents=True, exist_ok=True)
        for arch, table in features_of_photos(missing, photos, size, transform=transform).items():
            np.savez(cache / f"{arch}_{size}_{name}.npz", names=names, **table)
            found[arch] = table
    return found


def probabilities(logits: np.ndarray) -> np.ndarray:
    return torch.from_numpy(np.asarray(logits, dtype=np.float64)).softmax(-1).numpy()


def top1(logits: np.ndarray) -> np.ndarray:
    return probabilities(logits).max(-1)


def rows_for(scores: dict[str, dict[str, np.ndarray]], first: np.ndarray, target: float,
             fixed: dict[str, float] | None = None) -> list[dict]:
    """{score name: {set: (N,) scores, larger = more foreign}} → a row per score: the share flagged of each set,
    the threshold set on the calibration half of "val" at ``target`` (or given in ``fixed``)."""
    rows = []
    for name, sets in scores.items():
        threshold = (fixed or {}).get(name, None)
        if threshold is None:
            threshold = threshold_for(sets["val"][first], margin_target(target, int(first.sum())))
        row = {"score": name, "in-class, calibration half": (sets["val"][first] > threshold).mean(),
               "in-class, held-apart half": (sets["val"][~first] > threshold).mean()}
        row.update({k: (v > threshold).mean() for k, v in sets.items() if k != "val"})
        rows.append({k: v if k == "score" else float(v) for k, v in row.items()})
    return rows


def markdown_table(report: dict) -> str:
    """The calibration report as one Markdown table: a row per view size and score."""
    sets = list(dict.fromkeys(k for row in report["rows"] for k in row if k not in ("score", "size")))
    lines = ["| view size | score | " + " | ".join(sets) + " |", "| ---: | --- |" + " ---: |" * len(sets)]
    for row in report["rows"]:
        cells = " | ".join(f"{100 * row[s]:.1f} %" if s in row else "–" for s in sets)
        name = f"**{row['score']}**" if row["score"].startswith("shipped") else row["score"]
        lines.append(f"| {row['size']} px | {name} | {cells} |")
    return "\n".join(lines)


def write_table(readme: Path, report: dict) -> None:
    """Put the table (and how it was made) between the docs page's markers."""
    text = readme.read_text()
    start, end = table_markers(report["zoo"])
    if start not in text or end not in text:
        raise ValueError(f"{readme} has no {start!r} … {end!r} markers to write the table between")
    n = report["counts"]
    foreign = (f"{n['foreign']} foreign photos only evaluated, also stored the way the validation files are "
               "(224×224 squeezed, JPEG 75)" if n["foreign"] else "no foreign photos")
    about = (f"{report['zoo']} zoo: thresholds set on {n['calibration']} validation photos (every other "
             f"file of each class) to flag {100 * margin_target(report['target'], n['calibration']):.1f} % of them "
             f"(one standard error under {100 * report['target']:.0f} %), checked on the other "
             f"{n['held']}; {foreign}.")
    body = f"{start}\n\n{textwrap.fill(about, 110)}\n\n{markdown_table(report)}\n\n{end}"
    readme.write_text(re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: body, text, flags=re.S))


def calibrate(zoo: str, data: Path, foreign: Path | None, cache: Path, target: float = 0.05,
              sizes: Sequence[int] | None = None, root: Path | None = None, progress=print) -> FitRule:
    """Calibrate ``zoo``'s rule on ``data``/val (a folder per class); evaluate ``foreign`` (never calibrated on).

    The shipped score: every model's energy at the trained size, summed. For the table, per view size: the
    A²-ResNet's top-1 probability under 50 % (the old rule), and its top-1 probability and energy with
    thresholds calibrated like the shipped one; at the trained size, every model's mean probability.
    """
    from ..models import archs_with_weights, load_pretrained, zoo_dir

    folder = zoo_dir(zoo, root)
    models = {a: load_pretrained(a, folder / f"{a}.safetensors") for a in archs_with_weights(folder)}
    meta = models[MAIN_ARCH].meta
    classes = list(meta.classes)
    val = [p for c in classes for p in photos_in(data / "val" / c)]
    first = halves(np.array([p.parent.name for p in val]))
    others = {}
    if foreign is not None:
        photos = readable(photos_in(foreign))
        others = {"foreign": (photos, None, "foreign"),
                  # the val files are 224×224, squeezed, JPEG 75: the same foreign photos stored that way tell
                  # whether a score flags the photos or the way they were stored
                  "foreign, stored as the val files": (photos, squeezed, "foreign_squeezed")}

    def read(chosen: dict, size: int, controls: bool = True) -> dict[str, dict[str, np.ndarray]]:
        """{set: {arch: logits}}; without ``controls``, the foreign photos only as they are."""
        sets = {"val": (val, None, "val"), **{k: v for k, v in others.items() if controls or v[1] is None}}
        out = {}
        for name, (photos, transform, tag) in sets.items():
            features = cached_features(chosen, photos, size, cache / zoo, tag, transform)
            out[name] = {arch: features[arch]["logits"] for arch in chosen}
        return out

    report = {"zoo": zoo, "target": target, "archs": list(models), "rows": [], "counts": {
        "calibration": int(first.sum()), "held": int((~first).sum()), "foreign": len(others.get("foreign", [[]])[0])}}
    trained = read(models, meta.input_size)
    shipped = {name: summed_energy(logits) for name, logits in trained.items()}
    threshold = threshold_for(shipped["val"][first], margin_target(target, int(first.sum())))
    shipped_name = f"shipped: summed energy of the {len(models)} models at {meta.input_size} px"
    for size in sizes or ZOO_SIZES[zoo]:
        # the control (foreign photos stored as the val files) at the trained size only: it costs a read a size
        logits = trained if size == meta.input_size else read({MAIN_ARCH: models[MAIN_ARCH]}, size, controls=False)
        main = {name: sets[MAIN_ARCH] for name, sets in logits.items()}
        scores = {
            "top-1 probability < 50 % (A²-ResNet; the old rule)": {k: -top1(v) for k, v in main.items()},
            "top-1 probability (A²-ResNet)": {k: -top1(v) for k, v in main.items()},
            "energy (A²-ResNet)": {k: energy(v) for k, v in main.items()},
        }
        if size == meta.input_size:
            scores[f"top-1 of the {len(models)} models' mean probability"] = {
                k: -np.mean([probabilities(x) for x in v.values()], 0).max(1) for k, v in logits.items()}
        scores[shipped_name] = shipped
        fixed = {shipped_name: threshold, next(iter(scores)): -OLD_THRESHOLD}
        for row in rows_for(scores, first, target, fixed):
            report["rows"].append({"size": size, **row})
        progress(f"{size} px: {report['rows'][-1]}")
    rule = FitRule(zoo, tuple(models), meta.input_size, threshold, target, report)
    path = rule_path(zoo, root)
    path.write_text(rule.to_json() + "\n")
    progress(f"wrote {path}")
    return rule


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m a2core.probe.fit_flag", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="flag every photo of a folder")
    check.add_argument("folder", type=Path)
    check.add_argument("--zoo", default="imagenette", choices=list(ZOO_SIZES))
    cal = commands.add_parser("calibrate", help="write the zoo's rule file (and the docs page's table)")
    cal.add_argument("--zoo", default="imagenette", choices=list(ZOO_SIZES))
    cal.add_argument("--data", type=Path, required=True, help="a folder with val/<class>/ photos")
    cal.add_argument("--foreign", type=Path, default=None, help="photos of no class of the zoo (evaluated only)")
    cal.add_argument("--cache", type=Path, default=Path("runs/fits_none"), help="features read before")
    cal.add_argument("--target", type=float, default=0.05, help="share of in-class photos flagged (default 0.05)")
    cal.add_argument("--sizes", type=int, nargs="*", default=None, help="view sizes for the table")
    cal.add_argument("--page", type=Path, default=None, help="write the table into this docs page (docs/fits-none.md)")
    args = parser.parse_args(argv)
    if args.command == "check":
        if not args.folder.is_dir():
            print(f"error: {args.folder} is not a folder", file=sys.stderr)
            return 2
        try:
            rows = flag_folder(args.folder, args.zoo)
        except FileNotFoundError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        for path, flagged, score in rows:
            verdict = "unreadable" if flagged is None else "FITS NONE" if flagged else "fits"
            print(f"{verdict:10s} {score:9.2f}  {path}")
        usable = [f for _, f, _ in rows if f is not None]
        print(f"{sum(usable)} of {len(usable)} photos flagged ({100 * sum(usable) / max(len(usable), 1):.1f} %)")
        return 0
    torch.set_num_threads(1)  # a shared machine: one core (run it with nice)
    rule = calibrate(args.zoo, args.data, args.foreign, args.cache, args.target, args.sizes)
    if args.page:
        write_table(args.page, rule.report)
    print(markdown_table(rule.report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
