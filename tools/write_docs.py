"""Write the figures of docs/ from their sources: the model cards, the measured-attention JSON, the "fits none"
rules and the benchmark results. Nothing in a generated block is typed by hand.

    python -m tools.write_docs           # rewrite every generated block of README.md and docs/*.md
    python -m tools.write_docs --check   # exit 1, naming each block that differs from what would be written

A page asks for a block with two marker lines and the script fills what lies between them:

    <!-- generated: imagenette card Evaluation -->
    <!-- /generated -->

``NAME`` is one of :data:`BLOCKS`. Two older marker families are filled by the tools that own them, so those
keep working on a page: ``<!-- measured-attention:begin -->`` (``a2core.metrics.tables``) and
``<!-- fits-none table <zoo>: start … -->`` (``a2core.probe.fit_flag``). ``tests/test_docs.py`` fails
when a page disagrees with what this script would write.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
WEIGHTS = ROOT / "assets" / "weights"
RESULTS = ROOT / "bench" / "results"
CARDS = {"cifar10": WEIGHTS / "MODEL_CARD.md", "imagenette": WEIGHTS / "imagenette" / "MODEL_CARD.md"}
BEGIN = re.compile(r"<!-- generated: (?P<name>[^>]+?) -->\n.*?<!-- /generated -->", re.S)
END = "<!-- /generated -->"


# ---- the model cards ------------------------------------------------------------------------------------

def card_table(zoo: str, section: str) -> str:
    """The first Markdown table of the card's ``## section``, as the card has it, and where it comes from."""
    card = CARDS[zoo]
    text = card.read_text()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    body = text[start:end if end > 0 else len(text)].splitlines()
    first = next(i for i, line in enumerate(body) if line.startswith("|"))
    table = []
    for line in body[first:]:
        if not line.startswith("|"):
            break
        table.append(line)
    anchor = section.lower().replace(" ", "-")
    rel = card.relative_to(ROOT).as_posix()
    return f"From [{rel}](../{rel}#{anchor}), *{section}*:\n\n" + "\n".join(table)


def placement(zoo: str) -> str:
    """Where each of the thirteen archs has its attention in ``zoo``'s backbone, and why (the cards' table)."""
    from a2core.models import ALL_ARCHS
    from a2core.training.card import placement_table

    return f"`a2core.build(arch, zoo=\"{zoo}\")`, from `a2core.models.PLACEMENT_REASONS`:\n\n" + \
        placement_table(ALL_ARCHS, zoo)


def _card_top1(zoo: str) -> dict[str, str]:
    """arch → val top-1 (%) as the zoo's card's *Evaluation* table has it."""
    rows = card_table(zoo, "Evaluation").split("\n\n", 1)[1].splitlines()[2:]
    return {cells[0]: cells[1] for cells in ([c.strip() for c in row.strip("|").split("|")] for row in rows)}


def designs() -> str:
    """The README's table: the thirteen archs, each design's family and paper, and its top-1 in each zoo."""
    from a2core.models import ALL_ARCHS, PAPERS, archs_with_weights, family_of, zoo_dir

    top1 = {zoo: _card_top1(zoo) for zoo in CARDS}
    shipped = {zoo: set(archs_with_weights(zoo_dir(zoo, WEIGHTS))) for zoo in CARDS}

    def score(zoo: str, arch: str) -> str:
        if arch in top1[zoo]:
            return f"{top1[zoo][arch]} %"
        return "not in the card yet" if arch in shipped[zoo] else "not trained yet"

    rows = [[f"`{arch}`", family_of(arch) or "baseline", PAPERS.get(arch, "—"), score("imagenette", arch),
             score("cifar10", arch)] for arch in ALL_ARCHS]
    return _table(["model", "family", "design", "photo zoo, val top-1", "CIFAR-10 zoo, val top-1"], rows,
                  right_from=3)


# ---- the benchmark results ------------------------------------------------------------------------------

