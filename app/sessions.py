"""Closed sessions give their memory back: uploads, session state and all, once they cannot be resumed.

A tab that closes leaves its session in Streamlit's session storage for
``server.disconnectedSessionTTL`` seconds, so a browser that lost its connection
for a moment resumes it. Streamlit 1.67 forgets such a session lazily, when the storage is next
written (another tab disconnecting), and forgetting it does not shut it down: its uploaded files
stay in the upload store (``remove_session_files`` runs only on shutdown). Here, once per server:

- every session the storage lets go of is shut down, unless it was taken back by a reconnecting tab
  (the storage's ``on_remove``), so its uploads leave the upload store;
- the storage is swept on the server's event loop every :func:`sweep_interval` seconds, so expiry
  does not wait for another tab.

Both run on the event loop, where Streamlit itself touches session storage. ``install`` does nothing
outside a server (AppTest, bare mode) or when Streamlit's internals are not what this module knows.

Sessions also share the server's cores: :func:`share_cores` gives each forward pass one torch thread,
and :func:`settle` keeps what a page loads for good out of the collection Streamlit runs after every run.
"""

from __future__ import annotations

import gc
import logging
import os
import threading

from streamlit import config, runtime
from streamlit.runtime.memory_session_storage import MemorySessionStorage

LOG = logging.getLogger(__name__)
#: Sweeps come at most this many seconds apart (a quarter of the TTL when that is shorter).
SWEEP_S = 10.0


def sweep_interval(ttl_s: float) -> float:
    return max(0.25, min(SWEEP_S, ttl_s / 4))


def install() -> bool:
    """Release closed sessions on this server (idempotent) → whether it is installed."""
    if not runtime.exists():
        return False
    rt = runtime.get_instance()
    manager = getattr(rt, "_session_mgr", None)
    storage = getattr(manager, "_session_storage", None)
    if not isinstance(storage, MemorySessionStorage):  # AppTest, or a server with storage of its own
        return False
    cache = getattr(storage, "_cache", None)
    async_objs = getattr(rt, "_async_objs", None)
    if cache is None or async_objs is None or not hasattr(cache, "expire") or not hasattr(cache, "_on_remove"):
        LOG.warning("Streamlit's session storage is not the one app.sessions knows: closed sessions are "
                    "released by Streamlit alone")
        return False
    if getattr(cache, "a2lens_releases", False):
        return True
    cache.a2lens_releases = True
    previous = cache._on_remove

    def on_remove(session_id, info) -> None:
        if previous is not None:
            previous(session_id, info)
        # Streamlit deletes a session from storage when a tab resumes it (it is active again then) and
        # when it closes one itself (it shuts it down right after; a second shutdown does nothing).
        if not manager.is_active_session(session_id):
            info.session.shutdown()

    cache._on_remove = on_remove
    interval = sweep_interval(float(config.get_option("server.disconnectedSessionTTL")))
    loop = async_objs.eventloop

    def sweep() -> None:
        try:
            cache.expire()  # on_remove shuts each expired session down
        except Exception:  # noqa: BLE001 (a sweep must never take the event loop down)
            LOG.exception("sweeping closed sessions failed")
        if not loop.is_closed() and not async_objs.stopped.done():
            loop.call_later(interval, sweep)

    loop.call_soon_threadsafe(sweep)
    return True


#: torch's intra-op threads per forward pass on the server; ``$A2LENS_TORCH_THREADS`` overrides it.
TORCH_THREADS = 1


def share_cores() -> int:
    """Give every forward pass :data:`TORCH_THREADS` torch threads (or ``$A2LENS_TORCH_THREADS``) → the count.

    Each session runs its script in a thread of its own, and a class's sessions run at once. With torch's
    default, one OpenMP thread per core for every forward pass, thirty sessions ask for all the cores
    thirty times over, and OpenMP's workers spin while they wait for each other: on a busy two-core
    machine an upload cost the server 6.6 CPU-s instead of 0.6 (the "fits none" flag's seven models
    made it worse: each forward pass is one more wait). One thread per pass; the sessions are the
    parallelism. Set by value, so it is a no-op on every rerun after the first.
    """
    import torch

    wanted = os.environ.get("A2LENS_TORCH_THREADS", "")
    threads = int(wanted) if wanted.strip().isdigit() and int(wanted) > 0 else TORCH_THREADS
    if torch.get_num_threads() != threads:
        if wanted and str(threads) != wanted.strip():
            LOG.warning("A2LENS_TORCH_THREADS=%r is not a positive whole number: %d thread(s)", wanted, threads)
        torch.set_num_threads(threads)
    return threads


_SETTLED: set[str] = set()
_SETTLING = threading.Lock()


def settle(page: str) -> bool:
    """After the first full run of ``page`` in this process: collect, then freeze what is left → whether it did.

    Streamlit runs a full ``gc.collect(2)`` after every script run. ``app.common`` freezes what exists
    when a model loads, but a page's first run goes on to load more that lives as long as the server:
    the "fits none" flag's seven models, the modules imported on first use (plotly's figure classes,
    …), ~48k objects whose walk cost 22 ms of every later run, open, upload and pin alike (20 % of a
    pin). Frozen once per page (four times at most), after a collection, so no garbage is frozen; what
    the first session itself holds is frozen with it and still freed when unreferenced, unless it sits
    in a reference cycle: at most that one session's worth, once per page, for the server's life.
    """
    if page in _SETTLED:
        return False
    with _SETTLING:
        if page in _SETTLED:
            return False
        gc.collect()
        gc.freeze()
        _SETTLED.add(page)
    return True
