"""Server memory over many uploads: one session uploading distinct photos to Explore, resident memory sampled.

    python -m bench.memory                 # 200 uploads at 128 px, then a second session's 50 (~3 min)
    python -m bench.memory --quick         # 12 uploads (CI smoke test)
    python -m bench.memory --diagnose --uploads 80   # where it goes: looks inside the server (bench/memhook.py)

A real ``streamlit run app/main.py`` on loopback, driven through its websocket
(bench/sessions.py). Each upload is a different 640×480 JPEG (a phone photo
scaled down, as a browser would not do it, but the crop is what matters), viewed
at 128 px, the largest view and the largest arrays per upload. The server's
resident memory (VmRSS) is read after every upload; the table shows it every
``step`` uploads and the growth per upload after the caches are full.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PIL import Image

from bench._util import parser, table, write_json
from bench.sessions import QUERY, Session, serve

FULL = {"uploads": 200, "second_session": 50, "size": 128, "step": 20}
QUICK = {"uploads": 12, "second_session": 4, "size": 128, "step": 4}


def photo(seed: int, width: int = 640, height: int = 480) -> bytes:
    """A distinct smooth, noisy picture per seed, as a quality-90 JPEG."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    a, b, c = rng.uniform(0.5, 4, 3)
    base = np.stack([np.sin(a * 6 * x + seed), np.cos(b * 6 * y), np.sin(c * 6 * (x + y))], -1) * 100 + 128
    pixels = np.clip(base + rng.normal(0, 18, base.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def mib(n: int) -> float:
    return round(n / 2**20, 1)


def run(config: dict) -> dict:
    samples: list[dict] = []
    with serve() as server:
        started = server.rss()
        session = Session(server.url, query=QUERY)
        session.open()
        session.set("explore_size_cifar10", string_array_value={"data": [str(config["size"])]})
        opened = server.rss()
        t0 = time.perf_counter()
        for i in range(config["uploads"]):
            session.upload(f"photo_{i:03d}.jpg", photo(i))
            if (i + 1) % config["step"] == 0 or i == 0:
                samples.append({"uploads": i + 1, "rss": server.rss(), "s": time.perf_counter() - t0})
        session.close()
        time.sleep(2)
        after_close = server.rss()
        # A second student: a fresh session, photos the server has not seen.
        other = Session(server.url, query=QUERY)
        other.open()
        other.set("explore_size_cifar10", string_array_value={"data": [str(config["size"])]})
        for i in range(config["second_session"]):
            other.upload(f"other_{i:03d}.jpg", photo(10_000 + i))
        other.close()
        time.sleep(2)
        final = server.rss()
        errors = session.errors + other.errors
        return {"config": config, "server_start_rss": started, "after_open_rss": opened, "samples": samples,
                "after_close_rss": after_close, "after_second_session_rss": final, "peak_rss": server.peak_rss(),
                "errors": errors, "runs": len(session.runs) + len(other.runs)}


def show(result: dict) -> None:
    rows = [{"uploads": s["uploads"], "rss": mib(s["rss"]), "s": f"{s['s']:.0f}"} for s in result["samples"]]
    print(table(rows, [("uploads", "uploads"), ("server RSS (MiB)", "rss"), ("elapsed (s)", "s")]))
    samples = result["samples"]
    half = [s for s in samples if s["uploads"] >= samples[-1]["uploads"] // 2]
    slope = (half[-1]["rss"] - half[0]["rss"]) / max(1, half[-1]["uploads"] - half[0]["uploads"])
    print(f"\nserver at start {mib(result['server_start_rss'])} MiB, page open {mib(result['after_open_rss'])} MiB, "
          f"after the session closed {mib(result['after_close_rss'])} MiB, after a second session's "
          f"{result['config']['second_session']} uploads {mib(result['after_second_session_rss'])} MiB, "
          f"peak {mib(result['peak_rss'])} MiB")
    print(f"growth over the second half: {slope / 2**20:.2f} MiB per upload; errors: {len(result['errors'])}")
    result["growth_second_half_mib_per_upload"] = round(slope / 2**20, 3)


def diagnose(config: dict, frames: int, folder: Path, who_holds: bool = False) -> dict:
    """One session's uploads with bench/memhook.py inside the server: its reports after opening the page,
    after ``config["warm"]`` uploads (the caches in use), after all of them and after the session closed."""
    reports = {}
    with serve(hook=folder, env={"A2LENS_TRACEMALLOC": str(frames)}) as server:
        session = Session(server.url, query=QUERY)
        session.open()
        session.set("explore_size_cifar10", string_array_value={"data": [str(config["size"])]})
        reports["open"] = server.probe("open")
        for i in range(config["uploads"]):
            session.upload(f"photo_{i:03d}.jpg", photo(i))
            if i + 1 == config["warm"]:
                reports["warm"] = server.probe("warm")
        reports["end"] = server.probe("end")
        chains = server.probe("chains_end", timeout_s=600)["chains"] if who_holds else {}
        session.close()
        time.sleep(2)
        reports["closed"] = server.probe("closed")
        return {"config": config, "frames": frames, "reports": reports, "chains": chains, "errors": session.errors}


def show_diagnosis(result: dict, folder: Path) -> None:
    import tracemalloc

    reports, config = result["reports"], result["config"]
    rows = []
    for label, r in reports.items():
        rows.append({"at": label, "rss": mib(r["rss"]["Rss"]), "anon": mib(r["rss"]["Anonymous"]),
                     "in_use": mib(r["malloc"].get("in_use", 0)), "free": mib(r["malloc"].get("free_kept", 0)),
                     "traced": mib(r.get("traced", {}).get("current", 0)),
                     "sessions": r["streamlit"].get("sessions"), "media": r["streamlit"].get("media_files"),
                     "deferred": r["streamlit"].get("deferred_callables"),
                     "up": r["streamlit"].get("uploaded_files"), "meta": r["streamlit"].get("widget_metadata")})
    print(table(rows, [("report", "at"), ("RSS", "rss"), ("anonymous", "anon"), ("malloc in use", "in_use"),
                       ("malloc free, kept", "free"), ("tracemalloc", "traced"), ("sessions", "sessions"),
                       ("media files", "media"), ("deferred downloads", "deferred"), ("uploaded files", "up"),
                       ("widget records", "meta")]))
    print("\nStreamlit's caches, MiB (its stats providers):")
    for name in reports["end"]["streamlit"].get("caches", {}):
        cells = [f"{label} {mib(r['streamlit']['caches'].get(name, 0))}" for label, r in reports.items()]
        print(f"  {name}: " + ", ".join(cells))
    n = config["uploads"] - config["warm"]
    a, b = reports["warm"], reports["end"]
    counts = {k: b["objects"].get(k, 0) - a["objects"].get(k, 0) for k in set(a["objects"]) | set(b["objects"])}
    grown = [kv for kv in sorted(counts.items(), key=lambda kv: -abs(kv[1])) if kv[1]][:12]
    print(f"\nlive objects, uploads {config['warm']} → {config['uploads']}: "
          + ", ".join(f"{k} {v:+d}" for k, v in grown))
    if result["frames"]:
        before = tracemalloc.Snapshot.load(str(folder / "warm.tm"))
        after = tracemalloc.Snapshot.load(str(folder / "end.tm"))
        diff = after.compare_to(before, "traceback")
        total = sum(d.size_diff for d in diff)
        print(f"\ntracemalloc, uploads {config['warm']} → {config['uploads']}: {total / 2**20:+.1f} MiB "
              f"({total / 2**20 / max(1, n):+.3f} MiB per upload); largest growths:")
        for d in diff[:8]:
            frames = [f for f in d.traceback if "/streamlit/" in f.filename or "/a2lens" in f.filename
                      or "/app/" in f.filename or "/a2core/" in f.filename] or list(d.traceback)
            where = " ← ".join(f"{Path(f.filename).name}:{f.lineno}" for f in frames[:4])
            print(f"  {d.size_diff / 2**20:+.2f} MiB in {d.count_diff:+d} blocks: {where}")
    if result["chains"]:
        print("\nwho holds the newest live objects of the types that grow (bench/memhook.py's backref_chain):")
    for name, found in result["chains"].items():
        for chain in found:
            print(f"  {name}: " + " → ".join(reversed(chain)))
    rss = (b["rss"]["Rss"] - a["rss"]["Rss"]) / 2**20
    used = (b["malloc"].get("in_use", 0) - a["malloc"].get("in_use", 0)) / 2**20
    print(f"\nuploads {config['warm']} → {config['uploads']}: RSS {rss:+.1f} MiB ({rss / max(1, n):+.2f} per upload), "
          f"malloc in use {used:+.1f} MiB; errors: {len(result['errors'])}")


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--uploads", type=int, default=None, help="uploads of the first session (default 200)")
    p.add_argument("--diagnose", action="store_true", help="look inside the server (bench/memhook.py) instead")
    p.add_argument("--frames", type=int, default=8, help="tracemalloc frames per allocation with --diagnose "
                   "(0: off)")
    p.add_argument("--who-holds", action="store_true", help="--diagnose: who holds the newest plotly figure "
                   "objects at the end (slow: seconds per chain)")
    p.add_argument("--warm", type=int, default=None, help="--diagnose: growth is read from this upload on "
                   "(default a third of --uploads)")
    args = p.parse_args(argv)
    config = dict(QUICK if args.quick else FULL)
    if args.uploads:
        config["uploads"] = args.uploads
    if args.diagnose:
        import tempfile

        config["warm"] = args.warm or max(1, config["uploads"] // 3)
        with tempfile.TemporaryDirectory(prefix="a2lens_memhook_") as folder:
            result = diagnose(config, args.frames, Path(folder), args.who_holds)
            show_diagnosis(result, Path(folder))
        path = write_json("memory_diagnosis", result, args.out, args.quick)
        print(f"\nwrote {path}")
        return 1 if result["errors"] else 0
    result = run(config)
    show(result)
    path = write_json("memory", result, args.out, args.quick)
    print(f"\nwrote {path}")
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