def _result(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def _made_by(data: dict, name: str, command: str) -> str:
    m = data.get("machine", {})
    where = (f"{m.get('cpu', '?')} ({m.get('cpu_count', '?')} cores, torch threads: {m.get('torch_threads', '?')}), "
             f"PyTorch {m.get('torch', '?')}") if m else "machine not recorded"
    link = f"[`bench/results/{name}.json`](../bench/results/{name}.json)"
    return f"`{command}` on {where}; {data['created'][:10]}; {link}"


def _table(head: list[str], rows: list[list[str]], right_from: int = 1) -> str:
    align = ["---" if i < right_from else "---:" for i in range(len(head))]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def _bytes(n: float | None) -> str:
    if n is None:
        return "–"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            value = n / size
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{n:.0f} B"


BLOCK_COLUMNS = ("A2 gather_first", "A2 pairwise", "Non-local", "SE", "GC", "ECA", "GSoP")


def bench_blocks_memory() -> str:
    data = _result("blocks")
    peak = {(r["section"], r["t"], r["h"], r["block"]): r.get("peak_bytes") for r in data["rows"]}
    shapes = sorted({(s, t, h) for s, t, h, _ in peak if s in ("image", "video")}, key=lambda k: (k[0], k[1], k[2]))
    rows = []
    for section, t, h in shapes:
        label = f"{h}×{h}" if section == "image" else f"{t}×{h}×{h} video"
        rows.append([label] + [_bytes(peak.get((section, t, h, b))) for b in BLOCK_COLUMNS])
    c = data["config"]["sizes"]
    target = data["targets"][0]
    return (_made_by(data, "blocks", "python -m bench.blocks") + "\n\n"
            f"Peak tensor memory of one block forward (batch 1, c = {c['channels']}, A² m = n = {c['m']}):\n\n"
            + _table(["feature map"] + [b.replace("A2", "A²").replace("_", "-") for b in BLOCK_COLUMNS], rows) + "\n\n"
            f"At {target['size']}×{target['size']}: A² gather-first needs "
            f"**{target['memory_ratio']:.0f}× less** peak "
            f"memory than Non-local (target ≥ {target['memory_target']}), and its median time was "
            f"{target['speedup']:.0f}× shorter (target ≥ {target['speedup_target']}; a ratio of two medians).")


def bench_blocks_claim() -> str:
    data = _result("blocks")
    c = data["claim"][0]
    return (_made_by(data, "blocks", "python -m bench.blocks") + "\n\n"
            + _table(["order (c = m = n = {0}, {1} frames of {2}×{2})".format(c["m"], c["t"], c["h"]),
                      "attention state, measured", "same, counted (`a2core.lessons.cost`)", "peak tensor memory"],
                     [["gather first: G (m × n)", _bytes(c["gather_first_attention_bytes_measured"]),
                       _bytes(c["gather_first_attention_bytes_computed"]), _bytes(c["gather_first_peak_bytes"])],
                      ["pairwise: the L × L matrix", _bytes(c["pairwise_attention_bytes_measured"]),
                       _bytes(c["pairwise_attention_bytes_computed"]), _bytes(c["pairwise_peak_bytes"])]]))


def bench_blocks_speedup() -> str:
    data = _result("blocks")
    rows = [[f"{r['batch']} × {r['c']} × {r['h']} × {r['w']}", r["m"], r["mode"], f"{r['speedup']:.2f}×",
             f"{r['max_abs_diff']:.0e}"] for r in data["a2_vs_obvious"]]
    return (_made_by(data, "blocks", "python -m bench.blocks") + "\n\n"
            + _table(["input (N × c × h × w)", "m = n", "mode", "speed-up over the obvious block (median of pairs)",
                      "max abs diff"], rows, right_from=1))


def bench_models(zoo: str) -> str:
    name = "models_imagenette" if zoo == "imagenette" else "models"
    data = _result(name)
    size = data["config"]["resolutions"][0]
    rows = {}
    for r in data["rows"]:
        if r["size"] != size:
            continue
        row = rows.setdefault(r["arch"], {"params": r["params"], "flops": r["flops_per_image"],
                                          "weights": r["weights"]})
        row[r["batch"]] = r
    command = "python -m bench.models" + (" --zoo imagenette" if zoo == "imagenette" else "")
    return (_made_by(data, name, command) + "\n\n"
            + _table(["model", "weights", "params", "MFLOPs", "ms / image, batch 1", "images / s, batch 32"],
                     [[f"`{arch}`", r["weights"], f"{r['params']:,}", f"{r['flops'] / 1e6:.1f}",
                       f"{1000 * r[1]['latency_per_image_s']:.1f}" if 1 in r else "–",
                       f"{r[32]['images_per_s']:.0f}" if 32 in r else "–"] for arch, r in rows.items()],
                     right_from=2)
            + f"\n\nAt {size} px; every size and batch measured is in the JSON.")


def bench_app() -> str:
    data = _result("app_imagenette")
    ms = lambda s: f"{1000 * s:.1f}"  # noqa: E731
    rows = [[r["image"].replace("sample ", "sample: "), f"{r['size']} px", ms(r["stages_s"]["decode"]),
             ms(r["upload_to_maps_s"]), ms(r["upload_to_page_s"]), ms(r["click_to_view_s"]), ms(r["click_rerun_s"])]
            for r in data["rows"]]
    t = data["targets_ms"]
    return (_made_by(data, "app_imagenette", "python -m bench.app --zoo imagenette") + "\n\n"
            + _table(["image", "view", "decode", "upload → prediction and all maps", "+ page figures",
                      "click → new view", "click rerun"], rows, right_from=1)
            + f"\n\nMilliseconds, medians. Targets: upload → maps < {t['upload_to_maps']:.0f} ms, "
              f"click → view < {t['click_to_view']:.0f} ms.")


def bench_browser() -> str:
    data = _result("browser_imagenette")
    rows = []
    for r in data["rows"]:
        rows.append([f"{r['size']} px", f"{statistics.median(r['hovers_ms']):.0f} ms ({max(r['hovers_ms']):.0f})",
                     r["hover_frames_sent"], f"{1000 * statistics.median(r['pins_s']):.0f} ms",
                     f"{1000 * statistics.median(r['uploads_s']):.0f} ms ({1000 * max(r['uploads_s']):.0f})"])
    t = data["targets_ms"]
    w, h = data["viewport"]
    return (_made_by(data, "browser_imagenette", "python -m bench.browser --zoo imagenette") + "\n\n"
            f"Chromium at {w}×{h}, photo zoo:\n\n"
            + _table(["view", "hover → view redrawn, median (max)", "websocket frames sent by the hovers",
                      "pin → server's panels follow, median", "12-MP upload → every map drawn, median (max)"],
                     rows, right_from=1)
            + "\n\nFirst page load in a fresh tab of a warm server: "
              f"{1000 * statistics.median(data['loads_s']):.0f} ms "
              f"(median of {len(data['loads_s'])}). Targets: hover < {t['hover']:.0f} ms, 12-MP upload < "
              f"{t['upload_12mp']:.0f} ms.")


def bench_load(zoo: str) -> str:
    name = "load_imagenette" if zoo == "imagenette" else "load"
    data = _result(name)
    command = "python -m bench.load" + ("" if data.get("zoo", "cifar10") == "imagenette" else " --zoo cifar10")
    command += "" if data.get("xsrf", False) else " --no-xsrf"
    rows = [[action, v["n"]] + [f"{v[k]:.1f} s" for k in ("p50", "p90", "p99", "max")]
            for action, v in data["latency_s"].items()]
    mib = lambda b: f"{b / 2**20:.0f} MiB"  # noqa: E731
    per = 1000 * data["server_cpu_s"] / data["interactions"]
    return (_made_by(data, name, command) + "\n\n"
            f"{data['sessions']} sessions at once, each opening Explore, uploading a photo and pinning "
            f"{data['clicks']} cells:\n\n"
            + _table(["action", "runs", "p50", "p90", "p99", "max"], rows)
            + f"\n\n{len(data['errors'])} errors; the whole class served in {data['wall_s']:.1f} s; server memory "
              f"{mib(data['server_rss_before'])} → {mib(data['server_rss_after'])}, peak "
              f"{mib(data['server_peak_rss'])}; {per:.0f} ms of server CPU per interaction.")


def bench_memory() -> str:
    data = _result("memory")
    mib = lambda b: f"{b / 2**20:.0f} MiB"  # noqa: E731
    c = data["config"]
    rows = [["page open", mib(data["after_open_rss"])]]
    rows += [[f"after {s['uploads']} uploads", mib(s["rss"])] for s in data["samples"] if s["uploads"] in (100, 200)]
    rows += [[f"after a second session's {c['second_session']} uploads", mib(data["after_second_session_rss"])],
             ["peak", mib(data["peak_rss"])]]
    return (_made_by(data, "memory", "python -m bench.memory") + "\n\n"
            f"One session uploading {c['uploads']} different photos at the {c['size']} px view; server RSS:\n\n"
            + _table(["when", "server RSS"], rows)
            + f"\n\nGrowth over the second half: {data['growth_second_half_mib_per_upload']:+.2f} MiB per upload.")


def bench_hostile() -> str:
    data = _result("hostile")
    by_file: dict[str, dict] = {}
    for r in data["rows"]:
        by_file.setdefault(r["file"], {"kb": r["kb"]})[r["step"]] = f"{r['rise']:.0f}" if r["ok"] == "ok" else r["ok"]
    rows = [[f"`{f}`", v["kb"], v.get("check", "–"), v.get("explore", "–"), v.get("compare", "–")]
            for f, v in by_file.items()]
    return (_made_by(data, "hostile", "python -m bench.hostile") + "\n\n"
            "Peak resident memory over the step's start, MiB, each in a fresh process:\n\n"
            + _table(["file (the largest of its kind accepted)", "kB", "upload check", "Explore", "Compare"], rows))


def bench_measure_button() -> str:
    data = _result("measure_button")
    rows = [[r["case"], f"{r['t']}×{r['h']}×{r['w']}", r["c"], r["m"], r["n"], f"{r['GFLOPs']:.2f}",
             f"{r['seconds']:.2f} s", f"{r['rss_mb']:.0f} MB"] for r in data["rows"]]
    return (_made_by(data, "measure_button", "python -m bench.measure_button") + "\n\n"
            + _table(["case", "t×h×w", "c", "m", "n", "GFLOPs", "time a press", "memory a press"], rows))


def bench_browser_compare() -> str:
    data = _result("browser_compare_imagenette")
    rows, loads = [], {}
    for r in data["rows"]:
        hovers = r["hovers_ms"]
        loads[r["set"]] = statistics.median(r["loads_s"])
        rows.append([f"{r['set']} ({r['models']} models)", f"{1000 * loads[r['set']]:.0f} ms",
                     f"{statistics.median(hovers):.0f} ms ({max(hovers):.0f})",
                     f"{sum(h >= data['targets_ms']['hover'] for h in hovers)} (first: {hovers[0]:.0f} ms)",
                     r["hover_frames_sent"], f"{len(r['loads_s'])} / {len(hovers)}"])
    ratio = loads["thirteen"] / loads["seven"]
    return (_made_by(data, "browser_compare_imagenette", "python -m bench.browser --zoo imagenette --compare")
            + "\n\n" + f"Chromium at 1280×900, Compare at {data['size']} px on the photo zoo:\n\n"
            + _table(["models", "page load, median", "hover → every card redrawn, median (max)",
                      f"hovers at {data['targets_ms']['hover']:.0f} ms or more (the page's first hover)",
                      "websocket frames sent by the hovers", "loads / hovers"], rows)
            + f"\n\nThirteen against seven, median page load: {ratio:.2f}× (target ≤ 1.5×); "
              f"hover target < {data['targets_ms']['hover']:.0f} ms with every model shown.")


def bench_metrics() -> str:
    data = _result("metrics")
    rows = [[r["photos"], r["models"], r["threads"], r["auc_steps"], f"{r['wall_s']:.0f} s",
             f"{r['per_photo_model_s']:.2f} s", f"{r['target_s']:.0f} s", "met" if r["met"] else "missed"]
            for r in data["rows"]]
    return (_made_by(data, "metrics", "python -m bench.metrics --data ../shared/data/imagenette") + "\n\n"
            + _table(["photos", "models", "torch threads", "deletion/insertion steps", "wall time",
                      "per photo and model", "target", ""], rows))


def bench_load_cpu() -> str:
    data = _result("load_cpu_imagenette")
    rows = [[action, len(data["cpu_s"][action]), f"{data['median_cpu_s'][action]:.3f}",
             f"{data['mean_cpu_s'][action]:.3f}", f"{max(data['cpu_s'][action]):.3f}"] for action in data["cpu_s"]]
    return (_made_by(data, "load_cpu_imagenette",
                     f"python -m bench.load --cpu --sessions {data['sessions']} --clicks {data['clicks']}")
            + "\n\n" + "One session at a time, the server's CPU time (user + system) around each action:\n\n"
            + _table(["action", "runs", "median CPU-s", "mean CPU-s", "max CPU-s"], rows)
            + f"\n\n{len(data['errors'])} errors.")


#: name → the function that writes the block
BLOCKS: dict[str, Callable[[], str]] = {
    **{f"{zoo} card {section}": (lambda zoo=zoo, section=section: card_table(zoo, section))
       for zoo in CARDS for section in ("Training recipe", "Compute budget", "Evaluation", "Seeds",
                                        "How sharp the A² gathering maps are")},
    "imagenette card Targets": lambda: card_table("imagenette", "Targets"),
    **{f"placement {zoo}": (lambda zoo=zoo: placement(zoo)) for zoo in CARDS},
    "designs": designs,
    "bench blocks memory": bench_blocks_memory,
    "bench blocks claim": bench_blocks_claim,
    "bench blocks speedup": bench_blocks_speedup,
    "bench models cifar10": lambda: bench_models("cifar10"),
    "bench models imagenette": lambda: bench_models("imagenette"),
    "bench app imagenette": bench_app,
    "bench browser imagenette": bench_browser,
    "bench load imagenette": lambda: bench_load("imagenette"),
    "bench load cifar10": lambda: bench_load("cifar10"),
    "bench memory": bench_memory,
    "bench hostile": bench_hostile,
    "bench measure_button": bench_measure_button,
    "bench browser compare imagenette": bench_browser_compare,
    "bench metrics": bench_metrics,
    "bench load cpu imagenette": bench_load_cpu,
}


# ---- pages ----------------------------------------------------------------------------------------------

def _older_markers(text: str) -> str:
    """The blocks the package's own tools write: measured attention, and each zoo's "fits none" table."""
    from a2core.metrics.tables import PAGE_BEGIN, page_tables, replace_page_block
    from a2core.probe.fit_flag import table_markers, write_table

    if PAGE_BEGIN in text:
        text = replace_page_block(text, page_tables(WEIGHTS / "imagenette", WEIGHTS))
    for zoo, folder in (("imagenette", WEIGHTS / "imagenette"), ("cifar10", WEIGHTS)):
        if table_markers(zoo)[0] in text:
            report = json.loads((folder / "fits_none.json").read_text())["report"]
            with tempfile.TemporaryDirectory() as tmp:
                page = Path(tmp) / "page.md"
                page.write_text(text)
                write_table(page, report)
                text = page.read_text()
    return text


def render(text: str) -> str:
    """``text`` with every generated block rewritten from its source."""
    def fill(match: re.Match) -> str:
        name = match["name"].strip()
        if name not in BLOCKS:
            raise KeyError(f"unknown generated block {name!r}; known: {', '.join(sorted(BLOCKS))}")
        return f"<!-- generated: {name} -->\n\n{BLOCKS[name]().strip()}\n\n{END}"
    return _older_markers(BEGIN.sub(fill, text))


def pages(folder: Path = DOCS) -> list[Path]:
    """The pages with generated blocks: the README and every page of ``folder``."""
    return [ROOT / "README.md", *sorted(folder.glob("*.md"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.write_docs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a page is out of date")
    parser.add_argument("pages", nargs="*", type=Path, help="pages to write (default: README.md and docs/*.md)")
    args = parser.parse_args(argv)
    stale = []
    for page in args.pages or pages():
        text = page.read_text()
        new = render(text)
        if new != text:
            stale.append(page)
            if not args.check:
                page.write_text(new)
    for page in stale:
        print(f"{'out of date' if args.check else 'written'}: {page}", file=sys.stderr)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
