"""``python -m bench.metrics --quick`` runs the metrics command end to end and writes its JSON (it cannot rot)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the metrics benchmark end to end, in a subprocess

ROOT = Path(__file__).resolve().parents[1]


def test_metrics_bench_quick(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bench.metrics", "--quick", "--threads", "1", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"wrote {tmp_path / 'metrics.json'}" in proc.stdout
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data["benchmark"] == "metrics" and data["quick"] is True
    (row,) = data["rows"]
    assert (row["photos"], row["models"]) == (2, 2) and row["wall_s"] > 0
