"""The DistributedDataParallel path: torchrun with 2 CPU processes (gloo) on a tiny folder."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_folder import make_image_folder

from a2core import load_pretrained

pytestmark = pytest.mark.slow  # torchrun with two processes

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_torchrun_with_two_cpu_processes_trains_and_writes_weights(tmp_path):
    data = make_image_folder(tmp_path / "data")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    if sys.platform == "linux" and Path("/sys/class/net/lo").exists():
        env.setdefault("GLOO_SOCKET_IFNAME", "lo")  # the loopback, whatever the host name resolves to
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--nnodes=1",
               "--master_addr=127.0.0.1", f"--master_port={free_port()}",
               "-m", "a2core.training.train", "--arch", "resnet", "--data", str(data), "--out", str(out),
               "--epochs", "1", "--limit", "4", "--batch-size", "8", "--no-progress", "--workers", "0",
               "--threads", "1"]
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"torchrun did not finish in 240 s:\n{e.stdout}\n{e.stderr}")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output

    assert "processes 2" in done.stdout, output
    (record,) = [json.loads(line) for line in (out / "logs" / "resnet.jsonl").read_text().splitlines()]
    assert record["epoch"] == 1
    # Each process trains on its half; the log counts both halves: 40 images, batch 4 per process.
    assert record["images_per_s"] * record["seconds"] == pytest.approx(40)
    model = load_pretrained("resnet", out / "resnet.safetensors")
    assert model.meta.recipe["batch_size"] == 8 and model.meta.classes == tuple(f"class{k}" for k in range(10))
