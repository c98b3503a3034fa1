"""Each benchmark script runs in its --quick mode and writes sensible JSON, so the scripts cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import a2core
from a2core.training.measure import count_params

pytestmark = pytest.mark.slow  # each benchmark's --quick run in a subprocess

ROOT = Path(__file__).resolve().parents[1]


def run_bench(name: str, out: Path, zoo: str | None = None) -> dict:
    """``python -m bench.<name> --quick`` (``--zoo zoo`` when given; its JSON is then ``<name>_<zoo>.json``)."""
    proc = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--quick", "--out", str(out)] + (["--zoo", zoo] if zoo else []),
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    result = f"{name}_{zoo}" if zoo else name
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| " in proc.stdout and f"wrote {out / (result + '.json')}" in proc.stdout
    data = json.loads((out / f"{result}.json").read_text())
    assert data["benchmark"] == result and data["quick"] is True
    assert data["machine"]["cpu_count"] >= 1 and data["machine"]["torch"] == __import__("torch").__version__
    return data


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    results = {name: run_bench(name, out) for name in ("blocks", "models", "app")}
    results.update({f"{name}_imagenette": run_bench(name, out, "imagenette") for name in ("models", "app")})
    return results


def test_blocks_quick(results):
    data = results["blocks"]
    rows = data["rows"]
    image = [r for r in rows if r["section"] == "image" and r["device"] == "cpu"]
    series = {"CBAM", "BAM", "Triplet", "CC-Net (R=2)", "SK conv", "split-attention conv"}
    assert {r["block"] for r in image} == {"A2 gather_first", "A2 pairwise", "Non-local", "SE", "GC", "ECA",
                                           "GSoP"} | series
    assert not series & {r["block"] for r in rows if r["section"] == "video"}  # images only
    assert {r["section"] for r in rows} == {"image", "video", "article"}
    for r in rows:
        if r["measured"]:
            assert r["median_s"] > 0 and r["peak_bytes"] > 0, r
        if r["block"].startswith("A2") or r["block"] == "Non-local":
            assert r["attention_bytes_computed"] > 0 and r["flops_computed"] > 0, r
    # The measured attention tensors are what a2core.lessons.cost predicts, and the L × L order is the larger.
    article = [r for r in rows if r["section"] == "article" and r["measured"]]
    assert article
    for r in article:
        assert r["attention_bytes_measured"] == r["attention_bytes_computed"], r
    for claim in data["claim"]:
        assert claim["pairwise_attention_bytes_measured"] > claim["gather_first_attention_bytes_measured"] > 0
        assert claim["pairwise_peak_bytes"] > claim["gather_first_peak_bytes"] > 0
    assert data["targets"] and all(t["speedup"] > 0 and t["memory_ratio"] > 0 for t in data["targets"])


@pytest.mark.parametrize("zoo", ["cifar10", "imagenette"])
def test_models_quick(results, zoo):
    data = results["models" if zoo == "cifar10" else f"models_{zoo}"]  # CIFAR-10: the default, no --zoo
    rows = data["rows"]
    assert data["config"]["zoo"] == zoo and {r["size"] for r in rows} == {32 if zoo == "cifar10" else 160}
    assert {r["arch"] for r in rows} == set(a2core.ARCHS)
    for r in rows:  # the zoo's own backbone
        assert r["params"] == count_params(a2core.build(r["arch"], zoo=zoo)), r
    for r in rows:
        assert r["params"] > 0 and r["flops_per_image"] > 0, r
        assert r["batch_latency_s"] > 0 and r["images_per_s"] > 0, r
        assert r["latency_per_image_s"] * r["batch"] == pytest.approx(r["batch_latency_s"])
    flops = {r["arch"]: r["flops_per_image"] for r in rows}
    params = {r["arch"]: r["params"] for r in rows}
    for arch in a2core.ARCHS:
        if arch != "resnet":  # every attention design adds weights and work to the same backbone
            assert flops[arch] > flops["resnet"] and params[arch] > params["resnet"], arch


@pytest.mark.parametrize("zoo", ["cifar10", "imagenette"])
def test_app_quick(results, zoo):
    data = results["app" if zoo == "cifar10" else f"app_{zoo}"]
    assert data["arch"] == "a2_resnet" and data["zoo"] == zoo and data["rows"]
    blocks = a2core.attention_blocks(a2core.build("a2_resnet", zoo=zoo))
    finest = {"cifar10": ("layer2.2.attn", 16), "imagenette": ("layer2.1.attn", 20)}[zoo]
    for r in data["rows"]:
        assert r["block"] in blocks and r["n"] == blocks[r["block"]].n
        assert (r["block"], r["feature_size"][0]) == finest, "the page's default block, at the trained size"
        assert set(r["stages_s"]) == {"decode", "maps", "analysis", "figures", "click_view"}
        assert all(t > 0 for t in r["stages_s"].values()), r
        for key in ("upload_to_maps_s", "upload_to_page_s", "click_to_view_s", "click_rerun_s"):
            assert r[key] > 0, key
        assert set(r["targets_met"]) == {"upload_to_maps", "click_to_view"}


def test_measure_button_quick(tmp_path):
    # The Learn page's default press, measured in a fresh process: a positive time, the plan's L.
    data = run_bench("measure_button", tmp_path)
    (row,) = data["rows"]
    assert row["case"] == "page default" and row["L"] == row["t"] * row["h"] * row["w"]
    assert row["seconds"] > 0 and row["GFLOPs"] > 0
