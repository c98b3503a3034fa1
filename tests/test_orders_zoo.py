"""Measuring the two orders of the A² block, and the zoo's parameter and FLOP counts."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from a2core.training.measure import count_params
from a2core.models import build
from a2core.lessons.orders import MAX_PAIRWISE_BYTES, largest_allocation, measure_orders, time_pass
from a2core.training.zoo import zoo_rows


def test_measure_orders_sees_the_pairwise_matrix():
    rows = measure_orders(c=8, m=4, n=2, t=1, h=12, w=12, repeats=1)
    by = {r["order"]: r for r in rows}
    L = 144
    assert set(by) == {"gather_first", "pairwise"}
    assert by["pairwise"]["peak_bytes"] >= L * L * 4, "the L × L matrix is allocated"
    assert by["gather_first"]["peak_bytes"] < L * L * 4
    assert by["pairwise"]["max_abs_diff"] < 1e-4, "both orders give the same Y"
    assert all(r["time_ms"] > 0 for r in rows)


def test_measure_orders_refuses_huge_sizes():
    side = int((MAX_PAIRWISE_BYTES / 4) ** 0.25) + 2
    with pytest.raises(ValueError, match="capped"):
        measure_orders(c=8, m=4, n=2, h=side, w=side)


def test_largest_allocation_of_a_known_tensor():
    peak, total = largest_allocation(lambda: torch.empty(1000, 1000))
    assert peak == 4_000_000 and total == peak


def test_largest_allocation_skips_views_and_in_place_results():
    x = torch.ones(100, 100)
    peak, total = largest_allocation(lambda: (x.view(-1), x.t(), x.add_(1), x @ x))
    assert peak == total == 100 * 100 * 4  # only x @ x is a new tensor


def test_measure_orders_times_for_the_minimum_duration_and_at_least_the_repeats():
    rows = measure_orders(c=8, m=4, n=2, t=1, h=4, w=4, repeats=3, min_time_s=0.05)
    # a 4×4 pass takes well under a millisecond: the timer runs many of them to fill 50 ms
    assert all(r["runs"] >= 10 for r in rows), [r["runs"] for r in rows]
    slow = time_pass(lambda: time.sleep(0.03), min_time_s=0.01, repeats=3)
    assert slow[1] == 3 and 25 <= slow[0] <= 200


def test_measuring_writes_nothing_to_the_log(capfd):
    # The page measures in Streamlit's script thread; the profiler used to print there (and once an
    # "External init callback must run in same thread" error) on the server's stderr.
    thread = threading.Thread(target=measure_orders, kwargs=dict(c=8, m=4, n=2, t=1, h=6, w=6, min_time_s=0.02))
    thread.start()
    thread.join()
    out, err = capfd.readouterr()
    assert out == "" and err == ""


@pytest.mark.slow
def test_zoo_rows_extra_cost_over_the_plain_resnet(tmp_path):
    from a2core.weights import ModelMeta, save_weights

    for arch in ("resnet", "se_resnet", "nl_resnet"):
        meta = ModelMeta(arch=arch, classes=tuple("abcdefghij"), val_accuracy=0.5)
        save_weights(build(arch), tmp_path / f"{arch}.safetensors", meta)
    rows = {r["arch"]: r for r in zoo_rows(tmp_path)}
    assert list(rows) == ["resnet", "se_resnet", "nl_resnet"]
    assert rows["resnet"]["extra_params"] == 0 and rows["resnet"]["extra_flops"] == 0
    se = build("se_resnet")
    assert rows["se_resnet"]["params"] == count_params(se)
    assert rows["se_resnet"]["extra_params"] == count_params(se) - count_params(build("resnet"))
    # Non-local's L × L products cost far more than SE's two small layers
    assert rows["nl_resnet"]["extra_flops"] > 100 * rows["se_resnet"]["extra_flops"] > 0
    assert rows["se_resnet"]["val_accuracy"] == 0.5 and rows["se_resnet"]["latency_ms"] is None
