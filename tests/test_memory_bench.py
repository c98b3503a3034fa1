"""bench/memory.py --diagnose runs against a real server and sees inside it (bench/memhook.py), so it cannot rot;
and on that real server a session's widget records stay as many as its page shows while it uploads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs the memory benchmark's server and uploads in subprocesses

ROOT = Path(__file__).resolve().parents[1]


def test_memory_diagnosis_reports_from_inside_the_server(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory", "--diagnose", "--quick", "--uploads", "4", "--warm", "2",
         "--frames", "2", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    data = json.loads((tmp_path / "memory_diagnosis.json").read_text())
    assert data["benchmark"] == "memory_diagnosis" and data["quick"] is True and not data["errors"]
    reports = data["reports"]
    assert list(reports) == ["open", "warm", "end", "closed"]
    for report in reports.values():
        assert report["rss"]["Rss"] > 100 * 2**20 and report["malloc"]["in_use"] > 0
        assert report["streamlit"]["sessions"] == 1 and report["objects"]["dict"] > 0
    assert reports["end"]["traced"]["current"] > 0  # tracemalloc ran from the first report on
    assert reports["end"]["streamlit"]["caches"]["st_cache_data:app.common.run_probe"] > 0
    # Two more uploads, two more chart figures: no more widget records (14 → 18 before app.common's fix).
    assert reports["end"]["streamlit"]["widget_metadata"] == reports["warm"]["streamlit"]["widget_metadata"] > 0


def test_the_largest_png_the_app_accepts_costs_explore_at_most_512_mib(tmp_path):
    # bench/hostile.py --quick: an 8000 × 8000 RGBA PNG of ~260 kB, the upload check alone and the Explore page
    # (AppTest, photo zoo), each in a fresh process, peak resident memory over the step's start.
    done = subprocess.run([sys.executable, "-m", "bench.hostile", "--quick", "--out", str(tmp_path),
                           "--steps", "check", "explore"], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    rows = json.loads((tmp_path / "hostile.json").read_text())["rows"]
    assert [(r["file"], r["step"], r["ok"]) for r in rows] == [("rgba_8000.png", "check", "ok"),
                                                                ("rgba_8000.png", "explore", "ok")]
    # the decoded picture itself is 244 MiB (Pillow keeps 4 bytes a pixel); before, Explore peaked ~950 MiB over
    assert all(200 < r["rise"] <= 512 for r in rows), rows
