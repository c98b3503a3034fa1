"""``streamlit run`` with a memory probe inside the server process, for bench/memory.py's ``--diagnose``.

    python -m bench.memhook DIR run app/main.py [streamlit options…]

Runs Streamlit's own CLI in this process. A daemon thread watches DIR: for each ``DIR/<label>.req``
it writes ``DIR/<label>.json`` (after a full ``gc.collect()``) with

- ``rss``: VmRSS and the ``/proc/self/smaps_rollup`` fields (anonymous vs file-backed);
- ``malloc``: glibc's ``mallinfo2`` (bytes in use by malloc, free but kept, mmapped),
  which tells memory the process still uses from heap it freed but did not return;
- ``traced``: with ``$A2LENS_TRACEMALLOC`` frames > 0 (tracing from the first report on),
  what tracemalloc sees (Python objects and numpy buffers, not torch's or protobuf's C
  allocations), and the snapshot itself in ``DIR/<label>.tm`` to diff;
- ``objects``: live gc-tracked objects by type;
- ``streamlit``: the runtime's own stats providers (caches, session state, uploaded
  and media files), in bytes per family, its session count and the widget records
  (``WidgetMetadata``) its sessions hold;
- ``chains`` (a label starting with ``chains``): who holds the newest live objects of the
  types named in ``$A2LENS_CHAINS`` (default plotly's Scatter and Image: figures, which
  should not outlive a script run).

Nothing here is imported by the app: it is a bench-only way in.
"""

from __future__ import annotations

