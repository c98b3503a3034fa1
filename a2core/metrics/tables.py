"""Markdown tables of the measured attention, generated from the JSON files ``python -m a2core.metrics`` writes.

The JSON files live beside the weights: ``attention_val.json`` (and ``attention_train.json`` for the photo
zoo, photos seen in training) in ``assets/weights/imagenette/``, ``attention_val.json`` in ``assets/weights/``
for the CIFAR-10 zoo. The model card's *Measured attention* section and the docs page's table (docs/measured-attention.md) are rendered here,
never typed:

    python -m a2core.metrics.tables --card assets/weights/imagenette/MODEL_CARD.md --page docs/measured-attention.md
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Collection, Sequence
from pathlib import Path

from ..weights import WEIGHTS_DIR

#: The maps of the design table, in its order: a design's summary over its block, then Grad-CAM and the priors.
SUMMARY_MAPS = ("gather", "rows", "rows_object", "rows_background", "row_mean", "context", "spatial", "gradcam",
                "uniform", "center")
#: The designs whose query dependence is compared (query rows), in the table's order.
QUERY_KINDS = ("NonLocal", "DoubleAttention", "GlobalContext")
SPLITS = ("val", "train")
SECTION = "## Measured attention"
PAGE_BEGIN, PAGE_END = "<!-- measured-attention:begin -->", "<!-- measured-attention:end -->"


def read_results(weights_dir: str | Path) -> dict[str, dict]:
    """{split: the JSON} for each ``attention_<split>.json`` in ``weights_dir``."""
    out = {}
    for split in SPLITS:
        path = Path(weights_dir) / f"attention_{split}.json"
        if path.is_file():
            out[split] = json.loads(path.read_text())
    return out


def _ci(row: dict, score: str, digits: int = 2, photos: int | None = None) -> str:
    """``mean [low, high]``, and ``(n)`` when the score covers fewer than ``photos`` photos (a map without
    mass, such as an all-zero Grad-CAM, has no box energy)."""
    if score not in row:
        return "—"
    lo, hi = row[f"{score}_ci"]
    n = row[f"{score}_n"]
    return f"{row[score]:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]" + (
        f" ({n} photos)" if photos is not None and n < photos else "")


def _key(row: dict) -> tuple[str, str, str]:
    return row["arch"], row["block"], row["map"]


def distinct_rows(results: Sequence[dict], maps: Collection[str]) -> list[dict]:
    """The rows of ``results`` (a JSON's ``results``) whose map is one of ``maps``, in order, each prior once
    (the priors do not depend on the model)."""
    rows, priors = [], set()
    for row in results:
        if row["map"] not in maps:
            continue
        if row["kind"] == "baseline":
            if row["map"] in priors:
                continue
            priors.add(row["map"])
        rows.append(row)
    return rows


def _summary_rows(results: dict) -> list[dict]:
    """The design table's rows: summary maps only; the priors once (they do not depend on the model)."""
    rows = distinct_rows(results["results"], SUMMARY_MAPS)
    order = {m: i for i, m in enumerate(SUMMARY_MAPS)}
    return sorted(rows, key=lambda r: (r["kind"] == "baseline", r["kind"] == "GradCAM", order[r["map"]]))


def _label(row: dict) -> str:
    if row["kind"] == "baseline":
        return f"prior: `{row['map']}`"
    return f"`{row['arch']}` `{row['block']}` `{row['map']}`"


def design_table(results: dict[str, dict]) -> str:
    """Which design's attention lands on the object: box energy and pointing game with 95 % intervals,
    val photos and train photos apart; deletion and insertion AUC where the run measured them."""
    val = results.get("val")
    train = results.get("train")
    first = val or train
    others = {s: {_key(r): r for r in results[s]["results"]} for s in results}
    has_auc = any("deletion_auc" in r for r in (val or {"results": []})["results"])
    head = ["map", "grid"]
    head += [f"box energy, val ({val['n_boxed']})", f"pointing, val ({val['n_boxed']})"] if val else []
    head += [f"box energy, train ({train['n_boxed']})", f"pointing, train ({train['n_boxed']})"] if train else []
    head += ["deletion AUC, val ↓", "insertion AUC, val ↑"] if has_auc else []
    lines = ["| " + " | ".join(head) + " |", "| --- | --- |" + " ---: |" * (len(head) - 2)]
    for row in _summary_rows(first):
        cells = [_label(row), row["grid"]]
        for split in ("val", "train"):
            if split in results:
                other = others[split].get(_key(row), {})
                boxed = results[split]["n_boxed"]
                cells += [_ci(other, "box_energy", photos=boxed), _ci(other, "pointing", photos=boxed)]
        if has_auc:
            other = others["val"].get(_key(row), {})
            cells += [_ci(other, "deletion_auc", photos=val["n_images"]),
                      _ci(other, "insertion_auc", photos=val["n_images"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def query_table(zoos: dict[str, dict]) -> str:
    """Query dependence (mean over query pairs of 1 − cos) of Non-local, A²'s implied rows and GC, per zoo."""
    lines = ["| zoo | design | block | grid | query dependence (photos) |", "| --- | --- | --- | --- | ---: |"]
    for zoo, results in zoos.items():
        rows = [r for r in results["results"] if "query_dependence" in r]
        rows.sort(key=lambda r: (QUERY_KINDS.index(r["kind"]) if r["kind"] in QUERY_KINDS else 99, r["block"]))
        for r in rows:
            lines.append(f"| {zoo} | `{r['arch']}` | `{r['block']}` ({r['map']}) | {r['grid']} | "
                         f"{_ci(r, 'query_dependence', 3)} ({r['query_dependence_n']}) |")
    return "\n".join(lines) + "\n"


def _command(results: dict, split: str) -> str:
    """The command that wrote ``results`` (its options as recorded in the JSON; DIR the data folder)."""
    boxes = " --boxes DIR/boxes.csv" if results.get("n_boxed") else ""
    limit = f" --limit {results['limit']}" if results.get("limit") else ""
    return (f"python -m a2core.metrics --zoo {results['zoo']} --data DIR/{split}{boxes}{limit} "
            f"--auc-steps {results['auc_steps']} --json attention_{split}.json")


def attention_section(weights_dir: str | Path) -> str:
    """The model card's *Measured attention* section from the JSON files in ``weights_dir`` ('' without any)."""
    results = read_results(weights_dir)
    if not results:
        return ""
    first = next(iter(results.values()))
    parts = [SECTION, ""]
    if any(r.get("n_boxed") for r in results.values()):
        counts = ", ".join(f"{r['n_boxed']} {s} photos" for s, r in results.items())
        parts += [
            "Where each design's maps put their mass, scored against ImageNet's object boxes of the photos that have "
            f"them ({counts}; the train photos were seen in training, never their boxes). On each map's own grid, "
            "*box energy* is the share of the map's mass inside the boxes (a uniform map scores the boxes' area), "
            "*pointing* the share of photos whose largest cell touches a box; A²'s `gather` is its implied attention "
            "averaged over all query positions, `rows` the mean score of every query position's own row; Grad-CAM is "
            "of the true class at `layer3`; `center` a centred Gaussian (σ = ¼ of the side). Deletion and insertion "
            "AUC: the true class's probability as the map's cells are set to the data mean, or revealed, in the "
            "map's order. Means over the photos with 95 % bootstrap intervals.",
            "",
            design_table(results),
        ]
    parts += ["Query dependence (GCNet's measure: the mean over pairs of query positions of 1 − cos between their "
              "attention maps; 0 when every query sees the same map, as GC's context by construction):", "",
              query_table({first["zoo"]: results.get("val", first)})]
    commands = "\n".join(_command(r, s) for s, r in results.items())
    parts += ["Measured with", "", "```bash", commands, "```", ""]
    return "\n".join(parts)


def replace_section(card: str, section: str) -> str:
    """``card`` with its *Measured attention* section replaced by ``section`` (inserted before *Reproduce*)."""
    section = section.rstrip("\n") + "\n\n" if section else ""  # a blank line before the next heading
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## )", re.S | re.M)
    if pattern.search(card):
        return pattern.sub(lambda _: section, card, count=1)
    anchor = card.find("## Reproduce")
    return card + "\n" + section if anchor < 0 else card[:anchor] + section + card[anchor:]


def update_card(card_path: str | Path) -> None:
    """Rewrite the *Measured attention* section of the card at ``card_path`` from the JSON files beside it."""
    card_path = Path(card_path)
    section = attention_section(card_path.parent)
    card_path.write_text(replace_section(card_path.read_text(), section))


def page_tables(photo_dir: str | Path, cifar_dir: str | Path) -> str:
    """The docs page's block: the photo zoo's design table and query dependence on both zoos."""
    photo = read_results(photo_dir)
    cifar = read_results(cifar_dir)
    zoos = {name: r["val"] for name, r in (("imagenette", photo), ("cifar10", cifar)) if "val" in r}
    text = [PAGE_BEGIN, ""]
    if photo:
        text += ["Where the attention lands (photo zoo; box energy and pointing game, 95 % bootstrap intervals; "
                 "val photos and photos seen in training apart):", "", design_table(photo)]
    if zoos:
        text += ["Query dependence (val images; photo zoo at 160 px, CIFAR-10 at 32 px):", "", query_table(zoos)]
    return "\n".join(text + [PAGE_END])


def replace_page_block(page: str, block: str) -> str:
    """``page`` with the text between the markers replaced by ``block`` (markers included in ``block``)."""
    start, end = page.find(PAGE_BEGIN), page.find(PAGE_END)
    if start < 0 or end < 0:
        raise ValueError(f"the page has no {PAGE_BEGIN} … {PAGE_END} markers")
    return page[:start] + block + page[end + len(PAGE_END):]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m a2core.metrics.tables", description=__doc__.split("\n\n")[0])
    parser.add_argument("--card", type=Path, action="append", default=[], help="a model card to update")
    parser.add_argument("--page", type=Path, help="a docs page with the measured-attention markers (docs/measured-attention.md)")
    parser.add_argument("--weights", type=Path, default=WEIGHTS_DIR, help="the weights root (CIFAR-10 zoo's folder)")
    args = parser.parse_args(argv)
    for card in args.card:
        update_card(card)
    if args.page:
        block = page_tables(args.weights / "imagenette", args.weights)
        args.page.write_text(replace_page_block(args.page.read_text(), block))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
