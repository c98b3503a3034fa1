"""The server gives each forward pass one torch thread (app.sessions.share_cores), unless told otherwise.

A class's sessions each run their script in a thread of their own; with torch's default of one OpenMP
thread per core for every forward pass, the workers spin waiting for each other (README, Classroom).
"""

from __future__ import annotations

import logging
import threading

import pytest
import torch

from app import sessions


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(2 if threads == 1 else 1)  # start from another count than the one expected
    yield
    torch.set_num_threads(threads)


def _in_a_new_thread() -> int:
    # A session's script runs in a thread of its own: the count must hold there, not only where it was set.
    seen = []
    worker = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    worker.start()
    worker.join()
    return seen[0]


@pytest.mark.parametrize("value, expected", [(None, sessions.TORCH_THREADS), ("3", 3)])
def test_each_forward_pass_gets_the_configured_threads(monkeypatch, restore_threads, value, expected):
    if value is None:
        monkeypatch.delenv("A2LENS_TORCH_THREADS", raising=False)
    else:
        monkeypatch.setenv("A2LENS_TORCH_THREADS", value)
    assert sessions.share_cores() == expected
    assert torch.get_num_threads() == expected and _in_a_new_thread() == expected
    assert sessions.share_cores() == expected  # a rerun changes nothing


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_thread_count_falls_back_with_a_warning(monkeypatch, restore_threads, caplog, value):
    monkeypatch.setenv("A2LENS_TORCH_THREADS", value)
    with caplog.at_level(logging.WARNING, logger="app.sessions"):
        assert sessions.share_cores() == sessions.TORCH_THREADS
    assert torch.get_num_threads() == sessions.TORCH_THREADS
    assert any("A2LENS_TORCH_THREADS" in r.getMessage() for r in caplog.records)