import collections
import ctypes
import gc
import json
import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def malloc_info() -> dict[str, int]:
    """glibc's view: ``in_use`` (malloc'd and not freed), ``free_kept`` (freed, still held), ``mmapped``."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _Mallinfo2
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return {}
    return {"in_use": info.uordblks + info.hblkhd, "free_kept": info.fordblks, "mmapped": info.hblkhd,
            "arena": info.arena}


def smaps_rollup() -> dict[str, int]:
    """``/proc/self/smaps_rollup`` in bytes (Rss, Anonymous, Private_Dirty, …)."""
    fields = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        key, value, *_ = line.split()
        fields[key.rstrip(":")] = int(value) * 1024
    return fields


def streamlit_stats() -> dict:
    try:
        from streamlit.runtime import Runtime

        runtime = Runtime.instance()
    except Exception as error:  # the runtime is not up yet
        return {"error": repr(error)}
    families, caches = {}, collections.Counter()
    for family, stats in runtime.stats_mgr.get_stats().items():
        total = 0
        for stat in stats:
            total += getattr(stat, "byte_length", 0) or 0
            if family == "cache_memory_bytes":
                caches[f"{getattr(stat, 'category_name', '')}:{getattr(stat, 'cache_name', '')}"] += stat.byte_length
        families[family] = {"n": len(stats), "bytes": total}
    uploads = runtime.uploaded_file_mgr
    sessions = runtime._session_mgr.list_sessions()
    metadata = 0
    for info in sessions:  # Streamlit's per-session widget records (callbacks and all)
        state = info.session.session_state
        state = getattr(state, "_state", state)  # a SafeSessionState wraps the SessionState
        metadata += len(getattr(getattr(state, "_new_widget_state", None), "widget_metadata", ()))
    media = runtime.media_file_mgr
    return {"families": families, "caches": dict(caches), "sessions": len(sessions), "widget_metadata": metadata,
            "uploaded_files": sum(len(f) for f in getattr(uploads, "file_storage", {}).values()),
            "media_files": len(getattr(media, "_file_metadata", {})),
            "deferred_callables": len(getattr(media, "_deferred_callables", {}))}


def _describe(obj) -> str:
    kind = type(obj)
    text = f"{kind.__module__}.{kind.__qualname__}"
    if isinstance(obj, dict):
        keys = [str(k)[:30] for k in list(obj)[:4]]
        text += f"(len {len(obj)}, keys {keys})"
    elif isinstance(obj, (list, tuple, set)):
        text += f"(len {len(obj)})"
    elif callable(obj) and hasattr(obj, "__qualname__"):
        text += f" {obj.__qualname__}"
    return text


def backref_chain(target, exclude: set[int] = frozenset(), max_nodes: int = 500) -> list[str]:
    """The shortest chain of referrers from a module (or a class, or a thread's frame) down to ``target``.

    Each step scans every live object (``gc.get_referrers``): seconds per chain, so only on request.
    """
    import types

    ignore = {id(sys._getframe()), *exclude}
    parent = {id(target): None}
    queue, objects = collections.deque([target]), {id(target): target}
    ignore.update((id(queue), id(parent), id(objects)))
    while queue and len(parent) < max_nodes:
        obj = queue.popleft()
        if isinstance(obj, (types.ModuleType, type)) or (isinstance(obj, types.FrameType) and obj is not target):
            chain = []
            while obj is not None:
                chain.append(_describe(obj))
                obj = objects.get(parent[id(obj)]) if parent[id(obj)] is not None else None
            return chain
        for ref in gc.get_referrers(obj):
            if id(ref) in ignore or id(ref) in parent or ref is objects or ref is parent:
                continue
            if isinstance(ref, types.FrameType) and ref.f_code.co_filename == __file__:
                continue
            parent[id(ref)] = id(obj)
            objects[id(ref)] = ref
            queue.append(ref)
    return [f"(no root within {max_nodes} referrers)"]


def chains(type_names: list[str], per_type: int = 2) -> dict[str, list[list[str]]]:
    """For the newest live objects of each type name, who holds them (``backref_chain``)."""
    found = collections.defaultdict(list)
    for obj in reversed(gc.get_objects()):  # newest first: gc lists young objects last
        name = type(obj).__name__
        if name in type_names and len(found[name]) < per_type:
            found[name].append(obj)
    exclude = {id(found), *(id(objs) for objs in found.values())}
    return {name: [backref_chain(o, exclude) for o in objs] for name, objs in found.items()}


def snapshot(directory: Path, label: str) -> None:
    frames = int(os.environ.get("A2LENS_TRACEMALLOC", "0"))
    if frames > 0 and not tracemalloc.is_tracing():
        # Traced from the first report on (the page open, the model loaded): tracing the imports and
        # the model load would only slow the start; growth is read between two later reports.
        tracemalloc.start(frames)
    gc.collect()
    report = {"label": label, "time": time.time(), "rss": smaps_rollup(), "malloc": malloc_info(),
              "objects": dict(collections.Counter(type(o).__name__ for o in gc.get_objects()).most_common(60)),
              "streamlit": streamlit_stats()}
    if label.startswith("chains"):
        report["chains"] = chains(os.environ.get("A2LENS_CHAINS", "Scatter,Image").split(","))
    if tracemalloc.is_tracing():
        current, peak = tracemalloc.get_traced_memory()
        report["traced"] = {"current": current, "peak": peak}
        tracemalloc.take_snapshot().dump(str(directory / f"{label}.tm"))
    (directory / f"{label}.json.tmp").write_text(json.dumps(report))
    (directory / f"{label}.json.tmp").rename(directory / f"{label}.json")


def _watch(directory: Path) -> None:
    while True:
        for request in sorted(directory.glob("*.req")):
            label = request.stem
            request.unlink()
            try:
                snapshot(directory, label)
            except Exception as error:  # report, never take the server down
                (directory / f"{label}.json").write_text(json.dumps({"label": label, "error": repr(error)}))
        time.sleep(0.1)


def main() -> None:
    directory = Path(sys.argv[1])
    directory.mkdir(parents=True, exist_ok=True)
    threading.Thread(target=_watch, args=(directory,), daemon=True, name="memhook").start()
    from streamlit.web.cli import main as streamlit_main

    sys.argv = ["streamlit", *sys.argv[2:]]
    streamlit_main()


if __name__ == "__main__":
    main()
